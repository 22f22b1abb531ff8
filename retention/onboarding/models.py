"""Onboarding checklists: templates staff edit, and each customer's own running copy."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.models import Customer


class Actor(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    STAFF = "staff", _("Staff")


class ChecklistTemplate(models.Model):
    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.TextField(_("description"), blank=True)
    plan = models.CharField(
        _("for plan"),
        max_length=100,
        blank=True,
        help_text=_("Started automatically for new customers on this plan (leave empty for any)."),
    )
    is_default = models.BooleanField(
        _("default"),
        default=False,
        help_text=_("Started automatically when a customer enters onboarding and no plan matches."),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("checklist template")
        verbose_name_plural = _("checklist templates")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("retention:template_edit", args=[self.pk])


class ChecklistTemplateStep(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    actor = models.CharField(
        _("done by"), max_length=10, choices=Actor.choices, default=Actor.STAFF
    )
    due_offset_days = models.PositiveSmallIntegerField(
        _("due after (days)"), default=7, validators=[MaxValueValidator(365)]
    )
    required = models.BooleanField(_("required"), default=True)

    class Meta:
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.title


class Checklist(models.Model):
    """One customer's onboarding: a copy of a template's steps, so template edits never
    change a checklist already running. Progress counters are kept in step by
    retention.onboarding.refresh_progress after every change."""

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("In progress")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="checklists")
    template = models.ForeignKey(
        ChecklistTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(_("name"), max_length=120)
    status = models.CharField(
        _("status"), max_length=12, choices=Status.choices, default=Status.IN_PROGRESS
    )
    started_on = models.DateField(_("started on"))
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # Denormalised progress (see the class docstring).
    required_total = models.PositiveSmallIntegerField(default=0)
    required_resolved = models.PositiveSmallIntegerField(default=0)
    optional_total = models.PositiveSmallIntegerField(default=0)
    optional_done = models.PositiveSmallIntegerField(default=0)
    next_due_on = models.DateField(_("next due"), null=True, blank=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(status="in_progress"),
                name="one_running_checklist_per_customer",
            )
        ]
        indexes = [
            models.Index(
                fields=["next_due_on", "id"],
                condition=models.Q(status="in_progress"),
                name="checklist_running_idx",
            ),
            # The dashboard's checklists started and completed per period.
            models.Index(fields=["started_on"], name="checklist_started_idx"),
            models.Index(
                fields=["completed_at"],
                condition=models.Q(status="completed"),
                name="checklist_completed_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.customer_id})"

    @property
    def percent(self) -> int:
        if self.required_total:
            return round(100 * self.required_resolved / self.required_total)
        return 100 if self.status == self.Status.COMPLETED else 0


class ChecklistStep(models.Model):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        SKIPPED = "skipped", _("Skipped")

    checklist = models.ForeignKey(Checklist, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    actor = models.CharField(_("done by"), max_length=10, choices=Actor.choices)
    due_on = models.DateField(_("due on"))
    required = models.BooleanField(_("required"), default=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    completed_by_customer = models.BooleanField(default=False)
    skip_reason = models.CharField(_("reason for skipping"), max_length=200, blank=True)

    class Meta:
        ordering = ["checklist", "position", "id"]
        indexes = [
            models.Index(fields=["checklist", "status"], name="checklist_step_status_idx"),
        ]

    def __str__(self) -> str:
        return self.title
