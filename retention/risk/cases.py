"""At-risk cases as the events that open and end them: the dashboard's figures and the
queue's list of the customers behind them read the same definitions.

A case opens when a customer's risk rises into medium or high: from low (or from no
score yet), or again after their previous case was resolved, since a rise brings a
resolved customer back into the queue (scoring.compute_chunk). It ends when an account
manager resolves it in the queue, saved or lost (queue.case_resolve). Both are
RiskEvent rows, so a period's cases stay what they were when the risk changes later.
"""

from datetime import date, datetime, time, timedelta

from django.db.models import Case, OuterRef, Q, QuerySet, Subquery, When
from django.utils import timezone

from .models import RiskEvent, RiskLevel

OPENED, SAVED, LOST = "opened", RiskEvent.Kind.SAVED.value, RiskEvent.Kind.LOST.value
AT_RISK = (RiskLevel.MEDIUM, RiskLevel.HIGH)
RESOLUTIONS = (RiskEvent.Kind.SAVED, RiskEvent.Kind.LOST)


def openings() -> QuerySet:
    """The rises that open a case (see the module's docstring)."""
    before = (
        RiskEvent.objects.filter(
            customer_id=OuterRef("customer_id"),
            kind__in=[RiskEvent.Kind.LEVEL_UP, *RESOLUTIONS],
            occurred_at__lt=OuterRef("occurred_at"),
        )
        .order_by("-occurred_at", "-id")
        .values("kind")[:1]
    )
    # Only a rise from medium (to high) can reopen: the CASE keeps the database from
    # looking up what came before the many rises from low.
    kind_before = Case(When(from_level=RiskLevel.MEDIUM, then=Subquery(before)))
    return (
        RiskEvent.objects.filter(kind=RiskEvent.Kind.LEVEL_UP, to_level__in=AT_RISK)
        .annotate(kind_before=kind_before)
        .filter(Q(from_level__in=[RiskLevel.LOW, ""]) | Q(kind_before__in=RESOLUTIONS))
    )


def day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    """The days from `first` to `last` (included) as [start, end) in the business's zone."""
    start = timezone.make_aware(datetime.combine(first, time.min))
    end = timezone.make_aware(datetime.combine(last + timedelta(days=1), time.min))
    return start, end


def case_events(which: str, first: date, last: date) -> QuerySet:
    """The openings (OPENED), saves (SAVED) or losses (LOST) from `first` to `last`."""
    events = openings() if which == OPENED else RiskEvent.objects.filter(kind=which)
    start, end = day_bounds(first, last)
    return events.filter(occurred_at__gte=start, occurred_at__lt=end)
