"""Computing churn risk for customers, a chunk of them at a time.

Per chunk: the features (features.py: two queries, numpy), the probability and its
reasons (model.py), then one INSERT ... ON CONFLICT DO UPDATE for the customers
whose score, reasons or evidence changed, one for their history rows, and the
events and notices of the levels that changed. Nothing is done per customer in
the database; in Python only the changed customers' reasons are put together.

A past date writes only that date's history (RiskSnapshot): never the current
risk, events, notifications or emails. Chunks are independent and the same data
gives the same rows, so re-running a day is harmless.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cached_property

import numpy as np
from django.db import transaction
from django.utils import timezone

from . import features, model, planning
from .events import levels_rose
from .models import LEVEL_RANK, CustomerRisk, RiskEvent, RiskLevel, RiskSnapshot
from .planning import DEFAULT_CHUNK_SIZE, Configuration, load_configuration, plan_chunks
from .signals import Strength, end_of_day
from .writing import (
    _EVENT_COLUMNS,
    _RISK_COLUMNS,
    _SNAPSHOT_COLUMNS,
    _notify_owners,
    _write_rows,
)

LEVELS = (RiskLevel.LOW, RiskLevel.MEDIUM, RiskLevel.HIGH)
# A customer's stored risk is rewritten when their level, reasons or evidence change,
# or their score moves by this many points: a probability drifting by one point a
# night (silence growing) would otherwise rewrite half the customers every night.
MIN_SCORE_CHANGE = 2
_HASH_MULTIPLIERS = (
    np.random.default_rng(20261201).integers(1, 2**62, size=512, dtype=np.uint64) | 1
)


@dataclass
class ChunkScores:
    """A chunk's customers scored: arrays in the order of `features.ids`."""

    features: features.ChunkFeatures
    explained: model.Explained
    levels: np.ndarray  # 0 low, 1 medium, 2 high
    config: Configuration

    @property
    def ids(self) -> np.ndarray:
        return self.features.ids

    @cached_property
    def value(self) -> np.ndarray:
        return self.features.value

    @cached_property
    def expected_loss(self) -> np.ndarray:
        return np.round(self.explained.probability * self.value, 2)

    def fingerprints(self) -> np.ndarray:
        """What is shown of each customer but the score, hashed: level, which signals
        count, their evidence, value, expected purchase. See compute_chunk for the score."""
        columns = [
            self.levels,
            *np.sign(self.explained.points).T,
            np.rint(np.nan_to_num(self.features.expected_purchase, nan=-1)),
            np.rint(self.value),
        ]
        for j, key in enumerate(self.features.keys):
            verdict = self.features.verdicts.get(key)
            if isinstance(verdict, Strength):  # chunk_facts signals: their sign stands in
                # Only the evidence of reasons that are shown: a window sliding past an
                # old purchase changes the evidence of many signals that count for nothing.
                shown = self.explained.points[:, j] != 0
                columns += [
                    np.where(shown, np.rint(np.nan_to_num(c.astype(float), nan=-1) * 10), 0)
                    for c in verdict.evidence.values()
                ]
        matrix = np.column_stack(columns)
        quantised = matrix.astype(np.int64).astype(np.uint64)
        mixed = quantised @ _HASH_MULTIPLIERS[: matrix.shape[1]]
        return (mixed ^ (mixed >> np.uint64(29))).view(np.int64)

    @cached_property
    def _as_lists(self) -> tuple:
        """The chunk's arrays as Python lists, converted once: reading numpy scalars one
        at a time cost more than the rest of writing a changed customer."""
        offset = _local_offset(self.features.chunk.as_of)
        evidence = {}
        for key, verdict in self.features.verdicts.items():
            if isinstance(verdict, Strength):
                evidence[key] = [
                    (name, _evidence_values(column, name in verdict.as_dates, offset))
                    for name, column in verdict.evidence.items()
                ]
        expected = _evidence_values(self.features.expected_purchase, True, offset)
        return (
            self.explained.points.tolist(),
            np.round(self.features.strengths, 2).tolist(),
            evidence,
            expected,
            self.value.tolist(),
            self.expected_loss.tolist(),
            self.explained.score.tolist(),
            self.explained.base.tolist(),
            [LEVELS[level] for level in self.levels.tolist()],
        )

    def reasons(self, i: int) -> list[dict]:
        """Customer i's reasons, largest first: every signal with points (either sign)."""
        points_rows, strength_rows, evidence_columns = self._as_lists[:3]
        reasons = []
        strengths = strength_rows[i]
        for j, points in enumerate(points_rows[i]):
            if not points:
                continue
            key = self.features.keys[j]
            if key in evidence_columns:
                evidence = {name: values[i] for name, values in evidence_columns[key]}
            else:  # a chunk_facts signal: its evidence as the feature gave it
                evidence = dict(self.features.verdicts[key][int(self.ids[i])][1])
            reasons.append(
                {
                    "key": key,
                    "strength": strengths[j],
                    "contribution": points,
                    "flagged": points > 0 and strengths[j] >= 0.5,
                    "evidence": evidence,
                }
            )
        return sorted(reasons, key=lambda r: -r["contribution"])

    def contributions(self, i: int) -> dict[str, int]:
        points_rows = self._as_lists[0]
        return {key: p for key, p in zip(self.features.keys, points_rows[i], strict=True) if p}

    def expected_purchase_on(self, i: int) -> str | None:
        return self._as_lists[3][i]

    @property
    def rows(self) -> tuple[list, list, list, list, list]:
        """Per customer, as Python values: value, expected loss, score, base, level."""
        return self._as_lists[4:]


