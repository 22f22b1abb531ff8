"""Each night's risk totals (RiskDay): written when a run finishes, replayed for the past.

The dashboard shows customers per level at the end of each of the last 12 periods and
the reasons behind most risk. Counting that live means replaying change-only
snapshots up to 12 dates over 100,000 customers, or summing the JSON reasons of every
customer at risk, on each page view. So each night adds them up once, per owner:

- `record_day(day)`: from the current risk (CustomerRisk), at the end of a run
  (runs.run_chunk) and of `manage.py compute_risk`. Delete and insert, so running
  it twice for a night leaves one set of rows.
- `replay_days(since, until)`: from the history (RiskSnapshot), for the nights
  before the nightly rows existed (`manage.py rebuild_risk_days`). Each day reads
  only the snapshots up to that day.

Who counts on a day is who the nightly job scores (features.scored_customers): a
customer who churned or was archived stops counting on that day. Past days are
filed under each customer's current owner: owners are not kept in the history.
"""

from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Min, Sum
from django.utils import timezone

from customers.models import Customer

from .models import CustomerRisk, RiskDay, RiskLevel, RiskSnapshot
from .signals import SCORED_STATUSES

AT_RISK = (RiskLevel.MEDIUM, RiskLevel.HIGH)
_LEVEL_INDEX = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}
_BATCH = 5000
CENT = Decimal("0.01")


class _Totals:
    """One owner's running totals: customers per level, and the at-risk reasons."""

    __slots__ = ("levels", "reasons")

    def __init__(self) -> None:
        self.levels = [0, 0, 0]
        self.reasons: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # key: [points, n]

    def add(self, level: str, points: Iterable[tuple[str, int]], sign: int = 1) -> None:
        """One customer in (sign 1) or out (-1): their level and, at risk, their reasons."""
        self.levels[_LEVEL_INDEX[level]] += sign
        if level in AT_RISK:
            self.add_reasons(points, sign)

    def add_reasons(self, points: Iterable[tuple[str, int]], sign: int = 1) -> None:
        for key, value in points:
            if value > 0:  # only what adds risk: the "why" of the at-risk customers
                reason = self.reasons[key]
                reason[0] += sign * value
                reason[1] += sign

    def row(self, day: date, owner_id: int | None, source: str, values=None) -> RiskDay:
        """The owner's row; `values`: expected loss per level (None: not known)."""
        reasons = {
            key: {"points": points, "customers": customers}
            for key, (points, customers) in sorted(self.reasons.items())
            if customers
        }
        low, medium, high = self.levels
        value_low, value_medium, value_high = values or (None, None, None)
        return RiskDay(
            day=day,
            owner_id=owner_id,
            low=low,
            medium=medium,
            high=high,
            value_low=value_low,
            value_medium=value_medium,
            value_high=value_high,
            reasons=reasons,
            source=source,
        )


@transaction.atomic
def record_day(day: date) -> int:
    """Write `day`'s rows from the customers' current risk (scored customers only).

    Three queries and one pass over the reasons of the customers at medium or high
    risk, streamed. Returns how many rows were written.
    """
    scored = CustomerRisk.objects.filter(score__isnull=False)
    totals: dict[int | None, _Totals] = defaultdict(_Totals)
    values: dict[int | None, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * 3)
    for owner_id, level, count, loss in (
        scored.values_list("customer__owner_id", "level")
        .annotate(count=Count("pk"), loss=Sum("expected_loss"))
        .order_by()
    ):
        totals[owner_id].levels[_LEVEL_INDEX[level]] += count
        values[owner_id][_LEVEL_INDEX[level]] += Decimal(loss or 0).quantize(CENT)
    flags = (
        scored.filter(level__in=AT_RISK)
        .values_list("customer__owner_id", "flags")
        .order_by()
        .iterator(chunk_size=_BATCH)
    )
    for owner_id, reasons in flags:  # levels were counted above: only the reasons here
        totals[owner_id].add_reasons((r["key"], r.get("contribution", 0)) for r in reasons)
    rows = [
        total.row(day, owner_id, RiskDay.Source.NIGHTLY, values[owner_id])
        for owner_id, total in totals.items()
    ]
    RiskDay.objects.filter(day=day).delete()
    RiskDay.objects.bulk_create(rows)
    return len(rows)


