"""Reading a chunk of customers for the risk model: every signal's strength, set-based.

Per chunk two queries: the customers who were customers on the as-of date, and one
GROUP BY over their interactions up to the end of that day with every signal's
aggregates (and the shared history ones), read as plain numbers into numpy
columns. Signals with their own data (chunk_facts) add one query each. Then every
signal's strength function runs once over the whole chunk: nothing is computed
per customer in Python.

A relationship begins at `customer_since` or the first interaction, whichever is
earlier (the creation time only when neither is known): imported history is
scored for past dates. For a past date, customers who churned later, or were
archived later, are scored as the customers they still were.
"""

from dataclasses import dataclass
from datetime import date

import numpy as np
from django.db import connection
from django.db.models import BooleanField, Count, ExpressionWrapper, F, FloatField, Q, QuerySet
from django.db.models.functions import Cast

from customers.models import Customer, Interaction

from . import signals
from .history import history_aggregates, usual_gap
from .planning import Configuration, logged_signals
from .signals import Chunk, EpochDays, Strength, date_epoch_days, end_of_day

# The customers' own columns, in this order, as numbers (dates as epoch days at noon).
CUSTOMER_COLUMNS = {
    "id": F("pk"),
    "customer_since": EpochDays("customer_since"),
    "created": EpochDays("created_at"),
    "renewal_date": EpochDays("renewal_date"),
    "monthly_value": Cast("monthly_value", FloatField()),
    "has_contract": ExpressionWrapper(
        Q(plan__gt="") | Q(renewal_date__isnull=False), output_field=BooleanField()
    ),
}
_DATE_COLUMNS = ("customer_since", "renewal_date")


@dataclass
class ChunkFeatures:
    """A chunk's customers and what the model needs of them, one row per customer."""

    chunk: Chunk
    ids: np.ndarray
    keys: list[str]  # the counted signals, the columns of `strengths`
    strengths: np.ndarray  # customers x signals, NaN: no data
    verdicts: dict[str, Strength | dict]  # per signal: its Strength, or chunk_facts' dict

    @property
    def value(self) -> np.ndarray:
        """Monthly value: the plan's, or the average monthly spend of the last year."""
        monthly = self.chunk["monthly_value"]
        spend = np.nan_to_num(self.chunk["history__spend_year"]) / 12
        return np.round(np.where(monthly > 0, monthly, np.maximum(spend, 0)), 2)

    @property
    def expected_purchase(self) -> np.ndarray:
        """Epoch day by which a customer with a buying rhythm would have bought again."""
        return self.chunk["history__last_purchase"] + usual_gap(self.chunk, "purchase")

    @property
    def days_since_contact(self) -> np.ndarray:
        """The plain baseline the backtest compares with: days since the last interaction."""
        last = self.chunk["history__last_any"]
        return self.chunk.end - np.where(np.isnan(last), self.chunk["start"], last)


def scored_customers(id_from: int, id_to: int, as_of: date) -> QuerySet:
    """The chunk's customers who could have been scored on `as_of` (before start dates)."""
    end = end_of_day(as_of)
    still_customer = Q(status__in=signals.SCORED_STATUSES) | Q(
        status=Customer.Status.CHURNED, churned_on__gt=as_of
    )
    return Customer.objects.filter(
        still_customer,
        Q(archived_at__isnull=True) | Q(archived_at__gte=end),
        pk__gte=id_from,
        pk__lt=id_to,
    ).order_by("pk")


def fetch_rows(queryset: QuerySet) -> list[tuple]:
    """A values_list queryset's rows as psycopg returns them, on PostgreSQL.

    Django reads timestamptz through a pure-Python subclass of psycopg's loader and
    runs each row through its field converters (json.loads for every JSON value);
    over a chunk's thousands of rows that alone took a noticeable time. Here:
    psycopg's C loader (the same aware datetimes) and JSON columns left as text.
    """
    if connection.vendor != "postgresql":
        return list(queryset)
    import psycopg  # noqa: PLC0415 (only on PostgreSQL)

    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        loader = psycopg.adapters.get_loader(
            psycopg.adapters.types["timestamptz"].oid, psycopg.pq.Format.TEXT
        )
        cursor.cursor.adapters.register_loader("timestamptz", loader)
        cursor.execute(sql, params)
        return cursor.fetchall()


