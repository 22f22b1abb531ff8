"""The churn-risk signals: what each one measures, as a strength from 0 to 1.

A signal is defined once. A signal over interactions declares the aggregates it
needs (ORM expressions, run for a whole chunk of customers in one GROUP BY) and a
`strength` function that turns the chunk's columns (numpy arrays, one value per
customer) into a strength per customer and the evidence behind it. NaN means "no
data for this customer": the signal then adds nothing to their score, neither risk
nor health. A signal for an event kind the business has never logged (`logged`)
has no data for anyone, so "no complaint" does not count as health in a business
that never records complaints.

A signal whose data is not in interactions (stalled onboarding, unopened emails,
NPS answers) gives `chunk_facts` instead: one query per chunk, returning
{customer_id: (strength, evidence)} for the customers it has data for.

The probability is learned from these strengths (model.py); the reasons shown to
staff are rendered from the stored evidence by `describe(evidence, as_of)`, in the
reader's language, counting days up to the date the score is for.
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
from django.db.models import FloatField, Func, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from customers.models import Customer


@dataclass(frozen=True)
class Params:
    """An admin's settings for one signal (defaults from the registry)."""

    threshold: float
    window_days: int
    enabled: bool = True


@dataclass
class Chunk:
    """One chunk of customers as the signals see it: a numpy column per fact.

    `columns` holds the customers' own columns (see features.CUSTOMER_COLUMNS), every
    signal's aggregates as "<key>__<name>", and the shared history aggregates as
    "history__<name>". Times are in days since the Unix epoch (floats, NaN when
    missing); `end` is the end of the as-of day on that scale.
    """

    as_of: date
    end: float
    columns: dict[str, np.ndarray]
    size: int
    day: float = 0.0  # the as-of date itself, as EpochDays gives dates (its noon)

    def __getitem__(self, name: str) -> np.ndarray:
        return self.columns[name]

    def days_before_end(self, times: np.ndarray) -> np.ndarray:
        """Whole local days from each time (epoch days) to the as-of date; NaN stays NaN.

        floor(end of the as-of day - t) is the as-of date minus t's local date.
        """
        return np.floor(self.end - times)


class Strength:
    """A signal's verdict for a chunk: strengths (NaN: no data) and evidence columns.

    Evidence columns are numbers per customer; `as_dates` names those that are
    epoch days and are stored as ISO dates, so the reason can count days from them.
    """

    __slots__ = ("as_dates", "evidence", "values")

    def __init__(
        self, values: np.ndarray, evidence: Mapping[str, np.ndarray], as_dates: tuple = ()
    ) -> None:
        self.values = np.clip(np.asarray(values, dtype=float), 0.0, 1.0)
        # A figure the same for everyone (a window) is stored per customer too.
        self.evidence = {
            name: np.broadcast_to(np.asarray(column), self.values.shape)
            for name, column in evidence.items()
        }
        self.as_dates = tuple(as_dates)


AggregateFactory = Callable[["Params", datetime], dict]
StrengthFunction = Callable[[Chunk, "Params"], Strength]
# (id_from, id_to, as_of, params) -> {customer_id: (strength 0-1, evidence)}: one query.
ChunkFacts = Callable[[int, int, date, "Params"], dict[int, tuple[float, dict]]]


def no_aggregates(params: Params, end: datetime) -> dict:
    return {}


@dataclass(frozen=True)
class Signal:
    key: str
    label: str
    description: str
    threshold_help: str
    window_help: str
    default_weight: float  # log-odds added at full strength, before any calibration
    default_threshold: float
    default_window_days: int
    describe: Callable[[dict, date], str]  # (evidence, as_of) -> a reason, current language
    aggregates: AggregateFactory = no_aggregates
    strength: StrengthFunction | None = None
    chunk_facts: ChunkFacts | None = None
    # Interactions that show the business logs this kind of event at all; None: always.
    logged: Q | None = None

    @property
    def default_params(self) -> Params:
        return Params(self.default_threshold, self.default_window_days)


_registry: dict[str, Signal] = {}


def register(signal: Signal) -> None:
    _registry[signal.key] = signal


def registered() -> dict[str, Signal]:
    return dict(_registry)


def end_of_day(as_of: date) -> datetime:
    """Data "as of" a date includes that whole day in the business's time zone."""
    return timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))


def epoch_days(moment: datetime) -> float:
    return moment.timestamp() / 86400


def saturating(amount: np.ndarray, scale: float) -> np.ndarray:
    """0 at 0, rising smoothly towards 1: 63 % at `scale`, 86 % at twice it."""
    return 1.0 - np.exp(-np.maximum(amount, 0.0) / max(scale, 1e-9))


def window(params: Params, end: datetime) -> Q:
    """Interactions within the signal's window, up to the end of the as-of day."""
    return Q(occurred_at__gte=end - timedelta(days=params.window_days))


def recency(chunk: Chunk, last: np.ndarray, params: Params) -> np.ndarray:
    """1 for today, falling to 0.5 at the end of the window: recent events weigh more."""
    return 1.0 - 0.5 * np.clip((chunk.end - last) / params.window_days, 0, 1)


DAYS_TO_LOOK_BACK = gettext_lazy("Days to look back.")


def days_to(day: str | None, as_of: date) -> int | None:
    """Whole days from a date stored in evidence (ISO) to the as-of date."""
    return None if day is None else (as_of - date.fromisoformat(day)).days


def relative_day(day: str, as_of: date) -> str:
    """A stored date as the reader says it, seen from `as_of`: "today", "in 3 days"."""
    days = -days_to(day, as_of)
    if days == 0:
        return _("today")
    if days > 0:
        return ngettext("in %(count)s day", "in %(count)s days", days) % {"count": days}
    return ngettext("%(count)s day ago", "%(count)s days ago", -days) % {"count": -days}


def count_days(days: int) -> str:
    return ngettext("%(count)s day", "%(count)s days", days) % {"count": days}


# Statuses that are scored; leads have no relationship yet and churned ones are gone.
SCORED_STATUSES = (Customer.Status.ONBOARDING, Customer.Status.ACTIVE, Customer.Status.AT_RISK)


class EpochDays(Func):
    """A time or date as days since the Unix epoch, a float (dates: their noon, UTC).

    The signals compute on numbers in numpy; converting hundreds of thousands of
    datetimes in Python would cost seconds, so the database does it.
    """

    output_field = FloatField()

    def as_sql(self, compiler, connection, **extra):  # SQLite: julianday() of the ISO text
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(julianday({sql}) - 2440587.5)", params

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(EXTRACT(EPOCH FROM {sql})::float8 / 86400.0)", params


def date_epoch_days(day: date) -> float:
    """A calendar date on the same scale as EpochDays gives dates: its noon, UTC."""
    return day.toordinal() - EPOCH_ORDINAL + 0.5


EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
