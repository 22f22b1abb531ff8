"""The churn-risk signals: each one a small function and a registry entry.

A signal declares the aggregates it needs over a customer's interactions (run
for a whole chunk of customers in one GROUP BY query) and a function that turns
those facts into a Finding: flagged or healthy, with its evidence. Returning
None means "no data for this customer": the signal is left out of the score and
the other weights are re-normalised, rather than counting the customer healthy.

The built-in signals over interactions are in builtin_signals.py. Adding a signal
(other features: unopened emails, NPS answers, stalled onboarding) is one
`Signal(...)` passed to `register()` from the app's AppConfig.ready().
Reasons are rendered from the stored evidence at display time, so they appear
in the reader's language. Evidence holds dates, not day counts ("last contact on
2026-10-14", not "40 days ago"): it stays the same from one night to the next
unless something happened, so the nightly job rewrites only customers whose risk
really changed, and the reason counts the days when it is shown.

A signal over interactions may also give a `screen`: SQL saying which customers
it could possibly flag. On PostgreSQL the nightly job then runs no Python at all
for the customers no signal could flag (most of them, on most nights): see
`Screen`. Python stays the only judge; the screen only skips work, and
tests/test_risk_screens.py checks every screen against `evaluate`.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from types import MappingProxyType
from typing import NamedTuple

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.models import Customer


@dataclass(frozen=True)
class Params:
    weight: int
    onboarding_weight: int
    threshold: Decimal
    window_days: int
    enabled: bool = True


class Facts(NamedTuple):
    """What the risk computation knows about one customer as of a date.

    A named tuple, not a dataclass: the nightly job builds one per signal per
    customer (hundreds of thousands), and a tuple is several times cheaper to make.
    """

    customer_id: int
    status: str
    customer_since: date | None
    created_on: date
    renewal_date: date | None
    as_of: date
    aggregates: Mapping = MappingProxyType({})  # this signal's own aggregates
    # The business's time zone for local dates; None: the current one. The job looks
    # it up once per chunk (the per-call lookup was a noticeable share of its time).
    zone: tzinfo | None = None


class Finding(NamedTuple):
    flagged: bool
    evidence: dict = MappingProxyType({})  # type: ignore[assignment]


AggregateFactory = Callable[[Params, datetime], dict]
Evaluator = Callable[[Facts, Params], Finding | None]
# For signals whose data is not in interactions: (id_from, id_to, as_of, params) →
# {customer_id: facts}, one query for the whole chunk. A customer missing from that
# dict has no data for the signal: it is left out without calling `evaluate` (the
# nightly job skips ~100,000 calls per such signal this way).
ChunkFacts = Callable[[int, int, date, Params], dict[int, dict]]


def no_aggregates(params: Params, end: datetime) -> dict:
    return {}


class Screen(NamedTuple):
    """SQL (PostgreSQL) telling the nightly job which customers a signal could flag.

    `might_flag` must be true for every customer `evaluate` would flag; it may be true
    for more (those are evaluated in Python, which decides). NULL counts as "might".
    `has_data` is true only for customers `evaluate` surely returns a Finding for
    (flagged or healthy), false only for those it surely returns None for, NULL when
    not sure. A signal that cannot flag a customer and is sure either way is not
    evaluated for them.

    Both name the signal's aggregates as {a.<name>} and the customer's columns as
    {c.<column>} (id, status, customer_since, created_on, renewal_date), and values
    as %(name)s, given in `values`. A customer no signal might flag and some signal
    surely has data for scores 0 without being evaluated.
    """

    might_flag: str
    has_data: str = "NULL"
    values: Mapping = MappingProxyType({})


# (params, as_of, end of that day) -> the signal's screen for that night.
ScreenFactory = Callable[[Params, date, datetime], Screen]


@dataclass(frozen=True)
class Signal:
    key: str
    label: str
    description: str
    threshold_help: str
    window_help: str
    default_weight: int
    default_onboarding_weight: int
    default_threshold: Decimal
    default_window_days: int
    aggregates: AggregateFactory
    evaluate: Evaluator
    describe: Callable[[dict], str]  # evidence → a reason in the current language
    forces_level: str = ""  # e.g. "high": a flag this serious sets at least that level
    chunk_facts: ChunkFacts | None = None
    screen: ScreenFactory | None = None  # None: every customer is evaluated in Python

    @property
    def default_params(self) -> Params:
        return Params(
            self.default_weight,
            self.default_onboarding_weight,
            self.default_threshold,
            self.default_window_days,
        )


_registry: dict[str, Signal] = {}


def end_of_day(as_of: date) -> datetime:
    """Data "as of" a date includes that whole day in the business's time zone."""
    return timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))


def register(signal: Signal) -> None:
    _registry[signal.key] = signal


def registered() -> dict[str, Signal]:
    return dict(_registry)


def _local_date(moment: datetime | date, facts: Facts) -> date:
    if isinstance(moment, datetime):
        # astimezone() directly when the zone is known: localdate() re-checks and
        # looks the zone up on each of the job's many calls.
        return moment.astimezone(facts.zone).date() if facts.zone else timezone.localdate(moment)
    return moment


def _days(since: datetime | date | None, facts: Facts) -> int | None:
    """Whole local days from `since` to the facts' date."""
    if since is None:
        return None
    return (facts.as_of - _local_date(since, facts)).days


def _iso(moment: datetime | date | None, facts: Facts) -> str | None:
    """A moment's local date as stored in evidence."""
    return None if moment is None else _local_date(moment, facts).isoformat()


def days_since(day: str | None) -> int | None:
    """Whole days from a date stored in evidence (ISO) to today, for a reason's text."""
    return None if day is None else (timezone.localdate() - date.fromisoformat(day)).days


def days_until(day: str | None) -> int | None:
    return None if day is None else -days_since(day)


def relative_day(day: str) -> str:
    """A date stored in evidence as the reader says it: "today", "in 3 days", "1 day ago"."""
    days = days_until(day)
    if days == 0:
        return _("today")
    if days > 0:
        return ngettext("in %(count)s day", "in %(count)s days", days) % {"count": days}
    return ngettext("%(count)s day ago", "%(count)s days ago", -days) % {"count": -days}


# Statuses that are scored; leads have no relationship yet and churned ones are gone.
SCORED_STATUSES = (Customer.Status.ONBOARDING, Customer.Status.ACTIVE, Customer.Status.AT_RISK)
