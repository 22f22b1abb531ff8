"""Writing a chunk's results: many rows in one statement, and the owners' notices.

The nightly job writes tens of thousands of rows on a first run; row by row, or
through bulk_create's per-field preparation, the writing took longer than the
scoring. Here one INSERT ... ON CONFLICT DO UPDATE per table (PostgreSQL; bulk_create
on SQLite), so a re-run of the same day overwrites rather than duplicates.
"""

from datetime import date
from json import dumps as json_dumps

from django.db import connection, models
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer

from .models import Notification, RiskLevel

# Column order of the tuples scoring.compute_chunk builds.
_RISK_COLUMNS = (
    "customer_id",
    "score",
    "level",
    "flags",
    "base",
    "value",
    "expected_loss",
    "expected_purchase_on",
    "fingerprint",
    "previous_score",
    "computed_for",
    "level_since",
    "snoozed_until",
    "resolution",
    "resolution_reason",
    "resolved_at",
)
_SNAPSHOT_COLUMNS = ("customer_id", "as_of", "score", "level", "contributions", "base")
_EVENT_COLUMNS = (
    "customer_id",
    "kind",
    "occurred_at",
    "from_level",
    "to_level",
    "score",
    "summary",
)


def _write_rows(
    model, columns: tuple[str, ...], rows: list[tuple], *, conflict: tuple[str, ...] = ()
) -> None:
    """Insert rows (tuples in `columns` order); on a conflict over `conflict`, overwrite."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _insert_json(model, columns, rows, conflict=conflict)
        return
    update = {}
    if conflict:
        update = {
            "update_conflicts": True,
            "unique_fields": [model._meta.get_field(c).name for c in conflict],
            "update_fields": [model._meta.get_field(c).name for c in columns if c not in conflict],
        }
    model.objects.bulk_create(
        [model(**dict(zip(columns, row, strict=True))) for row in rows], **update
    )


def _insert_json(
    model, columns: tuple[str, ...], rows: list[tuple], *, conflict: tuple[str, ...]
) -> None:
    """One INSERT ... SELECT (... ON CONFLICT DO UPDATE) for all rows, sent as one JSON array.

    PostgreSQL only. bulk_create prepares every field of every instance in Python and
    psycopg quotes array parameters element by element: for a first run's ~80,000
    rows either took longer than computing them. One json.dumps (C) and one jsonb
    parse on the server cost a few milliseconds; JSON columns nest as they are.
    """
    meta = model._meta
    quote = connection.ops.quote_name
    values = []
    for index, column in enumerate(columns):
        field = meta.get_field(column)  # by column name: customer_id is the FK's attname
        if isinstance(field, models.JSONField):
            values.append(f"row -> {index}")
        else:
            values.append(f"(row ->> {index})::{field.db_type(connection)}")
    updates = ", ".join(
        f"{quote(name)} = EXCLUDED.{quote(name)}" for name in columns if name not in conflict
    )
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608 (names from the model)
        f"SELECT {', '.join(values)} FROM jsonb_array_elements(%s::jsonb) AS row"
    )
    if conflict:
        sql += f" ON CONFLICT ({', '.join(quote(c) for c in conflict)}) DO UPDATE SET {updates}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [json_dumps(rows, default=_json_default)])


def _json_default(value):
    if isinstance(value, date):  # and datetime: ISO 8601, which PostgreSQL casts back
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


_NOTIFICATION_COLUMNS = ("recipient_id", "customer_id", "message", "created_at")
FEW_RISES = 200


def _notify_owners(
    rises: list[tuple[int, int, str]], id_from: int, id_to: int, horizon_days: int
) -> None:
    """An in-app notice to the owner of each customer whose level rose: (id, score, level)."""
    if not rises:
        return
    customers = Customer.objects.filter(owner__isnull=False)
    if len(rises) <= FEW_RISES:
        # A usual night: a few rises per chunk, read by id rather than the whole chunk.
        customers = customers.filter(pk__in=[customer_id for customer_id, _s, _l in rises])
    else:
        # The chunk's owned customers in one range query (an IN list of thousands of ids
        # cost more than the rows).
        customers = customers.filter(pk__gte=id_from, pk__lt=id_to)
    owned = {
        pk: (owner_id, name)
        for pk, owner_id, name in customers.values_list("pk", "owner_id", "name")
    }
    message = _(
        "%(name)s is now at %(level)s risk: %(score)s %% likely to be lost within %(days)s days."
    )
    levels = {level: str(label).lower() for level, label in RiskLevel.choices}
    now = timezone.now()
    rows = []
    for customer_id, score, level in rises:
        if customer_id in owned:
            owner_id, name = owned[customer_id]
            values = {"name": name, "level": levels[level], "score": score, "days": horizon_days}
            rows.append((owner_id, customer_id, message % values, now))
    _write_rows(Notification, _NOTIFICATION_COLUMNS, rows)
