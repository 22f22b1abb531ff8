"""Computing churn risk for customers, a chunk of them at a time.

Per chunk (a range of customer ids): one query for the customers, one GROUP BY
over their interactions with every signal's aggregates, a pure-Python scoring
step, then one INSERT ... ON CONFLICT DO UPDATE for the rows whose score or
flags changed and one for their history rows. Nothing is done per customer in
the database, chunks are independent (several workers can take them), and the
same data gives the same rows, so re-running a day is harmless.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Interaction

from . import followups, signals
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

DEFAULT_CHUNK_SIZE = 5000


@dataclass(frozen=True)
class FlagResult:
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


@dataclass(frozen=True)
class Assessment:
    customer_id: int
    score: int | None
    level: str
    flags: list[FlagResult] = field(default_factory=list)
    signals_with_data: tuple[str, ...] = ()

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


def end_of_day(as_of: date) -> datetime:
    """Data "as of" a date includes that whole day in the business's time zone."""
    return timezone.make_aware(datetime.combine(as_of + timedelta(days=1), time.min))


def level_for(score: int | None, config: Configuration) -> str:
    if score is None:
        return RiskLevel.LOW
    if score >= config.high_from:
        return RiskLevel.HIGH
    if score >= config.medium_from:
        return RiskLevel.MEDIUM
    return RiskLevel.LOW


def assess(
    facts_by_signal: dict[str, signals.Facts], status: str, config: Configuration
) -> Assessment:
    """Score one customer from each signal's facts (pure: no database)."""
    customer_id = next(iter(facts_by_signal.values())).customer_id
    onboarding = status == Customer.Status.ONBOARDING
    total_weight = 0
    flagged: list[tuple[signals.Signal, int, dict]] = []
    with_data = []
    for key, signal in signals.registered().items():
        params = config.params[key]
        weight = params.onboarding_weight if onboarding else params.weight
        if not params.enabled or weight == 0:
            continue
        finding = signal.evaluate(facts_by_signal[key], params)
        if finding is None:
            continue  # no data: left out, the others re-normalised
        with_data.append(key)
        total_weight += weight
        if finding.flagged:
            flagged.append((signal, weight, finding.evidence))
    if total_weight == 0:
        return Assessment(customer_id, None, RiskLevel.LOW)
    flags = [
        FlagResult(signal.key, weight, round(100 * weight / total_weight, 1), evidence)
        for signal, weight, evidence in flagged
    ]
    score = round(sum(flag.contribution for flag in flags))
    level = level_for(score, config)
    for signal, _weight, _evidence in flagged:
        if signal.forces_level and LEVEL_RANK[signal.forces_level] > LEVEL_RANK[level]:
            level = signal.forces_level
    return Assessment(customer_id, score, level, flags, tuple(with_data))


def assess_chunk(as_of: date, id_from: int, id_to: int, config: Configuration) -> list[Assessment]:
    """Assess customers with id_from <= id < id_to who existed on `as_of`.

    Reads only interactions up to the end of `as_of`, so a past date gives a
    backtest of what the flags would have said then.
    """
    end = end_of_day(as_of)
    customers = list(
        Customer.objects.filter(
            pk__gte=id_from,
            pk__lt=id_to,
            created_at__lt=end,
            archived_at__isnull=True,
            status__in=signals.SCORED_STATUSES,
        ).values_list("pk", "status", "customer_since", "created_at", "renewal_date")
    )
    if not customers:
        return []
    registry = signals.registered()
    aggregates = {}
    for key, signal in registry.items():
        for name, expression in signal.aggregates(config.params[key], end).items():
            aggregates[f"{key}__{name}"] = expression
    rows = (
        Interaction.objects.filter(
            customer_id__gte=id_from, customer_id__lt=id_to, occurred_at__lt=end
        )
        .values("customer_id")
        .order_by()
        .annotate(**aggregates)
    )
    facts_by_customer = {row.pop("customer_id"): row for row in rows}
    # Signals with their own data source (e.g. onboarding checklists): one query each.
    own_facts = {
        key: signal.chunk_facts(id_from, id_to, as_of, config.params[key])
        for key, signal in registry.items()
        if signal.chunk_facts is not None
    }
    assessments = []
    for pk, status, customer_since, created_at, renewal_date in customers:
        row = facts_by_customer.get(pk, {})
        facts = {
            key: signals.Facts(
                customer_id=pk,
                status=status,
                customer_since=customer_since,
                created_on=timezone.localdate(created_at),
                renewal_date=renewal_date,
                as_of=as_of,
                aggregates=own_facts[key].get(pk, {})
                if key in own_facts
                else {
                    name.split("__", 1)[1]: value
                    for name, value in row.items()
                    if name.startswith(f"{key}__")
                },
            )
            for key in registry
        }
        assessments.append(assess(facts, status, config))
    return assessments


@dataclass
class ChunkOutcome:
    seen: int = 0
    changed: int = 0
    rose: int = 0


