"""Risk now, its trend over past periods, and the reasons behind most of it.

All of it is read from the nights' totals (RiskDay, one row per night and owner,
written by the run or replayed from the history), a handful of rows: counting levels
at 12 past dates from the change-only snapshots, or adding up the reasons of every
customer at risk, would take seconds at 100,000 customers, and even one pass over
the current risk of every customer costs more than the whole page may.

Only scored customers count (onboarding, active, at risk; not leads, churned or
archived ones): the nightly job gives the others no score.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Count, F, Max, Q, Subquery, Sum
from django.utils import timezone

from retention.risk import queue
from retention.risk.models import CustomerRisk, RiskDay, RiskLevel
from retention.risk.signals import registered

from .periods import Period
from .scope import Scope

# A period's figures are those of its last recorded night; a night the job did not
# run (server down) is bridged by the nearest earlier one, at most this far back.
LOOKBACK_DAYS = 7
TOP_REASONS = 5
CENT = Decimal("0.01")


@dataclass(frozen=True)
class RiskNow:
    low: int
    medium: int
    high: int
    # The sum of expected loss (probability x monthly value) of the customers per level.
    value_low: Decimal
    value_medium: Decimal
    value_high: Decimal
    # Cases in the at-risk queue (medium or high, not resolved, not snoozed, not archived).
    open_cases: int
    # The last night any customer's risk changed (freshness): None before the first run.
    computed_for: date | None

    @property
    def customers(self) -> int:
        return self.low + self.medium + self.high

    @property
    def at_risk(self) -> int:
        return self.medium + self.high

    @property
    def value_at_risk(self) -> Decimal:
        """Expected loss over every scored customer: the monthly value likely to be lost
        within the horizon."""
        return self.value_low + self.value_medium + self.value_high

    @property
    def value_at_risk_in_queue(self) -> Decimal:
        """The part of it carried by customers at medium or high risk."""
        return self.value_medium + self.value_high


@dataclass(frozen=True)
class LevelCounts:
    period: Period
    # The night the counts are of: the period's last recorded one, today for the
    # current period; None when no night of the period was recorded (no data).
    day: date | None
    low: int
    medium: int
    high: int
    # Expected loss over every scored customer; None when the night was replayed from
    # the history (it keeps no money) or not recorded.
    value_at_risk: Decimal | None

    @property
    def customers(self) -> int:
        return self.low + self.medium + self.high

    @property
    def at_risk(self) -> int:
        return self.medium + self.high


@dataclass(frozen=True)
class ReasonShare:
    key: str  # the signal's key (retention/risk/signals.py registry)
    label: str  # its name, in the current language
    points: int  # risk points it added, summed over the customers at medium or high risk
    customers: int  # how many of them it added risk to
    share: float  # its points as a percent of all the points those reasons added


def risk_now(scope: Scope, today: date | None = None) -> RiskNow:
    """Customers per level and the value at risk, now. Two queries.

    Levels and expected losses change only when the risk is computed, which writes
    the night's totals too: so "now" is the latest nightly RiskDay (a handful of rows,
    not a pass over every customer's risk). The open cases change with every queue
    action: they are counted live, as the queue counts them.
    """
    today = today or timezone.localdate()
    day, (low, medium, high, value_low, value_medium, value_high) = _now(scope, today)
    open_cases = queue.open_cases_to_count(today=today).filter(scope.q("customer__owner")).count()
    return RiskNow(
        low=low,
        medium=medium,
        high=high,
        value_low=_money(value_low),
        value_medium=_money(value_medium),
        value_high=_money(value_high),
        open_cases=open_cases,
        computed_for=day,
    )


def _now(scope: Scope, today: date) -> tuple[date | None, list]:
    """The latest recorded night up to today, and the scope's figures on it (_FIGURES).

    One query; before any night was recorded (an installation whose run has not
    finished since this existed), the current risk is added up instead (a second).
    """
    latest = (
        RiskDay.objects.filter(source=RiskDay.Source.NIGHTLY, day__lte=today)
        .order_by("-day")
        .values("day")[:1]
    )
    nights = list(
        RiskDay.objects.filter(source=RiskDay.Source.NIGHTLY, day=Subquery(latest)).values_list(
            "owner_id", "day", *_FIGURES
        )
    )
    if nights:
        day = nights[0][1]
        rows = [night[2:] for night in nights if scope.is_everyone or night[0] == scope.owner_id]
    else:
        day, rows = _current_risk(scope)
    return day, [sum(v or 0 for v in column) for column in zip(*rows, strict=True)] or [0] * 6


_FIGURES = ("low", "medium", "high", "value_low", "value_medium", "value_high")


def _current_risk(scope: Scope) -> tuple[date | None, list[tuple]]:
    """The scope's figures (_FIGURES) from CustomerRisk, and the last night any changed."""
    levels = {level: (0, 0, None) for level in RiskLevel.values}
    for level, count, loss, last in (
        CustomerRisk.objects.filter(scope.q("customer__owner"), score__isnull=False)
        .values_list("level")
        .annotate(Count("pk"), Sum("expected_loss"), Max("computed_for"))
        .order_by()
    ):
        levels[level] = (count, loss or 0, last)
    (low, loss_low, _), (medium, loss_medium, _), (high, loss_high, _) = levels.values()
    days = [last for _count, _loss, last in levels.values() if last]
    return (max(days) if days else None), [(low, medium, high, loss_low, loss_medium, loss_high)]


