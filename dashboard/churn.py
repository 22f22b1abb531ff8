"""Churn and retention figures: customers gained and lost per period, the two churn rates,
the value lost, and retention cohorts.

All come from the membership spells (customers.membership, rebuilt nightly): a spell is
a stretch of time in which someone was a customer; it starts (gained: new or
reactivated) and may end (lost: churned, or lapsed for customers without a contract).
The churn figures read their per-day sums (MembershipDay), the cohorts the spells.
"Figures as of": customers.models.MembershipBuild.last_finished().

- gained, lost: spells started, ended in the period (a customer who leaves and comes
  back within a period counts in both, each time).
- at start: spells begun before the period's first day and not ended before it; at end:
  spells begun by its last day and not ended by then. at end = at start + gained - lost.
- rate_vs_gained = lost / gained x 100 (the small-business formula: 10 lost against 250
  gained is 4 %); rate_vs_start = lost / at start x 100 (the standard one). Both are
  floats rounded to one decimal, None when the denominator is 0.
- value_lost: the monthly value of the spells ended in the period (the plan's value, or
  a shop customer's average monthly spend over the spell); spend_lost: what those
  customers spent during the ended spells.

Every figure links to the customers behind it: customers_link / cohort_link give the
customer list's query string.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db.models import Case, Count, Q, Sum, Value, When
from django.db.models.functions import ExtractMonth, ExtractYear
from django.utils.http import urlencode

from customers.models import MembershipDay, MembershipSpell

from .periods import Period
from .scope import EVERYONE, Scope

StartReason = MembershipSpell.StartReason
EndReason = MembershipSpell.EndReason
CENT = Decimal("0.01")


@dataclass(frozen=True)
class ChurnFigures:
    period: Period
    gained: int
    gained_new: int
    gained_reactivated: int
    lost: int
    lost_churned: int
    lost_lapsed: int
    at_start: int
    at_end: int
    net: int  # gained - lost
    rate_vs_gained: float | None  # lost / gained x 100, one decimal
    rate_vs_start: float | None  # lost / at start x 100, one decimal
    value_lost: Decimal  # monthly value of the spells ended in the period
    spend_lost: Decimal  # spend during the spells ended in the period


@dataclass(frozen=True)
class CohortRow:
    month: date  # the cohort: customers whose first spell began this month (its 1st)
    size: int
    # Per k = 1..months: how many / the share (%, one decimal) still a customer on the
    # cohort month's first day + k months; None where that day is after today.
    retained: tuple[int | None, ...]
    shares: tuple[float | None, ...]


@dataclass(frozen=True)
class CohortTable:
    today: date
    offsets: tuple[int, ...]  # the k of each column: 1..months
    rows: tuple[CohortRow, ...]  # oldest cohort first, the current month last


def churn_figures(scope: Scope, period: Period) -> ChurnFigures:
    """The period's churn figures. 1 query."""
    return churn_series(scope, [period])[0]


def churn_series(scope: Scope, periods: list[Period]) -> list[ChurnFigures]:
    """Each period's churn figures, in the order given (e.g. period.trailing(12)).

    1 query whatever the number of periods: the per-day sums of the spells
    (MembershipDay, a row per day with a change and owner) added up per stretch of days:
    before the first period, each period, each gap between two. At a period's start are
    the spells begun before it less those ended before it. Periods must not overlap.
    """
    if not periods:
        return []
    ordered = sorted(periods, key=lambda period: period.start)
    _refuse_overlaps(ordered)
    # Stretch 2i is the i-th period (by date), 2i + 1 the gap after it (empty when the
    # next one follows on the next day); -1 is everything before the first.
    stretches = [When(day__lt=ordered[0].start, then=Value(-1))]
    for i, period in enumerate(ordered):
        stretches.append(When(day__lte=period.end, then=Value(2 * i)))
        if i + 1 < len(ordered):
            stretches.append(When(day__lt=ordered[i + 1].start, then=Value(2 * i + 1)))
    rows = (
        MembershipDay.objects.filter(scope.q("owner"), day__lte=ordered[-1].end)
        .annotate(stretch=Case(*stretches))
        .values_list("stretch")
        .annotate(*(Sum(column) for column in DAY_COLUMNS))
        .order_by()
    )
    sums = {row[0]: dict(zip(DAY_COLUMNS, row[1:], strict=True)) for row in rows}
    empty = dict.fromkeys(DAY_COLUMNS, 0)

    def net(stretch: int) -> int:
        row = sums.get(stretch, empty)
        gained = row["gained_new"] + row["gained_reactivated"]
        return gained - row["lost_churned"] - row["lost_lapsed"]

    figures, at_start = {}, net(-1)
    for i, period in enumerate(ordered):
        row = {name: value or 0 for name, value in sums.get(2 * i, empty).items()}
        figures[period] = _figures(period, row, at_start)
        at_start += net(2 * i) + net(2 * i + 1)
    return [figures[period] for period in periods]


DAY_COLUMNS = (
    "gained_new",
    "gained_reactivated",
    "lost_churned",
    "lost_lapsed",
    "value_lost",
    "spend_lost",
)