@transaction.atomic
def compute_chunk(
    as_of: date, id_from: int, id_to: int, config: Configuration | None = None
) -> ChunkOutcome:
    """Assess one chunk and write what changed: current risk, history, events, notices."""
    config = config or load_configuration()
    assessments = assess_chunk(as_of, id_from, id_to, config)
    scored_ids = {a.customer_id for a in assessments}
    current = {
        risk.customer_id: risk
        for risk in CustomerRisk.objects.filter(customer_id__gte=id_from, customer_id__lt=id_to)
    }
    # Customers no longer scored (churned, archived, leads) drop back to low with no flags.
    for customer_id, risk in current.items():
        if customer_id not in scored_ids and (risk.flags or risk.level != RiskLevel.LOW):
            assessments.append(Assessment(customer_id, None, RiskLevel.LOW))

    now = timezone.now()
    outcome = ChunkOutcome(seen=len(scored_ids))
    to_write, snapshots, events, rises = [], [], [], []
    for assessment in assessments:
        old = current.get(assessment.customer_id)
        snapshot = RiskSnapshot(
            customer_id=assessment.customer_id,
            as_of=as_of,
            score=assessment.score,
            level=assessment.level,
            contributions=assessment.contributions,
        )
        if old and old.computed_for > as_of:
            # A newer day is already stored: a backfill of a past day writes history only.
            snapshots.append(snapshot)
            continue
        unchanged = (
            old is not None
            and old.score == assessment.score
            and old.level == assessment.level
            and old.flags == assessment.flags_json
        )
        if unchanged:
            continue
        outcome.changed += 1
        old_level = old.level if old else RiskLevel.LOW
        risen = LEVEL_RANK[assessment.level] > LEVEL_RANK[old_level]
        level_changed = assessment.level != old_level
        risk = CustomerRisk(
            customer_id=assessment.customer_id,
            score=assessment.score,
            level=assessment.level,
            flags=assessment.flags_json,
            previous_score=old.score if old else None,
            computed_for=as_of,
            level_since=as_of if (level_changed or old is None) else old.level_since,
            # A rise brings a snoozed or resolved customer back into the queue.
            snoozed_until=None if risen else (old.snoozed_until if old else None),
            resolution="" if risen else (old.resolution if old else ""),
            resolution_reason="" if risen else (old.resolution_reason if old else ""),
            resolved_at=None if risen else (old.resolved_at if old else None),
            last_outreach_at=old.last_outreach_at if old else None,
        )
        to_write.append(risk)
        snapshots.append(snapshot)
        if level_changed:
            events.append(
                RiskEvent(
                    customer_id=assessment.customer_id,
                    kind=RiskEvent.Kind.LEVEL_UP if risen else RiskEvent.Kind.LEVEL_DOWN,
                    occurred_at=end_of_day(as_of) - timedelta(microseconds=1)
                    if as_of < timezone.localdate()
                    else now,
                    from_level=old_level,
                    to_level=assessment.level,
                    score=assessment.score,
                    summary="; ".join(flag.key for flag in assessment.flags),
                )
            )
            if risen:
                rises.append(assessment)
    _upsert(to_write, snapshots)
    # A day re-run must not add a second event for the same change.
    if events:
        already = set(
            RiskEvent.objects.filter(
                customer_id__in=[e.customer_id for e in events],
                kind__in=[RiskEvent.Kind.LEVEL_UP, RiskEvent.Kind.LEVEL_DOWN],
                occurred_at__date=as_of,
            ).values_list("customer_id", "to_level")
        )
        RiskEvent.objects.bulk_create(
            [e for e in events if (e.customer_id, e.to_level) not in already]
        )
    outcome.rose = len(rises)
    _notify_owners(rises)
    # The owner's email about the rise, queued in this same transaction (issue 3 → 4).
    followups.queue_owner_notices([(a.customer_id, a.level) for a in rises], as_of=as_of)
    return outcome


def _upsert(risks: list[CustomerRisk], snapshots: list[RiskSnapshot]) -> None:
    if risks:
        CustomerRisk.objects.bulk_create(
            risks,
            update_conflicts=True,
            unique_fields=["customer"],
            update_fields=[
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
            ],
        )
    if snapshots:
        RiskSnapshot.objects.bulk_create(
            snapshots,
            update_conflicts=True,
            unique_fields=["customer", "as_of"],
            update_fields=["score", "level", "contributions"],
        )


def _notify_owners(rises: list[Assessment]) -> None:
    if not rises:
        return
    owners = dict(
        Customer.objects.filter(
            pk__in=[a.customer_id for a in rises], owner__isnull=False
        ).values_list("pk", "owner_id")
    )
    names = dict(Customer.objects.filter(pk__in=owners).values_list("pk", "name"))
    levels = dict(RiskLevel.choices)
    Notification.objects.bulk_create(
        Notification(
            recipient_id=owners[a.customer_id],
            customer_id=a.customer_id,
            message=_("%(name)s is now at %(level)s risk (score %(score)s).")
            % {"name": names[a.customer_id], "level": levels[a.level].lower(), "score": a.score},
        )
        for a in rises
        if a.customer_id in owners
    )


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
