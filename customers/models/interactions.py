"""What happened with a customer: the timeline's rows."""

from django.conf import settings
from django.core.exceptions import ValidationError
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
        REFUND = "refund", _("Refund")
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

    # Kinds where a money amount makes sense; a purchase and a refund must have one.
    KINDS_WITH_AMOUNT = {Kind.PURCHASE, Kind.REFUND, Kind.DISCOUNT_REQUEST, Kind.CANCELLATION}
    # Money that changed hands: a purchase positive, a refund stored negative (so that
    # summing both gives the net spend).
    KINDS_OF_SPEND = {Kind.PURCHASE, Kind.REFUND}
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
    # The id the business's own system gives it (a shop's order number): importing the
    # same file again skips the rows whose id is already here. Unique across all
    # customers when set, since an order number is unique in the shop that issued it.
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    body = models.TextField(_("details"), blank=True)
    # Negative only for refunds (clean() checks the sign per kind).
    amount = models.DecimalField(
        _("amount"), max_digits=12, decimal_places=2, null=True, blank=True
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
        constraints = [
            models.UniqueConstraint(
                fields=["external_id"],
                condition=~models.Q(external_id=""),
                name="interaction_external_id_unique",
                violation_error_message=_("Another interaction has this external id."),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject}"

    def clean(self) -> None:
        if self.kind in self.KINDS_OF_SPEND:
            self._clean_spend_amount()
        if self.amount is not None and self.kind and self.kind not in self.KINDS_WITH_AMOUNT:
            raise ValidationError(
                {
                    "amount": _(
                        "Only purchases, refunds, discount requests and cancellations "
                        "have an amount."
                    )
                }
            )
        if self.amount is not None and self.amount < 0 and self.kind != self.Kind.REFUND:
            raise ValidationError(
                {
                    "amount": _(
                        "Only a refund can have a negative amount; log money given back "
                        "as a refund."
                    )
                }
            )
        if self.occurred_at and self.occurred_at > timezone.now() + timezone.timedelta(days=1):
            raise ValidationError({"occurred_at": _("An interaction cannot be in the future.")})
        if self.resolved_at is not None:
            self._clean_resolved_at()

    def _clean_spend_amount(self) -> None:
        """A purchase and a refund need an amount; a refund's is not 0, of either sign.

        A refund is stored negative whichever sign it was written with: billing exports
        write "-12.99" or "12.99" in a refunds column, and both mean money given back.
        """
        if self.amount is None:
            if self.kind == self.Kind.PURCHASE:
                raise ValidationError({"amount": _("A purchase needs an amount.")})
            raise ValidationError({"amount": _("A refund needs an amount.")})
        if self.kind == self.Kind.REFUND:
            if self.amount == 0:
                raise ValidationError({"amount": _("A refund needs an amount other than 0.")})
            self.amount = -abs(self.amount)

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
