"""Computing churn risk for customers, a chunk of them at a time.

Per chunk (a range of customer ids): one query for the customers, one GROUP BY
over their interactions with every signal's aggregates, a pure-Python scoring
step, then one INSERT ... ON CONFLICT DO UPDATE for the rows whose score or
flags changed and one for their history rows. Nothing is done per customer in
the database, chunks are independent (several workers can take them), and the
same data gives the same rows, so re-running a day is harmless.
"""

import re
from collections.abc import Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from json import dumps as json_dumps
from json import loads as json_loads
from types import MappingProxyType, SimpleNamespace
from typing import NamedTuple

from django.db import connection, models, transaction
from django.db.models import F, Max, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Interaction

from . import signals
from .events import levels_rose
from .models import (
    LEVEL_RANK,
    CustomerRisk,
    Notification,
    RiskConfig,
    RiskEvent,
    RiskLevel,
    RiskSnapshot,
    SignalSetting,
)
from .signals import end_of_day

DEFAULT_CHUNK_SIZE = 5000


# Named tuples rather than dataclasses: the nightly job makes one Assessment per
# customer (~100,000), and a frozen dataclass costs several times more to build.
class FlagResult(NamedTuple):
    key: str
    weight: int
    contribution: float
    evidence: dict

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "weight": self.weight,
            "contribution": self.contribution,
            "evidence": self.evidence,
        }


class Assessment(NamedTuple):
    customer_id: int
    score: int | None
    level: str
    flags: list[FlagResult] = []  # noqa: RUF012 (never mutated: each assessment builds its own)

    @property
    def flags_json(self) -> list[dict]:
        return [flag.as_json() for flag in self.flags]

    @property
    def contributions(self) -> dict[str, float]:
        return {flag.key: flag.contribution for flag in self.flags}


@dataclass(frozen=True)
class Configuration:
    params: dict[str, signals.Params]
    medium_from: int
    high_from: int


def load_configuration() -> Configuration:
    """The admin's settings for every registered signal (registry defaults where unset)."""
    saved = {s.key: s for s in SignalSetting.objects.all()}
    params = {}
    for key, signal in signals.registered().items():
        setting = saved.get(key)
        params[key] = (
            signals.Params(
                setting.weight,
                setting.onboarding_weight,
                setting.threshold,
                setting.window_days,
                setting.enabled,
            )
            if setting
            else signal.default_params
        )
    config = RiskConfig.load()
    return Configuration(params, config.medium_from, config.high_from)


def level_for(score: int | None, config: Configuration) -> str:
    if score is None:
        return RiskLevel.LOW
    if score >= config.high_from:
        return RiskLevel.HIGH
    if score >= config.medium_from:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


class _Plan(NamedTuple):
    """One signal as a chunk evaluates it, resolved once per chunk, not per customer."""

    key: str
    signal: signals.Signal
    evaluate: signals.Evaluator
    params: signals.Params
    weight: int
    bit: int  # its screen's bit in the chunk query's masks; 0: no screen, evaluate
    own_facts: dict | None  # a chunk_facts signal's rows; None: facts from the aggregates
    names: tuple[str, ...]  # its aggregates' names ...
    start: int  # ... and where they are in the chunk query's row
    stop: int


def _finish(
    customer_id: int, total_weight: int, flagged: list[tuple], config: Configuration
) -> Assessment:
    """The score and level from the weights of the signals with data and the flags."""
    if total_weight == 0:
        return Assessment(customer_id, None, RiskLevel.LOW)
    if not flagged:
        return Assessment(customer_id, 0, level_for(0, config))
    flags = [
        FlagResult(
            signal.key,
            weight,
            round(100 * weight / total_weight, 1),
            evidence if type(evidence) is dict else dict(evidence),  # e.g. a MappingProxy
        )
        for signal, weight, evidence in flagged
    ]
    score = round(sum(flag.contribution for flag in flags))
    level = level_for(score, config)
    for signal, _weight, _evidence in flagged:
        if signal.forces_level and LEVEL_RANK[signal.forces_level] > LEVEL_RANK[level]:
            level = signal.forces_level
    return Assessment(customer_id, score, level, flags)


NO_FACTS = MappingProxyType({})


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


class _Profile(NamedTuple):
    """The signals that count for onboarding customers, or for the others."""

    plans: list[_Plan]  # with the chunk_facts signals ...
    plans_without_own: list[_Plan]  # ... and without (the customer has no such data)
    screened: int  # the bits of its interaction signals' screens ...
    all_screened: bool  # ... and whether each of them has one


