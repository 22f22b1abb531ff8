"""The "stalled onboarding" churn-risk signal, registered by RetentionConfig.ready()."""

from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, Min, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retention.risk import signals
from retention.risk.signals import end_of_day

from .models import Checklist, ChecklistStep


def stalled_facts(id_from: int, id_to: int, as_of: date, params: signals.Params) -> dict[int, dict]:
    """Per customer with a checklist running on `as_of`: required steps then open and overdue."""
    end = end_of_day(as_of)
    overdue_before = as_of - timedelta(days=params.window_days)
    rows = (
        ChecklistStep.objects.filter(
            checklist__customer_id__gte=id_from,
            checklist__customer_id__lt=id_to,
            checklist__started_on__lte=as_of,
            required=True,
        )
        .exclude(checklist__status=Checklist.Status.CANCELLED)
        .filter(Q(completed_at__isnull=True) | Q(completed_at__gte=end))  # open as of the date
        .values("checklist__customer_id")
        .order_by()
        .annotate(
            stalled_steps=Count("id", filter=Q(due_on__lt=overdue_before)), oldest_due=Min("due_on")
        )
    )
    return {
        row["checklist__customer_id"]: {
            "stalled_steps": row["stalled_steps"],
            "oldest_due": row["oldest_due"].isoformat(),
            "window": params.window_days,
        }
        for row in rows
    }


def evaluate(facts: signals.Facts, params: signals.Params) -> signals.Finding | None:
    if not facts.aggregates:
        return None  # no onboarding running: nothing to say
    stalled = facts.aggregates["stalled_steps"] >= params.threshold
    return signals.Finding(stalled, dict(facts.aggregates))


def describe(evidence: dict) -> str:
    return _("Onboarding stalled: a required step is %(days_overdue)s days overdue.") % {
        "days_overdue": signals.days_since(evidence["oldest_due"])
    }


STALLED_ONBOARDING = signals.Signal(
    key="stalled_onboarding",
    label=gettext_lazy("Stalled onboarding"),
    description=gettext_lazy("A required onboarding step overdue for too long."),
    threshold_help=gettext_lazy("How many stalled steps flag the customer."),
    window_help=gettext_lazy("Days a step may be overdue before it counts as stalled."),
    default_weight=20,
    default_onboarding_weight=40,
    default_threshold=Decimal("1"),
    default_window_days=7,
    aggregates=signals.no_aggregates,
    evaluate=evaluate,
    describe=describe,
    chunk_facts=stalled_facts,
)
