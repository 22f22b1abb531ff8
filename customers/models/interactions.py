"""What happened with a customer: the timeline's rows."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .customers import Customer


class Interaction(models.Model):
    class Kind(models.TextChoices):
        CALL = "call", _("Call")
        EMAIL = "email", _("Email")
        MEETING = "meeting", _("Meeting")
        NOTE = "note", _("Note")
        SERVICE_REQUEST = "service_request", _("Service request")
        COMPLAINT = "complaint", _("Complaint")
        PURCHASE = "purchase", _("Purchase")
        DISCOUNT_REQUEST = "discount_request", _("Discount request")
        CANCELLATION = "cancellation", _("Cancellation")

    class Direction(models.TextChoices):
        INBOUND = "inbound", _("Inbound")
        OUTBOUND = "outbound", _("Outbound")
        INTERNAL = "internal", _("Internal")

    class Sentiment(models.TextChoices):
        POSITIVE = "positive", _("Positive")
        NEUTRAL = "neutral", _("Neutral")
        NEGATIVE = "negative", _("Negative")

    # Kinds where a money amount makes sense; a purchase must have one.
    KINDS_WITH_AMOUNT = {Kind.PURCHASE, Kind.DISCOUNT_REQUEST, Kind.CANCELLATION}
    # Kinds that are tickets: open until someone resolves them (resolved_at, resolved_by).
    KINDS_WITH_STATE = {Kind.COMPLAINT, Kind.SERVICE_REQUEST}

    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        on_delete=models.CASCADE,
        related_name="interactions",
    )
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, blank=True
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("details"), blank=True)
    amount = models.DecimalField(
        _("amount"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
    )
    sentiment = models.CharField(
        _("sentiment"), max_length=10, choices=Sentiment.choices, blank=True
    )
    occurred_at = models.DateTimeField(_("occurred at"), default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    # Only for KINDS_WITH_STATE; None there means the ticket is still open.
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("resolved by"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # The timeline: one customer's history, newest first.
            models.Index(
                fields=["customer", "-occurred_at", "-id"], name="interaction_timeline_idx"
            ),
            models.Index(fields=["kind", "occurred_at"], name="interaction_kind_time_idx"),
            # Open tickets per customer (the nightly risk job): a small slice of the table.
            models.Index(
                fields=["customer", "occurred_at"],
                condition=models.Q(
                    kind__in=["complaint", "service_request"], resolved_at__isnull=True
                ),
                name="interaction_open_ticket_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    def clean(self) -> None:
        if self.kind == self.Kind.PURCHASE and self.amount is None:
            raise ValidationError({"amount": _("A purchase needs an amount.")})
        if self.amount is not None and self.kind and self.kind not in self.KINDS_WITH_AMOUNT:
            raise ValidationError(
                {"amount": _("Only purchases, discount requests and cancellations have an amount.")}
            )
        if self.occurred_at and self.occurred_at > timezone.now() + timezone.timedelta(days=1):
            raise ValidationError({"occurred_at": _("An interaction cannot be in the future.")})
        if self.resolved_at is not None:
            self._clean_resolved_at()

    def _clean_resolved_at(self) -> None:
        if self.kind and self.kind not in self.KINDS_WITH_STATE:
            raise ValidationError(
                {"resolved_at": _("Only complaints and service requests can be resolved.")}
            )
        if self.occurred_at and self.resolved_at < self.occurred_at:
            raise ValidationError(
                {"resolved_at": _("A ticket cannot be resolved before it occurred.")}
            )
        if self.resolved_at > timezone.now() + timezone.timedelta(days=1):
            raise ValidationError({"resolved_at": _("A resolution cannot be in the future.")})

    @property
    def is_open(self) -> bool:
        """A complaint or service request nobody has resolved yet (other kinds never are)."""
        return self.kind in self.KINDS_WITH_STATE and self.resolved_at is None
