"""The "unopened follow-up emails" churn-risk signal, registered by RetentionConfig.ready()."""

from datetime import date, timedelta

from django.conf import settings
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy, ngettext

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
    # No follow-up sent in the window: no data. Any opened: 0. None opened: growing with
    # how many went unopened.
    facts = {}
    for row in rows:
        unopened = row["sent"] - row["opened"]
        strength = 0.0 if row["opened"] else float(signals.saturating(unopened, params.threshold))
        evidence = {**row, "unopened": unopened, "window": params.window_days}
        evidence.pop("customer_id")
        facts[row["customer_id"]] = (strength, evidence)
    return facts


def describe(evidence: dict, as_of: date) -> str:
    return ngettext(
        "%(unopened)s of %(sent)s follow-up email in %(days)s not opened.",
        "%(unopened)s of %(sent)s follow-up emails in %(days)s not opened.",
        evidence["sent"],
    ) % {**evidence, "days": signals.count_days(evidence["window"])}


UNOPENED_EMAILS = signals.Signal(
    key="unopened_emails",
    label=gettext_lazy("Unopened follow-up emails"),
    description=gettext_lazy("Follow-up emails sent recently and none of them opened."),
    threshold_help=gettext_lazy(
        # Translators: xgettext:no-python-format ("63 %" is text, not a format)
        "Unopened emails (none opened) at which the signal reaches 63 % of its strength."
    ),
    window_help=gettext_lazy("Days to look back."),
    default_weight=0.5,
    default_threshold=2.0,
    default_window_days=60,
    describe=describe,
    chunk_facts=unopened_facts,
)
