"""What a risk run needs before it reads any data: settings, chunks and signal plans.

The admin's settings for every signal, the score thresholds of each level, the id
ranges the customers are split into, and per chunk which signals count for whom
and how (their screen's bit, their slice of the chunk query's row). All of it is
resolved once per run or per chunk, so the per-customer loop in scoring.py only
looks things up.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple

from django.db.models import Max
from django.utils import timezone

from customers.models import Customer, Interaction

from . import signals
from .models import RiskConfig, RiskLevel, SignalSetting

DEFAULT_CHUNK_SIZE = 5000


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


def plan_chunks(chunk_size: int = DEFAULT_CHUNK_SIZE) -> list[tuple[int, int]]:
    """Id ranges [from, to) of about `chunk_size` customers each."""
    ids = list(Customer.objects.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return []
    bounds = ids[::chunk_size] + [ids[-1] + 1]
    return list(zip(bounds[:-1], bounds[1:], strict=False))


def latest_interaction_date() -> date | None:
    latest = Interaction.objects.aggregate(latest=Max("occurred_at"))["latest"]
    return timezone.localdate(latest) if latest else None


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


class _Profile(NamedTuple):
    """The signals that count for onboarding customers, or for the others."""

    plans: list[_Plan]  # with the chunk_facts signals ...
    plans_without_own: list[_Plan]  # ... and without (the customer has no such data)
    screened: int  # the bits of its interaction signals' screens ...
    all_screened: bool  # ... and whether each of them has one


def _profiles(
    config: Configuration,
    bits: dict[str, int],
    own_facts: dict[str, dict],
    layout: dict[str, tuple[tuple[str, ...], int, int]],
) -> dict[bool, _Profile]:
    """The profile of onboarding customers (True) and of the others (False).

    `bits`: each screened signal's bit; `own_facts`: the chunk_facts signals' rows;
    `layout`: each signal's aggregates' names, start and stop in the chunk query's row.
    """
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
    return profiles


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
