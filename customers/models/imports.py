"""CSV uploads and their state."""

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _


class MappingOrigin(models.TextChoices):
    """Where an import's column mapping came from (shown on the job's page)."""

    OWN_COLUMNS = "own", _("The file's own column names")
    SAVED = "saved", _("Your saved mapping")
    CHOSEN = "chosen", _("Mapped by hand")


class ImportJob(models.Model):
    """One CSV upload: validated first (preview), applied on confirmation."""

    class Target(models.TextChoices):
        CUSTOMERS = "customers", _("Customers")
        INTERACTIONS = "interactions", _("Interactions")

    class Mode(models.TextChoices):
        ALL_OR_NOTHING = "all_or_nothing", _("Import nothing if any row is invalid")
        VALID_ROWS = "valid_rows", _("Import the valid rows, skip the invalid ones")

    class Status(models.TextChoices):
        # Waits for the user to map the file's columns (customers/mapping_views.py); no
        # step is queued, so the repair job leaves it alone.
        MAPPING = "mapping", _("Columns to map")
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
    # The file's text is in ImportFileChunk rows (customers.importing.storage), read as a
    # stream: a file of a million rows is never one string in memory.
    size = models.PositiveBigIntegerField(_("characters"), default=0)
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
    # Which import field each of the file's columns is (customers/importing/mapping.py):
    # {"columns": [field or "" per header cell, in order], "constants": {field: value},
    # "date_order": "YMD"|"DMY"|"MDY", "decimal_separator": "."|","}; {} before mapping.
    mapping = models.JSONField(_("column mapping"), default=dict, blank=True)
    mapping_origin = models.CharField(
        _("columns mapped"), max_length=10, choices=MappingOrigin.choices, blank=True
    )

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
    def can_change_mapping(self) -> bool:
        """Its columns may be mapped again ("Change"): nothing imported or asked for.
        (customers.importing.mapping.job_columns_reopen applies the same rule.)"""
        if self.status == self.Status.VALIDATED:
            return self.queued_at is None
        return self.status in {self.Status.VALIDATING, self.Status.FAILED}

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


class ImportFileChunk(models.Model):
    """One piece (about a megabyte of text) of an uploaded file, in order.

    In PostgreSQL with the job rather than on a disk, so that a worker on another
    machine reads the same file and a lost broker or a restarted worker loses nothing.
    """

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    text = models.TextField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "index"], name="import_chunk_once_per_index")
        ]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.index}"


class ImportMapping(models.Model):
    """A column mapping saved for files with the same header, reused when one comes again.

    One per target and header (its fingerprint: sha256 of the normalised header cells,
    in order), shared by everyone who imports.
    """

    class DateOrder(models.TextChoices):
        YMD = "YMD", _("Year, month, day")
        DMY = "DMY", _("Day, month, year")
        MDY = "MDY", _("Month, day, year")

    class DecimalSeparator(models.TextChoices):
        POINT = ".", _("Point")
        COMMA = ",", _("Comma")

    target = models.CharField(_("what to import"), max_length=20, choices=ImportJob.Target.choices)
    fingerprint = models.CharField(_("header fingerprint"), max_length=64)
    header = models.JSONField(_("header"), default=list)
    columns = models.JSONField(_("field per column"), default=list)
    constants = models.JSONField(_("value for every row"), default=dict, blank=True)
    date_order = models.CharField(_("date order"), max_length=3, choices=DateOrder.choices)
    decimal_separator = models.CharField(
        _("decimal separator"), max_length=1, choices=DecimalSeparator.choices
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("saved column mapping")
        verbose_name_plural = _("saved column mappings")
        constraints = [
            models.UniqueConstraint(
                fields=["target", "fingerprint"], name="importmapping_one_per_header"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_target_display()}: {', '.join(self.header)[:80]}"

    def as_job_mapping(self) -> dict:
        """The mapping in the form ImportJob.mapping holds."""
        return {
            "columns": list(self.columns),
            "constants": dict(self.constants),
            "date_order": self.date_order,
            "decimal_separator": self.decimal_separator,
        }
