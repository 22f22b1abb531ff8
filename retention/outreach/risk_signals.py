"""The "unopened follow-up emails" churn-risk signal, registered by RetentionConfig.ready()."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retention.risk import signals
from retention.risk.signals import end_of_day

from .models import OutgoingEmail

# An email sent less than this long ago has not had its chance to be opened yet.
GRACE_DAYS = 3


def unopened_facts(
    id_from: int, id_to: int, as_of: date, params: signals.Params
) -> dict[int, dict]:
    """Per customer sent follow-ups in the window: how many, and how many were opened."""
    if not settings.EMAIL_OPEN_TRACKING:
        return {}  # no pixel, no data: the signal is left out, never "unopened"
    end = end_of_day(as_of)
    rows = (
        OutgoingEmail.objects.filter(
            customer_id__gte=id_from,
            customer_id__lt=id_to,
            kind__in=OutgoingEmail.CUSTOMER_KINDS,
            status=OutgoingEmail.Status.SENT,
            sent_at__gte=end - timedelta(days=params.window_days),
            sent_at__lt=end - timedelta(days=GRACE_DAYS),
        )
        .values("customer_id")
        .order_by()
        .annotate(sent=Count("id"), opened=Count("id", filter=Q(opened_at__lt=end)))
    )
    return {
        row["customer_id"]: {
            "sent": row["sent"],
            "opened": row["opened"],
            "window": params.window_days,
        }
        for row in rows
    }


def evaluate(facts: signals.Facts, params: signals.Params) -> signals.Finding | None:
    if not facts.aggregates:
        return None  # no follow-up sent in the window: nothing to say
    unopened = facts.aggregates["sent"] - facts.aggregates["opened"]
    flagged = facts.aggregates["opened"] == 0 and unopened >= params.threshold
    return signals.Finding(flagged, {**facts.aggregates, "unopened": unopened})


def describe(evidence: dict) -> str:
    return _("%(unopened)s of %(sent)s follow-up emails in %(window)s days not opened.") % evidence


UNOPENED_EMAILS = signals.Signal(
    key="unopened_emails",
    label=gettext_lazy("Unopened follow-up emails"),
    description=gettext_lazy("Follow-up emails sent recently and none of them opened."),
    threshold_help=gettext_lazy("How many unopened emails (and none opened) flag the customer."),
    window_help=gettext_lazy("Days to look back."),
    default_weight=10,
    default_onboarding_weight=10,
    default_threshold=Decimal("2"),
    default_window_days=60,
    aggregates=signals.no_aggregates,
    evaluate=evaluate,
    describe=describe,
    chunk_facts=unopened_facts,
)