def _local_offset(as_of: date) -> float:
    """The business's UTC offset on that day, in days (epoch days are UTC)."""
    zone = timezone.get_current_timezone()
    offset = zone.utcoffset(datetime.combine(as_of, time(12)))
    return offset.total_seconds() / 86400 if offset else 0.0


def _evidence_values(column: np.ndarray, is_date: bool, offset: float) -> list:
    """An evidence column as JSON-ready values: ISO local dates, numbers, None for NaN."""
    if column.dtype == bool:
        return column.tolist()
    if is_date:
        days = np.floor(column + offset)
        text = np.where(np.isnan(days), 0, days).astype("datetime64[D]").astype(str).tolist()
        return [
            None if missing else day
            for missing, day in zip(np.isnan(days).tolist(), text, strict=True)
        ]
    rounded = np.round(column.astype(float), 2)
    return [
        None if value != value else int(value) if value.is_integer() else value
        for value in rounded.tolist()
    ]


def assess_chunk(
    as_of: date, id_from: int, id_to: int, config: Configuration, logged: set[str] | None = None
) -> ChunkScores:
    """Score customers with id_from <= id < id_to who were customers on `as_of`.

    Reads only what was known by the end of `as_of`, so a past date gives what the
    model would have said then (backtest, calibration).
    """
    chunk = features.read_chunk(as_of, id_from, id_to, config, logged)
    explained = model.Explained(chunk.strengths, chunk.keys, config.weights)
    return ChunkScores(chunk, explained, model.levels(explained.score, config), config)


@dataclass
class ChunkOutcome:
    seen: int = 0
    changed: int = 0
    rose: int = 0


_CURRENT = (
    "customer_id",
    "fingerprint",
    "score",
    "level",
    "level_since",
    "snoozed_until",
    "resolution",
    "resolution_reason",
    "resolved_at",
)


def is_past(as_of: date) -> bool:
    return as_of < timezone.localdate()


