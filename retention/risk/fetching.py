"""Reading a chunk of customers for the risk job: the SQL and the streaming of its rows.

One row per customer: their columns, the signals' screens as three bit masks,
whether they have interactions, then every signal's aggregates side by side. On
PostgreSQL that is one query, streamed (COPY ... TO STDOUT) so that scoring in
Python overlaps with the database computing the rest; on SQLite, or unscreened,
the same rows are put together in Python. Rows are read as plain tuples, past
Django's per-row converters, because a full recompute reads hundreds of thousands.
"""

import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from types import SimpleNamespace

from django.db import connection
from django.db.models import F, QuerySet
from django.db.models.functions import TruncDate

from customers.models import Customer, Interaction

from . import signals
from .planning import Configuration


def _fetch(queryset: QuerySet) -> list[tuple]:
    """A values_list queryset's rows as psycopg returns them, on PostgreSQL.

    Django reads timestamptz through a pure-Python subclass of psycopg's loader and
    runs each row through its field converters (json.loads for every JSON value);
    over the ~400,000 timestamps and ~80,000 stored flags of a full recompute that
    alone took seconds. Here: psycopg's C loader (the same aware datetimes, in the
    connection's time zone, UTC), and JSON columns left as their text.
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


def _stream_sql(sql: str, params: list | tuple) -> Iterator[tuple]:
    """A query's rows as PostgreSQL produces them, while it is still producing the rest.

    COPY (query) TO STDOUT: the server streams rows into the socket without waiting
    for the client, so scoring the first customers of a chunk overlaps with computing
    the aggregates of the next ones (the nightly job's two halves, about the same
    size; one after the other they took twice as long). Binary, with the column types
    from a LIMIT 0 run of the same query (planning only). The connection is busy until
    the rows are all read: run other queries before.
    """
    with connection.cursor() as cursor:
        raw = cursor.cursor
        raw.execute(f"SELECT * FROM ({sql}) AS query LIMIT 0", params)  # noqa: S608
        types = [column.type_code for column in raw.description]
        with raw.copy(f"COPY ({sql}) TO STDOUT (FORMAT BINARY)", params) as copy:
            copy.set_types(types)
            yield from copy.rows()


# The scored customers' columns, in the chunk query's rows and as screens name them.
_CUSTOMER_COLUMNS = {
    "id": F("pk"),
    "status": F("status"),
    "customer_since": F("customer_since"),
    # The local date in SQL: converting 100,000 datetimes in Python costs seconds.
    "created_on": TruncDate("created_at"),
    "renewal_date": F("renewal_date"),
}
# After them in each row: the screens' three bit masks, whether the customer has any
# interactions, then every signal's aggregates.
_HAS_INTERACTIONS, _FIRST_AGGREGATE = 8, 9
_EVERY_BIT = -1  # unscreened: every signal might flag


def _aggregates(
    registry: dict[str, signals.Signal], config: Configuration, end: datetime
) -> tuple[dict, dict[str, tuple[tuple[str, ...], int, int]]]:
    """Every signal's aggregate expressions by column name, and where each is in a row.

    Every signal's aggregates side by side in one row per customer; a signal's
    facts are its slice of that row, zipped with its names.
    """
    aggregates = {}
    layout = {}  # key -> (names, start, stop)
    for key, signal in registry.items():
        names = tuple(signal.aggregates(config.params[key], end).items())
        start = _FIRST_AGGREGATE + len(aggregates)
        for name, expression in names:
            aggregates[f"{key}__{name}"] = expression
        layout[key] = (tuple(name for name, _expression in names), start, start + len(names))
    return aggregates, layout


def _chunk_queries(
    id_from: int, id_to: int, end: datetime, aggregates: dict
) -> tuple[QuerySet, QuerySet]:
    """The chunk's scored customers' columns, and their interactions' aggregates."""
    customers = (
        Customer.objects.filter(
            pk__gte=id_from,
            pk__lt=id_to,
            created_at__lt=end,
            archived_at__isnull=True,
            status__in=signals.SCORED_STATUSES,
        )
        .order_by()
        .annotate(**{f"c_{name}": expression for name, expression in _CUSTOMER_COLUMNS.items()})
        .values_list(*(f"c_{name}" for name in _CUSTOMER_COLUMNS))
    )
    interactions = (
        Interaction.objects.filter(
            customer_id__gte=id_from, customer_id__lt=id_to, occurred_at__lt=end
        )
        .values("customer_id")
        .order_by()
        .annotate(**aggregates)
        .values_list("customer_id", *aggregates)
    )
    return customers, interactions