def _money(amount) -> Decimal:
    """A sum of money to the cent (SQLite's sums of decimals carry more places)."""
    return Decimal(amount or 0).quantize(CENT)


def _scoped_days(scope: Scope):
    """The nights' rows of the scope: one owner's, or everyone's (all of a day's rows)."""
    rows = RiskDay.objects.all()
    return rows if scope.is_everyone else rows.filter(owner_id=scope.owner_id)


def risk_trend(scope: Scope, periods: list[Period], today: date | None = None) -> list[LevelCounts]:
    """Customers per level at the end of each period, in the order given.

    A past period: its last recorded night (one query for all of them). The current
    period: now, as risk_now reads it (one more query), so its point is the tile's.
    A period not begun yet, or with no recorded night: zeros and day None.
    """
    today = today or timezone.localdate()
    past = [period for period in periods if period.end < today]
    nights: dict[date, dict] = {}
    if past:
        ranges = Q()
        for period in past:
            first = max(period.start, period.end - timedelta(days=LOOKBACK_DAYS))
            ranges |= Q(day__gte=first, day__lte=period.end)
        nights = {
            row["day"]: row
            for row in _scoped_days(scope)
            .filter(ranges)
            .values("day")
            .annotate(
                low_sum=Sum("low"),
                medium_sum=Sum("medium"),
                high_sum=Sum("high"),
                value_sum=Sum(F("value_low") + F("value_medium") + F("value_high")),
            )
            .order_by()
        }
    trend = []
    for period in periods:
        if period.contains(today):
            day, (low, medium, high, *values) = _now(scope, today)
            value = _money(sum(values)) if day else None
            trend.append(LevelCounts(period, day, low, medium, high, value))
            continue
        recorded = [day for day in nights if period.start <= day <= period.end]
        if period.end >= today or not recorded:
            trend.append(LevelCounts(period, None, 0, 0, 0, None))
            continue
        row = nights[max(recorded)]
        trend.append(
            LevelCounts(
                period,
                row["day"],
                row["low_sum"],
                row["medium_sum"],
                row["high_sum"],
                None if row["value_sum"] is None else _money(row["value_sum"]),
            )
        )
    return trend


def top_reasons(
    scope: Scope, period: Period, today: date | None = None, limit: int = TOP_REASONS
) -> list[ReasonShare]:
    """The signals that added the most risk to the customers at medium or high risk on
    the period's last recorded night (last night, for the current period). One query."""
    today = today or timezone.localdate()
    end = min(period.end, today)
    rows = _scoped_days(scope).filter(day__gte=period.start, day__lte=end)
    last = rows.order_by("-day").values("day")[:1]
    totals: dict[str, list[int]] = {}
    for reasons in rows.filter(day=last).values_list("reasons", flat=True):
        for key, figures in reasons.items():
            total = totals.setdefault(key, [0, 0])
            total[0] += figures["points"]
            total[1] += figures["customers"]
    points = sum(total[0] for total in totals.values())
    signals = registered()
    shares = [
        ReasonShare(
            key=key,
            label=str(signals[key].label) if key in signals else key,
            points=total[0],
            customers=total[1],
            share=round(100 * total[0] / points, 1),
        )
        for key, total in totals.items()
        if total[0] > 0
    ]
    shares.sort(key=lambda share: (-share.points, share.key))
    return shares[:limit]
