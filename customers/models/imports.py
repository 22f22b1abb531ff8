"""CSV uploads and their state."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class ImportJob(models.Model):
    """One CSV upload: validated first (preview), applied on confirmation."""

    class Target(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        INTERACTIONS = "interactions", _("Interactions")

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing", _("Import nothing if any row is invalid")
        VALID_ROWS = "valid_rows", _("Import the valid rows, skip the invalid ones")

    class Status(models.TextChoices):
        VALIDATING = "validating", _("Validating")
        VALIDATED = "validated", _("Ready to import")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    target = models.CharField(_("what to import"), max_length=20, choices=Target.choices)
    mode = models.CharField(
        _("when rows are invalid"),
        max_length=20,
        choices=Mode.choices,
        default=Mode.ALL_OR_NOTHING,
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.VALIDATING
    )
    filename = models.CharField(_("file name"), max_length=255)
    content = models.TextField(_("file content"))
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    error_rows = models.PositiveIntegerField(_("invalid rows"), default=0)
    # Valid rows that are already in the CRM (an interaction whose external id exists):
    # left out, not errors, so importing the same file twice creates nothing new.
    skipped_rows = models.PositiveIntegerField(_("already imported"), default=0)
    created_count = models.PositiveIntegerField(_("created"), default=0)
    updated_count = models.PositiveIntegerField(_("updated"), default=0)
    # [{"row": 3, "field": "email", "message": "..."}], at most importing.MAX_STORED_ERRORS kept.
    errors = models.JSONField(_("row errors"), default=list, blank=True)
    preview = models.JSONField(_("preview"), default=list, blank=True)
    failure = models.TextField(_("failure"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    # The step in progress (checking, or importing once asked for) lives here, not in the
    # broker or the cache: when it was last handed to the task queue (None: no step is
    # waiting or running), the lease of the worker running it and how many workers took
    # it. The repair job finds lost and abandoned steps from these (importing/repair.py).
    queued_at = models.DateTimeField(_("step queued at"), null=True, blank=True)
    lease_token = models.CharField(_("lease token"), max_length=32, blank=True)
    lease_until = models.DateTimeField(_("worker's lease until"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    language = models.CharField(_("language of the messages"), max_length=16, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.filename} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("customers:import_detail", args=[self.pk])

    @property
    def can_apply(self) -> bool:
        if self.status != self.Status.VALIDATED or self.valid_rows == 0:
            return False
        return self.mode == self.Mode.VALID_ROWS or self.error_rows == 0

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.VALIDATING, self.Status.IMPORTING}

    @property
    def in_progress(self) -> bool:
        """A step was asked for and has not ended (the page keeps polling)."""
        return self.is_running or (self.status == self.Status.VALIDATED and bool(self.queued_at))

    @property
    def is_waiting_for_worker(self) -> bool:
        """Its step is queued and no worker holds it (yet, or again after one stopped)."""
        return self.in_progress and self.lease_until is None
