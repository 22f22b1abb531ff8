"""Computing churn risk for customers, a chunk of them at a time.

Per chunk (a range of customer ids): one query for the customers, one GROUP BY
over their interactions with every signal's aggregates, a pure-Python scoring
step, then one INSERT ... ON CONFLICT DO UPDATE for the rows whose score or
flags changed and one for their history rows. Nothing is done per customer in
the database, chunks are independent (several workers can take them), and the
same data gives the same rows, so re-running a day is harmless.

Here: assessing a chunk and deciding what changed. What a run needs first is in
planning.py, the reading of a chunk in fetching.py, the writing in writing.py.
"""

from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta
from json import loads as json_loads
from types import MappingProxyType
from typing import NamedTuple

from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer

from . import signals
from .events import levels_rose
from .fetching import (
    _HAS_INTERACTIONS,
    _aggregates,
    _chunk_queries,
    _chunk_rows,
    _fetch,
    _unscreened_rows,
)
from .models import LEVEL_RANK, CustomerRisk, RiskEvent, RiskLevel, RiskSnapshot
from .planning import (
    DEFAULT_CHUNK_SIZE,
    Configuration,
    _profiles,
    _screens,
    level_for,
    load_configuration,
    plan_chunks,
)
from .signals import end_of_day
from .writing import (
    _EVENT_COLUMNS,
    _RISK_COLUMNS,
    _SNAPSHOT_COLUMNS,
    _notify_owners,
    _write_rows,
)


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


def assess_chunk(
    as_of: date, id_from: int, id_to: int, config: Configuration, *, screened: bool = True
) -> list[Assessment]:
    """Assess customers with id_from <= id < id_to who existed on `as_of`.

    Reads only interactions up to the end of `as_of`, so a past date gives a
    backtest of what the flags would have said then. On PostgreSQL the signals'
    screens (see signals.Screen) spare Python the signals that cannot flag a
    customer; `screened=False` evaluates everything (the tests compare both).
    Customers are scored as their rows arrive, while the database is still
    computing the rest of the chunk (see fetching._stream_sql).
    """
    end = end_of_day(as_of)
    registry = signals.registered()
    aggregates, layout = _aggregates(registry, config, end)
    customers, interactions = _chunk_queries(id_from, id_to, end, aggregates)
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
        rows = _unscreened_rows(customers, interactions, len(aggregates))
    # A customer missing from a signal's own data has no data for it (see
    # signals.ChunkFacts): most customers are in none of them (no survey answer, no
    # onboarding, no email), and plans_without_own leaves those signals out.
    with_own = set().union(*own_facts.values())
    profiles = _profiles(config, bits, own_facts, layout)
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
