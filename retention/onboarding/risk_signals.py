"""The "stalled onboarding" churn-risk signal, registered by RetentionConfig.ready()."""

from datetime import date, timedelta

from django.db.models import Count, Min, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

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
    # No onboarding running: no data. Running: 0 until a step is stalled, then growing
    # with the number of stalled steps.
    return {
        row["checklist__customer_id"]: (
            float(signals.saturating(row["stalled_steps"], params.threshold)),
            {
                "stalled_steps": row["stalled_steps"],
                "oldest_due": row["oldest_due"].isoformat(),
                "window": params.window_days,
            },
        )
        for row in rows
    }


def describe(evidence: dict, as_of: date) -> str:
    steps = evidence["stalled_steps"]
    if not steps:
        return _("Onboarding running, no step stalled.")
    return ngettext(
        "Onboarding stalled: %(count)s required step overdue, the oldest for %(days)s.",
        "Onboarding stalled: %(count)s required steps overdue, the oldest for %(days)s.",
        steps,
    ) % {"count": steps, "days": signals.count_days(signals.days_to(evidence["oldest_due"], as_of))}


STALLED_ONBOARDING = signals.Signal(
    key="stalled_onboarding",
    label=gettext_lazy("Stalled onboarding"),
    description=gettext_lazy("A required onboarding step overdue for too long."),
    # Translators: xgettext:no-python-format ("63 %" is text, not a format)
    threshold_help=gettext_lazy("Stalled steps at which the signal reaches 63 % of its strength."),
    window_help=gettext_lazy("Days a step may be overdue before it counts as stalled."),
    default_weight=1.5,
    default_threshold=1.0,
    default_window_days=7,
    describe=describe,
    chunk_facts=stalled_facts,
)