def assess_chunk(
    as_of: date, id_from: int, id_to: int, config: Configuration, *, screened: bool = True
) -> list[Assessment]:
    """Assess customers with id_from <= id < id_to who existed on `as_of`.

    Reads only interactions up to the end of `as_of`, so a past date gives a
    backtest of what the flags would have said then. On PostgreSQL the signals'
    screens (see signals.Screen) spare Python the signals that cannot flag a
    customer; `screened=False` evaluates everything (the tests compare both).
    Customers are scored as their rows arrive, while the database is still
    computing the rest of the chunk (see _stream_sql).
    """
    end = end_of_day(as_of)
    registry = signals.registered()
    # Every signal's aggregates side by side in one row per customer; a signal's
    # facts are its slice of that row, zipped with its names.
    aggregates = {}
    layout = {}  # key -> (names, start, stop)
    for key, signal in registry.items():
        names = tuple(signal.aggregates(config.params[key], end).items())
        start = _FIRST_AGGREGATE + len(aggregates)
        for name, expression in names:
            aggregates[f"{key}__{name}"] = expression
        layout[key] = (tuple(name for name, _expression in names), start, start + len(names))
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
    # Signals with their own data source (e.g. onboarding checklists): one query each,
    # before the chunk query, which keeps the connection busy while its rows stream in.
    own_facts = {
        key: signal.chunk_facts(id_from, id_to, as_of, config.params[key])
        for key, signal in registry.items()
        if signal.chunk_facts is not None
    }
    bits = {}
    if screened and connection.vendor == "postgresql":
        screens = _screens(config, as_of, end)
        bits = {key: 1 << index for index, key in enumerate(screens)}
        rows = _chunk_rows(customers, interactions, screens)
    else:  # SQLite (whose raw rows are text, not dates) or unscreened: Python decides all
        by_customer = {row[0]: row[1:] for row in interactions}
        no_interactions = (None,) * len(aggregates)
        rows = (
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
    # A customer missing from a signal's own data has no data for it (see
    # signals.ChunkFacts): most customers are in none of them (no survey answer, no
    # onboarding, no email), and plans_without_own leaves those signals out.
    with_own = set().union(*own_facts.values())
    profiles = {}
    for onboarding in (False, True):
        plans = [
            _Plan(
                key,
                signal,
                signal.evaluate,
                params,
                weight,
                bits.get(key, 0),
                own_facts.get(key),
                *layout[key],
            )
            for key, signal, params, weight in _counted(config, onboarding=onboarding)
        ]
        over_interactions = [plan for plan in plans if plan.signal.chunk_facts is None]
        profiles[onboarding] = _Profile(
            plans,
            over_interactions,
            sum(plan.bit for plan in over_interactions),
            all(plan.bit for plan in over_interactions),
        )
    onboarding_status = Customer.Status.ONBOARDING
    zone = timezone.get_current_timezone()
    make_facts = tuple.__new__  # Facts without the keyword-handling constructor
    Facts = signals.Facts
    quiet_level = level_for(0, config)
    assessments = []
    # Closed on the way out, also on an error: a half-read COPY blocks the connection.
    with closing(rows):
        for row in rows:
            pk, status, customer_since, created_on, renewal_date = row[:5]
            might_flag, sure_of_data, no_data = row[5:_HAS_INTERACTIONS]
            profile = profiles[status == onboarding_status]
            if pk in with_own:
                plans = profile.plans
            elif (
                profile.all_screened
                and not might_flag & profile.screened
                and sure_of_data & profile.screened
            ):
                # Most customers: no signal could flag them and one has data. Score 0.
                assessments.append(Assessment(pk, 0, quiet_level))
                continue
            else:
                plans = profile.plans_without_own
            has_interactions = row[_HAS_INTERACTIONS]
            total_weight = 0
            flagged = []
            for plan in plans:
                if plan.bit and not might_flag & plan.bit:
                    # Its screen says it cannot flag them, and ...
                    if sure_of_data & plan.bit:
                        total_weight += plan.weight  # ... has data: counted, healthy
                        continue
                    if no_data & plan.bit:
                        continue  # ... has none: left out
                if plan.own_facts is not None:
                    aggregates = plan.own_facts.get(pk)
                    if aggregates is None:
                        continue  # no row in the feature's own data: no data
                elif has_interactions:
                    aggregates = dict(zip(plan.names, row[plan.start : plan.stop]))  # noqa: B905
                else:
                    aggregates = NO_FACTS
                finding = plan.evaluate(
                    make_facts(
                        Facts,
                        (
                            pk,
                            status,
                            customer_since,
                            created_on,
                            renewal_date,
                            as_of,
                            aggregates,
                            zone,
                        ),
                    ),
                    plan.params,
                )
                if finding is None:
                    continue  # no data: left out, the others re-normalised
                total_weight += plan.weight
                if finding.flagged:
                    flagged.append((plan.signal, plan.weight, finding.evidence))
            assessments.append(_finish(pk, total_weight, flagged, config))
    return assessments


def _counted(config: Configuration, *, onboarding: bool) -> list[tuple]:
    """(key, signal, params, weight) of the signals that count for a profile, in order.

    A weight of 0 or a disabled signal leaves the signal out, as if it had no data.
    """
    counted = []
    for key, signal in signals.registered().items():
        params = config.params[key]
        weight = params.onboarding_weight if onboarding else params.weight
        if params.enabled and weight:
            counted.append((key, signal, params, weight))
    return counted


def _screens(config: Configuration, as_of: date, end: datetime) -> dict[str, signals.Screen]:
    """Tonight's screen of each signal over interactions that has one, in registry order."""
    return {
        key: signal.screen(config.params[key], as_of, end)
        for key, signal in signals.registered().items()
        if signal.screen is not None and signal.chunk_facts is None
    }


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


@dataclass
class ChunkOutcome:
    seen: int = 0
    changed: int = 0
    rose: int = 0


# The stored state a new assessment is compared with, read as plain tuples (no models).
_CURRENT = (
    "customer_id",
    "score",
    "level",
    "flags",
    "computed_for",
    "level_since",
    "snoozed_until",
    "resolution",
    "resolution_reason",
    "resolved_at",
)


@transaction.atomic
def compute_chunk(
    as_of: date, id_from: int, id_to: int, config: Configuration | None = None
) -> ChunkOutcome:
    """Assess one chunk and write what changed: current risk, history, events, notices."""
    config = config or load_configuration()
    current = {
        row[0]: row
        for row in _fetch(
            CustomerRisk.objects.filter(customer_id__gte=id_from, customer_id__lt=id_to)
            .order_by()
            .values_list(*_CURRENT)
        )
    }
    assessments = assess_chunk(as_of, id_from, id_to, config)
    scored_ids = {a.customer_id for a in assessments}
    # Customers no longer scored (churned, archived, leads) drop back to low with no flags.
    for customer_id, row in current.items():
        if customer_id not in scored_ids and (_stored(row[3]) or row[2] != RiskLevel.LOW):
            assessments.append(Assessment(customer_id, None, RiskLevel.LOW))

    event_at = (
        end_of_day(as_of) - timedelta(microseconds=1)
        if as_of < timezone.localdate()
        else timezone.now()
    )
    outcome = ChunkOutcome(seen=len(scored_ids))
    # The day as ISO text in the rows written: json.dumps calls its Python `default`
    # for every date object (~250,000 on a first run), and the ORM path parses it back.
    day = as_of.isoformat()
    risks, snapshots, events, rises = [], [], [], []
    for assessment in assessments:
        customer_id, score, level = assessment.customer_id, assessment.score, assessment.level
        flags = assessment.flags_json if assessment.flags else []
        old = current.get(customer_id)
        if old is None:
            old_score, old_level, level_since = None, RiskLevel.LOW, day
            snoozed_until, resolution, resolution_reason, resolved_at = None, "", "", None
        else:
            (
                _pk,
                old_score,
                old_level,
                old_flags,
                computed_for,
                level_since,
                snoozed_until,
                resolution,
                resolution_reason,
                resolved_at,
            ) = old
            if computed_for > as_of:
                # A newer day is already stored: a backfill of a past day writes history only.
                snapshots.append((customer_id, day, score, level, assessment.contributions))
                continue
            if old_flags == "[]" and not assessment.flags:  # most customers: no flags
                if old_score == score and old_level == level:
                    continue  # unchanged: nothing to write, nothing serialised
                old_flags = []
            else:
                old_flags = _stored(old_flags)
                if old_score == score and old_level == level and old_flags == flags:
                    continue
        # History: a row when the score, level or what drove it changed; not when only
        # evidence moved on (a flagged customer's "days since" grows every night).
        if (
            old is None
            or old_score != score
            or old_level != level
            or {flag["key"]: flag["contribution"] for flag in old_flags} != assessment.contributions
        ):
            snapshots.append((customer_id, day, score, level, assessment.contributions))
        outcome.changed += 1
        risen = LEVEL_RANK[level] > LEVEL_RANK[old_level]
        level_changed = level != old_level
        if level_changed:
            level_since = day
        if risen:
            # A rise brings a snoozed or resolved customer back into the queue.
            snoozed_until, resolution, resolution_reason, resolved_at = None, "", "", None
        risks.append(
            (
                customer_id,
                score,
                level,
                flags,
                old_score,
                day,
                level_since,
                snoozed_until,
                resolution,
                resolution_reason,
                resolved_at,
            )
        )
        if level_changed:
            events.append(
                (
                    customer_id,
                    RiskEvent.Kind.LEVEL_UP if risen else RiskEvent.Kind.LEVEL_DOWN,
                    event_at,
                    old_level,
                    level,
                    score,
                    "; ".join(flag.key for flag in assessment.flags),
                )
            )
            if risen:
                rises.append(assessment)
    _write_rows(CustomerRisk, _RISK_COLUMNS, risks, conflict=("customer_id",))
    _write_rows(RiskSnapshot, _SNAPSHOT_COLUMNS, snapshots, conflict=("customer_id", "as_of"))
    # A day re-run must not add a second event for the same change.
    if events:
        already = set(
            RiskEvent.objects.filter(
                customer_id__gte=id_from,
                customer_id__lt=id_to,
                kind__in=[RiskEvent.Kind.LEVEL_UP, RiskEvent.Kind.LEVEL_DOWN],
                occurred_at__date=as_of,
            ).values_list("customer_id", "to_level")
        )
        _write_rows(RiskEvent, _EVENT_COLUMNS, [e for e in events if (e[0], e[4]) not in already])
    outcome.rose = len(rises)
    _notify_owners(rises, id_from, id_to)
    if rises:
        # In this same transaction: the outreach feature queues the owners' emails.
        levels_rose.send(
            sender=CustomerRisk, rises=[(a.customer_id, a.level) for a in rises], as_of=as_of
        )
    return outcome


def _stored(flags: list | str) -> list:
    """Stored flags as a list (_fetch reads jsonb on PostgreSQL as its text)."""
    return json_loads(flags) if isinstance(flags, str) else flags


# Column order of the tuples compute_chunk builds.
_RISK_COLUMNS = (
    "customer_id",
    "score",
    "level",
    "flags",
    "previous_score",
    "computed_for",
    "level_since",
    "snoozed_until",
    "resolution",
    "resolution_reason",
    "resolved_at",
)
_SNAPSHOT_COLUMNS = ("customer_id", "as_of", "score", "level", "contributions")


_EVENT_COLUMNS = (
    "customer_id",
    "kind",
    "occurred_at",
    "from_level",
    "to_level",
    "score",
    "summary",
)
_NOTIFICATION_COLUMNS = ("recipient_id", "customer_id", "message", "created_at")


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


FEW_RISES = 200


def _notify_owners(rises: list[Assessment], id_from: int, id_to: int) -> None:
    if not rises:
        return
    customers = Customer.objects.filter(owner__isnull=False)
    if len(rises) <= FEW_RISES:
        # A usual night: a few rises per chunk, read by id rather than the whole chunk.
        customers = customers.filter(pk__in=[a.customer_id for a in rises])
    else:
        # The chunk's owned customers in one range query (an IN list of thousands of ids
        # cost more than the rows).
        customers = customers.filter(pk__gte=id_from, pk__lt=id_to)
    owned = {
        pk: (owner_id, name)
        for pk, owner_id, name in customers.values_list("pk", "owner_id", "name")
    }
    message = _("%(name)s is now at %(level)s risk (score %(score)s).")
    levels = {level: str(label).lower() for level, label in RiskLevel.choices}
    now = timezone.now()
    rows = []
    for a in rises:
        if a.customer_id in owned:
            owner_id, name = owned[a.customer_id]
            text = message % {"name": name, "level": levels[a.level], "score": a.score}
            rows.append((owner_id, a.customer_id, text, now))
    _write_rows(Notification, _NOTIFICATION_COLUMNS, rows)


def plan_chunks(chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[tuple[int, int]]:
    """Id ranges [from, to) of about `chunk_size` customers each."""
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return []
    bounds = ids[::chunk_size] + [ids[-1] + 1]
    return list(zip(bounds[:-1], bounds[1:], strict=False))


def compute_all(as_of: date, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ChunkOutcome:
    """Every chunk, one after the other, in this process (command, tests, bench)."""
    config = load_configuration()
    total = ChunkOutcome()
    for id_from, id_to in plan_chunks(chunk_size):
        outcome = compute_chunk(as_of, id_from, id_to, config)
        total.seen += outcome.seen
        total.changed += outcome.changed
        total.rose += outcome.rose
    return total


def latest_interaction_date() -> date | None:
    latest = Interaction.objects.aggregate(latest=Max("occurred_at"))["latest"]
    return timezone.localdate(latest) if latest else None


def ensure_signal_settings() -> None:
    """Give every registered signal an editable settings row with its defaults."""
    existing = set(SignalSetting.objects.values_list("key", flat=True))
    SignalSetting.objects.bulk_create(
        [
            SignalSetting(
                key=key,
                weight=signal.default_weight,
                onboarding_weight=signal.default_onboarding_weight,
                threshold=signal.default_threshold,
                window_days=signal.default_window_days,
            )
            for key, signal in signals.registered().items()
            if key not in existing
        ],
        ignore_conflicts=True,
    )
    RiskConfig.load()