def record_run(as_of: date) -> int:
    """The finishing step of a risk run: the run's night from the current risk, or, for a
    run of a past date (which writes only that date's history), replayed."""
    if as_of < timezone.localdate():  # a night already recorded by its own run is kept
        return replay_days(since=as_of, until=as_of)
    return record_day(as_of)


def _stops() -> dict[int, tuple[int | None, date | None]]:
    """Per customer: (owner, the first day they are no longer scored, or None).

    As features.scored_customers: churned customers count until the day before they
    churned, archived ones until the day before they were archived; leads never.
    """
    zone = timezone.get_current_timezone()
    never = date.min
    customers = {}
    rows = Customer.objects.values_list("pk", "owner_id", "status", "churned_on", "archived_at")
    for pk, owner_id, status, churned_on, archived_at in rows.order_by().iterator(_BATCH):
        stop = None
        if status == Customer.Status.CHURNED:
            stop = churned_on or never
        elif status not in SCORED_STATUSES:
            stop = never
        if archived_at is not None:
            archived_on = timezone.localtime(archived_at, zone).date()
            stop = archived_on if stop is None else min(stop, archived_on)
        customers[pk] = (owner_id, stop)
    return customers


def _snapshots(until: date) -> Iterator[tuple[int, date, str, dict]]:
    return (
        RiskSnapshot.objects.filter(as_of__lte=until)
        .order_by("as_of", "customer_id")
        .values_list("customer_id", "as_of", "level", "contributions")
        .iterator(chunk_size=_BATCH)
    )


def replayed_totals(since: date, until: date) -> Iterator[tuple[date, dict[int | None, _Totals]]]:
    """Each day from `since` to `until` with every owner's totals on it, from snapshots.

    One pass over the snapshots in date order, a running state per customer: memory
    grows with the customers, not with the history.
    """
    customers = _stops()
    state: dict[int, tuple[str, dict]] = {}  # counted customers: (level, contributions)
    totals: dict[int | None, _Totals] = defaultdict(_Totals)
    stopping: dict[date, list[int]] = defaultdict(list)
    for pk, (_owner, stop) in customers.items():
        if stop is not None:
            stopping[stop].append(pk)

    def drop(pk: int) -> None:
        if pk in state:
            level, contributions = state.pop(pk)
            totals[customers[pk][0]].add(level, contributions.items(), sign=-1)

    snapshots = _snapshots(until)
    pending = next(snapshots, None)
    first = pending[1] if pending else since
    day = min(first, since)
    while day <= until:
        for pk in stopping.get(day, ()):
            drop(pk)
        while pending is not None and pending[1] == day:
            pk, _as_of, level, contributions = pending
            drop(pk)
            owner_id, stop = customers.get(pk, (None, date.min))
            if stop is None or day < stop:
                state[pk] = (level, contributions)
                totals[owner_id].add(level, contributions.items())
            pending = next(snapshots, None)
        if day >= since:
            yield day, totals
        day += timedelta(days=1)


@transaction.atomic
def replay_days(*, since: date | None = None, until: date | None = None, replace=False) -> int:
    """Write the rows of the days from `since` (default: the first snapshot) to `until`
    (default: yesterday) from the history, replacing replayed ones. Days a run recorded
    (more exact: they know the value at risk and the owners then) are kept unless
    `replace`. Returns how many rows were written."""
    until = until or timezone.localdate() - timedelta(days=1)
    if since is None:
        since = RiskSnapshot.objects.aggregate(first=Min("as_of"))["first"]
        if since is None:
            return 0
    if since > until:
        return 0
    days = RiskDay.objects.filter(day__gte=since, day__lte=until)
    if replace:
        kept = set()
    else:
        nightly = days.filter(source=RiskDay.Source.NIGHTLY)
        kept = set(nightly.values_list("day", flat=True).distinct())
        days = days.filter(source=RiskDay.Source.REPLAYED)
    days.delete()
    rows, written = [], 0
    for day, totals in replayed_totals(since, until):
        if day in kept:
            continue
        rows += [
            total.row(day, owner_id, RiskDay.Source.REPLAYED)
            for owner_id, total in totals.items()
            if any(total.levels)
        ]
        if len(rows) >= _BATCH:
            RiskDay.objects.bulk_create(rows)
            written, rows = written + len(rows), []
    RiskDay.objects.bulk_create(rows)
    return written + len(rows)