@transaction.atomic
def compute_chunk(
    as_of: date,
    id_from: int,
    id_to: int,
    config: Configuration | None = None,
    logged: set[str] | None = None,
) -> ChunkOutcome:
    """Assess one chunk and write what changed: current risk, history, events, notices."""
    config = config or load_configuration()
    scores = assess_chunk(as_of, id_from, id_to, config, logged)
    day = as_of.isoformat()
    outcome = ChunkOutcome(seen=len(scores.ids))
    if is_past(as_of):
        # A past date: that day's history, complete, and nothing else.
        _write_rows(
            RiskSnapshot,
            _SNAPSHOT_COLUMNS,
            [_snapshot(scores, i, day) for i in range(len(scores.ids))],
            conflict=("customer_id", "as_of"),
        )
        outcome.changed = len(scores.ids)
        return outcome
    current = {
        row[0]: row
        for row in features.fetch_rows(
            CustomerRisk.objects.filter(customer_id__gte=id_from, customer_id__lt=id_to)
            .order_by()
            .values_list(*_CURRENT)
        )
    }
    fingerprints = scores.fingerprints().tolist()
    risks, snapshots, events, rises = [], [], [], []
    event_at = timezone.now()
    ids = scores.ids.tolist()
    scored = set(ids)
    values, losses, score_list, bases, level_list = scores.rows
    for i, customer_id in enumerate(ids):
        old = current.get(customer_id)
        fingerprint = fingerprints[i]
        level, score = level_list[i], score_list[i]
        if (
            old is not None
            and old[1] == fingerprint
            and old[2] is not None
            and abs(score - old[2]) < MIN_SCORE_CHANGE
        ):
            continue  # most customers on most nights: nothing shown has changed
        if old is None:
            old_score, old_level, level_since = None, RiskLevel.LOW, day
            snoozed, resolution, resolution_reason, resolved_at = None, "", "", None
        else:
            _pk, _fp, old_score, old_level, level_since = old[:5]
            snoozed, resolution, resolution_reason, resolved_at = old[5:]
        risen = LEVEL_RANK[level] > LEVEL_RANK[old_level]
        if level != old_level:
            level_since = day
            events.append(_event(customer_id, old_level, level, score, scores, i, event_at))
        if risen:
            # A rise brings a snoozed or resolved customer back into the queue.
            snoozed, resolution, resolution_reason, resolved_at = None, "", "", None
            rises.append((customer_id, score, level))
        if old is None or old_score != score or level != old_level:
            snapshots.append(_snapshot(scores, i, day))
        risks.append(
            (
                customer_id,
                score,
                level,
                scores.reasons(i),
                bases[i],
                values[i],
                losses[i],
                scores.expected_purchase_on(i),
                fingerprint,
                old_score,
                day,
                level_since,
                snoozed,
                resolution,
                resolution_reason,
                resolved_at,
            )
        )
    # Customers no longer scored (churned, archived, leads) drop back to low, no reasons.
    for customer_id, old in current.items():
        if customer_id not in scored and (old[1] != 0 or old[3] != RiskLevel.LOW):
            risks.append(_unscored(customer_id, old, day))
    outcome.changed = len(risks)
    _write_rows(CustomerRisk, _RISK_COLUMNS, risks, conflict=("customer_id",))
    _write_rows(RiskSnapshot, _SNAPSHOT_COLUMNS, snapshots, conflict=("customer_id", "as_of"))
    _write_events(events, id_from, id_to, as_of)
    outcome.rose = len(rises)
    _notify_owners(rises, id_from, id_to, config.horizon_days)
    if rises:
        # In this same transaction: the outreach feature queues the owners' emails.
        levels_rose.send(
            sender=CustomerRisk, rises=[(pk, level) for pk, _s, level in rises], as_of=as_of
        )
    return outcome


def _snapshot(scores: ChunkScores, i: int, day: str) -> tuple:
    _values, _losses, score_list, bases, level_list = scores.rows
    return (
        int(scores.ids[i]),
        day,
        score_list[i],
        level_list[i],
        scores.contributions(i),
        bases[i],
    )


def _event(customer_id, old_level, level, score, scores, i, event_at) -> tuple:
    risen = LEVEL_RANK[level] > LEVEL_RANK[old_level]
    top = [r["key"] for r in scores.reasons(i) if r["flagged"]]
    return (
        customer_id,
        RiskEvent.Kind.LEVEL_UP if risen else RiskEvent.Kind.LEVEL_DOWN,
        event_at,
        old_level,
        level,
        score,
        "; ".join(top),
    )


def _unscored(customer_id: int, old: tuple, day: str) -> tuple:
    _pk, _fp, old_score, _level, _since, snoozed, resolution, reason, resolved_at = old
    return (
        customer_id, None, RiskLevel.LOW, [], 0, 0, 0, None, 0, old_score, day, day,
        snoozed, resolution, reason, resolved_at,
    )  # fmt: skip


def _write_events(events: list[tuple], id_from: int, id_to: int, as_of: date) -> None:
    """Level changes as timeline events; a day re-run adds no second event for one change."""
    if not events:
        return
    already = set(
        RiskEvent.objects.filter(
            customer_id__gte=id_from,
            customer_id__lt=id_to,
            kind__in=[RiskEvent.Kind.LEVEL_UP, RiskEvent.Kind.LEVEL_DOWN],
            occurred_at__gte=end_of_day(as_of) - timedelta(days=1),
        ).values_list("customer_id", "to_level")
    )
    _write_rows(RiskEvent, _EVENT_COLUMNS, [e for e in events if (e[0], e[4]) not in already])


def compute_all(as_of: date, chunk_size: int = DEFAULT_CHUNK_SIZE) -> ChunkOutcome:
    """Every chunk, one after the other, in this process (command, tests, bench)."""
    config = load_configuration()
    logged = planning.logged_signals(config, as_of)
    total = ChunkOutcome()
    for id_from, id_to in plan_chunks(chunk_size):
        outcome = compute_chunk(as_of, id_from, id_to, config, logged)
        total.seen += outcome.seen
        total.changed += outcome.changed
        total.rose += outcome.rose
    return total