def _unscreened_rows(
    customers: QuerySet, interactions: QuerySet, aggregate_count: int
) -> Iterator[tuple]:
    """The chunk query's rows put together in Python, every signal left to evaluate.

    A plain function returning a generator: both queries run on this call, not when
    the first row is read.
    """
    by_customer = {row[0]: row[1:] for row in interactions}
    no_interactions = (None,) * aggregate_count
    return (
        (
            *row,
            _EVERY_BIT,  # every signal might flag ...
            0,  # ... none is sure to have data ...
            0,  # ... or sure to have none
            row[0] in by_customer,
            *by_customer.get(row[0], no_interactions),
        )
        for row in customers
    )


def _chunk_rows(
    customers: QuerySet, interactions: QuerySet, screens: dict[str, signals.Screen]
) -> Iterator[tuple]:
    """One query (PostgreSQL): per customer, their columns, three bit masks (bit i: the
    i-th screen's might_flag is not false, its has_data is true, is false), whether
    they have interactions, then the aggregates (NULL without interactions)."""
    quote = connection.ops.quote_name
    customer = SimpleNamespace(**{name: f"c.{quote(f'c_{name}')}" for name in _CUSTOMER_COLUMNS})
    might_flag, sure_of_data, no_data = [], [], []
    for index, (key, screen) in enumerate(screens.items()):
        aggregate = SimpleNamespace(
            **{
                name.removeprefix(f"{key}__"): f"a.{quote(name)}"
                for name in interactions.query.annotation_select
                if name.startswith(f"{key}__")
            }
        )
        might_flag.append(
            _render(
                f"CASE WHEN ({screen.might_flag}) IS NOT FALSE THEN {1 << index} ELSE 0 END",
                screen.values,
                aggregate,
                customer,
            )
        )
        for masks, test in ((sure_of_data, "IS TRUE"), (no_data, "IS FALSE")):
            masks.append(
                _render(
                    f"CASE WHEN ({screen.has_data}) {test} THEN {1 << index} ELSE 0 END",
                    screen.values,
                    aggregate,
                    customer,
                )
            )
    customers_sql, customers_params = customers.query.sql_with_params()
    interactions_sql, interactions_params = interactions.query.sql_with_params()
    columns = [
        *(customer.__dict__.values()),
        " + ".join(sql for sql, _params in might_flag) or "0",
        " + ".join(sql for sql, _params in sure_of_data) or "0",
        " + ".join(sql for sql, _params in no_data) or "0",
        f"a.{quote('customer_id')} IS NOT NULL",
        *(f"a.{quote(name)}" for name in interactions.query.annotation_select),
    ]
    return _stream_sql(
        f"SELECT {', '.join(columns)} FROM ({customers_sql}) AS c "  # noqa: S608 (quoted names)
        f"LEFT JOIN ({interactions_sql}) AS a ON a.{quote('customer_id')} = c.{quote('c_id')}",
        (
            *(value for _sql, params in might_flag + sure_of_data + no_data for value in params),
            *customers_params,
            *interactions_params,
        ),
    )


def _render(template: str, values: Mapping, aggregate, customer) -> tuple[str, list]:
    """A screen's SQL with its names filled in and its %(name)s values as %s parameters."""
    params = []

    def placeholder(match: re.Match) -> str:
        params.append(values[match[1]])
        return "%s"

    return re.sub(r"%\((\w+)\)s", placeholder, template.format(a=aggregate, c=customer)), params