def _figures(period: Period, sums: dict, at_start: int) -> ChurnFigures:
    gained = sums["gained_new"] + sums["gained_reactivated"]
    lost = sums["lost_churned"] + sums["lost_lapsed"]
    return ChurnFigures(
        period=period,
        gained=gained,
        gained_new=sums["gained_new"],
        gained_reactivated=sums["gained_reactivated"],
        lost=lost,
        lost_churned=sums["lost_churned"],
        lost_lapsed=sums["lost_lapsed"],
        at_start=at_start,
        at_end=at_start + gained - lost,
        net=gained - lost,
        rate_vs_gained=_rate(lost, gained),
        rate_vs_start=_rate(lost, at_start),
        value_lost=Decimal(sums["value_lost"]).quantize(CENT),
        spend_lost=Decimal(sums["spend_lost"]).quantize(CENT),
    )


def _rate(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 1) if whole else None


def _refuse_overlaps(ordered: list[Period]) -> None:
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start <= before.end:
            raise ValueError("periods overlap: a day would count in two of them")


# --- Cohorts ------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The first day of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def cohorts(scope: Scope, today: date, months: int = 12) -> CohortTable:
    """Retention cohorts: the last `months` complete months' and the current month's
    customers by the month of their first start, and how many of them were still (or
    again) a customer 1..months months after that month's first day. 1 query.

    The query groups the cohorts' spells by (cohort month, first and last month whose
    first day the spell covers): a few hundred rows whatever the number of customers,
    added up here per cell.
    """
    starts = [add_months(today, -back) for back in range(months, -1, -1)]
    offsets = tuple(range(1, months + 1))
    spells = MembershipSpell.objects.filter(
        scope.q("owner"), first_started_on__gte=starts[0], first_started_on__lte=today
    ).order_by()
    # A spell covers the first day of month m (customer on that day) from its start's
    # month (the next one unless it began on the 1st) to its end's month (the one
    # before if it ended on the 1st: that day they were no longer a customer).
    first_covered = _month_number("started_on") + Case(
        When(started_on__day=1, then=Value(0)), default=Value(1)
    )
    last_covered = _month_number("ended_on") - Case(
        When(ended_on__day=1, then=Value(1)), default=Value(0)
    )
    groups = (
        spells.annotate(
            cohort=_month_number("first_started_on"), first=first_covered, last=last_covered
        )
        .values_list("cohort", "first", "last")
        .annotate(spells=Count("id"), new=Count("id", filter=Q(start_reason=StartReason.NEW)))
    )
    first_month = _number(starts[0])
    sizes = [0] * len(starts)
    retained = [[0] * len(offsets) for _ in starts]
    for cohort, first, last, count, new in groups:
        index = cohort - first_month
        sizes[index] += new
        for column, k in enumerate(offsets):
            if first <= cohort + k and (last is None or cohort + k <= last):
                retained[index][column] += count
    rows = []
    for index, start in enumerate(starts):
        cells = tuple(
            count if add_months(start, k) <= today else None
            for k, count in zip(offsets, retained[index], strict=True)
        )
        shares = tuple(
            None if count is None or not sizes[index] else round(count * 100 / sizes[index], 1)
            for count in cells
        )
        rows.append(CohortRow(month=start, size=sizes[index], retained=cells, shares=shares))
    return CohortTable(today=today, offsets=offsets, rows=tuple(rows))


def _month_number(field: str):
    """Months since year 0 of the date in `field`, in SQL (NULL stays NULL)."""
    return ExtractYear(field) * 12 + ExtractMonth(field) - 1


def _number(day: date) -> int:
    return day.year * 12 + day.month - 1


# --- Links to the customers behind a figure ---------------------------------------------------

# Figure -> (customer list filter, what its value carries). Value lost and spend lost are
# the "lost" customers.
LINK_KINDS = {
    "gained": ("gained", ""),
    "gained_new": ("gained", StartReason.NEW),
    "gained_reactivated": ("gained", StartReason.REACTIVATED),
    "lost": ("lost", ""),
    "lost_churned": ("lost", EndReason.CHURNED),
    "lost_lapsed": ("lost", EndReason.LAPSED),
    "value_lost": ("lost", ""),
    "spend_lost": ("lost", ""),
    "at_start": ("customer_on", "start"),
    "at_end": ("customer_on", "end"),
}


def customers_link(kind: str, period: Period, scope: Scope = EVERYONE) -> str:
    """The customer list's query string (without "?") for the customers behind a figure
    of churn_figures: `kind` is a field name of ChurnFigures (gained, gained_new,
    gained_reactivated, lost, lost_churned, lost_lapsed, value_lost, spend_lost, at_start,
    at_end). Archived customers are included: they were customers then.

    The list shows each customer once; a figure counts spells, so a customer gained twice
    in one period is one row there and 2 in `gained`.
    """
    name, detail = LINK_KINDS[kind]
    if name == "customer_on":
        day = period.start - timedelta(days=1) if detail == "start" else period.end
        value = day.isoformat()
    else:
        value = f"{period.start.isoformat()}..{period.end.isoformat()}"
        if detail:
            value += f":{detail}"
    return _query({name: value}, scope)


def cohort_link(month: date, k: int | None = None, scope: Scope = EVERYONE) -> str:
    """The customer list's query string for a cohort (its size), or for those of it who
    were a customer k months after the cohort month's first day (a cell)."""
    params = {"cohort": f"{month:%Y-%m}"}
    if k is not None:
        params["customer_on"] = add_months(month, k).isoformat()
    return _query(params, scope)


def _query(params: dict, scope: Scope) -> str:
    params = {**params, "archived": "all"}
    if scope.owner_id is not None:
        params["owner"] = str(scope.owner_id)
    return urlencode(params)
