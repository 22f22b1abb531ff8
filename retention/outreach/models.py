"""Follow-up emails: templates staff edit, rules that queue them, and the outbox.

Every email is first an `OutgoingEmail` row, written in the same transaction as
its cause; a Celery task claims rows and sends them (retention/outbox.py). The
row's `idempotency_key` is unique, so queuing the same follow-up twice (the
nightly job run twice, a double click) writes one row.
"""

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from retention.risk.models import RiskLevel


class EmailTemplate(models.Model):
    """A follow-up message, with one `EmailTemplateTranslation` per language."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.CharField(_("description"), max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("retention:email_template_edit", args=[self.pk])


class EmailTemplateTranslation(models.Model):
    """Subject and bodies in one language; English is the fallback for every other."""

    template = models.ForeignKey(
        EmailTemplate, on_delete=models.CASCADE, related_name="translations"
    )
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES)
    subject = models.CharField(_("subject"), max_length=200)
    body_text = models.TextField(
        _("text"), help_text=_("Plain text with placeholders such as {{ first_name }}.")
    )
    body_html = models.TextField(
        _("HTML (optional)"),
        blank=True,
        help_text=_("Leave empty to send the text as simple HTML paragraphs."),
    )

    class Meta:
        ordering = ["template", "language"]
        verbose_name = _("email template translation")
        verbose_name_plural = _("email template translations")
        constraints = [
            models.UniqueConstraint(
                fields=["template", "language"], name="one_translation_per_language"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template} ({self.language})"


class FollowUpRule(models.Model):
    """When to queue which template: data staff edit, not code."""

    class Trigger(models.TextChoices):
        LEVEL_RISE = "level_rise", _("Risk level rises")
        FLAG = "flag", _("A risk flag is present")
        WIN_BACK = "win_back", _("Win-back after churn")
        PURCHASE_OVERDUE = "purchase_overdue", _("Past their usual next purchase")

    name = models.CharField(_("name"), max_length=120)
    trigger = models.CharField(_("trigger"), max_length=20, choices=Trigger.choices)
    flag_key = models.CharField(
        _("risk flag"),
        max_length=50,
        blank=True,
        help_text=_("For “a risk flag is present”: e.g. inactivity, complaints."),
    )
    min_level = models.CharField(
        _("at least level"),
        max_length=10,
        choices=RiskLevel.choices,
        default=RiskLevel.MEDIUM,
        help_text=_("For “risk level rises”: the level the risk must reach."),
    )
    days_after_churn = models.PositiveSmallIntegerField(
        _("days after churn"),
        default=60,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("For “win-back”: how long after churning to write."),
    )
    days_overdue = models.PositiveSmallIntegerField(
        _("days past the usual next purchase"),
        default=7,
        validators=[MinValueValidator(0), MaxValueValidator(365)],
        help_text=_(
            "For “past their usual next purchase”: how many days after the day a customer "
            "with a buying rhythm would normally have bought again."
        ),
    )
    repeat_after_days = models.PositiveSmallIntegerField(
        _("repeat at most every (days)"),
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("One email per customer from this rule per period of this many days."),
    )
    template = models.ForeignKey(
        EmailTemplate, verbose_name=_("template"), on_delete=models.PROTECT, related_name="rules"
    )
    position = models.PositiveSmallIntegerField(
        _("priority"),
        default=10,
        help_text=_("When several rules match a customer on the same day, the lowest wins."),
    )
    active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = _("follow-up rule")
        verbose_name_plural = _("follow-up rules")

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("retention:rule_edit", args=[self.pk])


def new_message_id() -> str:
    """A stable Message-ID, fixed at queue time so that a repeated send is recognisable."""
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1].strip("> ") or "localhost"
    return f"<{uuid.uuid4().hex}@{domain}>"


class OutgoingEmail(models.Model):
    """One email to send: queued with its cause, claimed and sent by a worker."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Not sent")

    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", _("Follow-up (rule)")
        MANUAL = "manual", _("Follow-up (sent by staff)")
        STAFF_NOTICE = "staff_notice", _("Notice to the account manager")
        PASSWORD_RESET = "password_reset", _("Password reset link (to a staff member)")

    # Kinds a customer receives; they count against the cadence caps.
    CUSTOMER_KINDS = (Kind.FOLLOW_UP, Kind.MANUAL)
    # About a staff member's own account (no customer): the Outbox pages never show them,
    # and what was sent is not kept (it held a login link).
    ACCOUNT_KINDS = (Kind.PASSWORD_RESET,)

    # Empty for account emails (ACCOUNT_KINDS) only.
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="emails",
        null=True,
        blank=True,
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    rule = models.ForeignKey(
        FollowUpRule, on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    template = models.ForeignKey(
        EmailTemplate, on_delete=models.SET_NULL, null=True, blank=True, related_name="emails"
    )
    # For staff notices: the account manager written to (the customer is the subject).
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    to_email = models.EmailField(_("to"))
    idempotency_key = models.CharField(max_length=200, unique=True)
    message_id = models.CharField(max_length=200, unique=True, default=new_message_id)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("due"), default=timezone.now)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Names the claim that set the row "sending"; only the next claim replaces it. Every
    # write a worker makes about the row requires it, so a worker whose lease ran out
    # and whose rows another worker took cannot send or mark them (outreach/leases.py).
    lease_token = models.CharField(max_length=32, blank=True, default="")
    last_error = models.TextField(_("last error"), blank=True)
    # What was sent, stored when it is sent (templates may change later).
    language = models.CharField(_("language"), max_length=10, blank=True)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    body_text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)
    created_at = models.DateTimeField(_("queued at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    opened_at = models.DateTimeField(_("opened at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("outgoing email")
        verbose_name_plural = _("outgoing emails")
        indexes = [
            # What the worker claims: due queued rows, oldest first.
            models.Index(
                fields=["next_attempt_at", "id"],
                condition=models.Q(status="queued"),
                name="outbox_due_idx",
            ),
            # What the sweeper looks at: rows in flight whose lease may have expired.
            models.Index(
                fields=["lease_until"],
                condition=models.Q(status="sending"),
                name="outbox_lease_idx",
            ),
            models.Index(fields=["customer", "-created_at"], name="outbox_customer_idx"),
            models.Index(fields=["customer", "-sent_at", "-id"], name="outbox_timeline_idx"),
            models.Index(fields=["status", "-created_at", "-id"], name="outbox_list_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.to_email}: {self.subject or self.template or self.kind}"

    def get_absolute_url(self) -> str:
        return reverse("retention:outbox_detail", args=[self.pk])


class EmailUnsubscribe(models.Model):
    """A customer who asked for no more follow-ups (through the link or via staff)."""

    class Source(models.TextChoices):
        LINK = "link", _("Unsubscribe page")
        ONE_CLICK = "one_click", _("Email program (one click)")
        STAFF = "staff", _("Staff")

    customer = models.OneToOneField(
        Customer, on_delete=models.CASCADE, primary_key=True, related_name="email_unsubscribe"
    )
    source = models.CharField(_("how"), max_length=20, choices=Source.choices)
    unsubscribed_at = models.DateTimeField(_("unsubscribed at"), default=timezone.now)

    class Meta:
        verbose_name = _("unsubscribe")
        verbose_name_plural = _("unsubscribes")

    def __str__(self) -> str:
        return f"{self.customer_id} ({self.source})"


class StaffProfile(models.Model):
    """What follow-ups sign with: the account manager's signature."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile"
    )
    signature = models.TextField(
        _("email signature"),
        blank=True,
        help_text=_("Added where a template says {{ signature }}, e.g. your name, role, phone."),
    )

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return str(self.user)