def _matrix(queryset: QuerySet, width: int) -> np.ndarray:
    """A values_list queryset's rows as a float matrix (None -> NaN), read without Django's
    per-row converters (plain cursor rows: every column is already a number)."""
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return np.empty((0, width))
    return np.array(rows, dtype=float)


def positions(ids: np.ndarray, wanted: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Where each of `wanted` is in the sorted `ids`, and whether it is there at all."""
    where = np.searchsorted(ids, wanted)
    known = where < len(ids)
    known[known] = ids[where[known]] == wanted[known]
    return where, known


def read_chunk(
    as_of: date, id_from: int, id_to: int, config: Configuration, logged: set[str] | None = None
) -> ChunkFeatures:
    """Every counted signal's strength for the chunk's customers as of the end of `as_of`."""
    end = end_of_day(as_of)
    registry = signals.registered()
    logged = logged_signals(config, as_of) if logged is None else logged
    aggregates = {f"history__{name}": expr for name, expr in history_aggregates(end).items()}
    for key in config.counted:
        for name, expression in registry[key].aggregates(config.params[key], end).items():
            aggregates[f"{key}__{name}"] = expression
    customers = _matrix(
        scored_customers(id_from, id_to, as_of)
        .annotate(**{f"c_{name}": expr for name, expr in CUSTOMER_COLUMNS.items()})
        .values_list(*(f"c_{name}" for name in CUSTOMER_COLUMNS)),
        len(CUSTOMER_COLUMNS),
    )
    per_customer = _matrix(
        Interaction.objects.filter(
            customer_id__gte=id_from, customer_id__lt=id_to, occurred_at__lt=end
        )
        .values("customer_id")
        .order_by()
        .annotate(**aggregates)
        .values_list("customer_id", *aggregates),
        len(aggregates) + 1,
    )
    columns = {name: customers[:, i] for i, name in enumerate(CUSTOMER_COLUMNS)}
    for name in _DATE_COLUMNS:
        columns[name] = columns[name] + 0.5  # noon: the same date in every time zone
    ids = columns["id"].astype(np.int64)
    # Each customer's aggregates, NaN (counts: 0) for those without interactions; the
    # interactions of customers not scored (leads, churned) are dropped.
    where, known = positions(ids, per_customer[:, 0].astype(np.int64))
    for i, (name, expression) in enumerate(aggregates.items(), start=1):
        column = np.zeros(len(ids)) if isinstance(expression, Count) else np.full(len(ids), np.nan)
        column[where[known]] = per_customer[known, i]
        columns[name] = column
    columns["start"] = np.fmin(
        np.fmin(columns["customer_since"], columns["history__first_any"]), columns["created"]
    )
    # Customers whose relationship had begun by the end of the day.
    began = columns["start"] < signals.epoch_days(end)
    columns = {name: column[began] for name, column in columns.items()}
    ids = ids[began]
    chunk = Chunk(as_of, signals.epoch_days(end), columns, len(ids), date_epoch_days(as_of))
    return _strengths(chunk, ids, id_from, id_to, config, logged, registry)


def _strengths(chunk, ids, id_from, id_to, config, logged, registry) -> ChunkFeatures:
    keys = config.counted
    strengths = np.full((len(ids), len(keys)), np.nan)
    verdicts = {}
    for j, key in enumerate(keys):
        signal, params = registry[key], config.params[key]
        if signal.chunk_facts is not None:
            facts = signal.chunk_facts(id_from, id_to, chunk.as_of, params)
            if facts:
                where, known = positions(ids, np.fromiter(facts, dtype=np.int64))
                values = np.fromiter((v[0] for v in facts.values()), dtype=float)
                strengths[where[known], j] = np.clip(values[known], 0, 1)
            verdicts[key] = facts
        elif key in logged:
            verdict = signal.strength(chunk, params)
            strengths[:, j] = verdict.values
            verdicts[key] = verdict
    return ChunkFeatures(chunk, ids, keys, strengths, verdicts)
