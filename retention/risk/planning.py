"""What a risk run needs before it reads any data: settings, weights, chunks.

The admin's settings for every signal, the probability bands of the levels, the
horizon, the weights in use (the latest applied weight set, or the registry's
defaults) and the id ranges the customers are split into. All of it is resolved
once per run, so the chunk computation only looks things up.
"""

from dataclasses import dataclass, field
from datetime import date

from customers.models import Customer, Interaction

from . import signals
from .models import RiskConfig, RiskLevel, SignalSetting, WeightSet

DEFAULT_CHUNK_SIZE = 5000


@dataclass(frozen=True)
class Weights:
    """Log-odds: the intercept, and what each signal adds at full strength."""

    intercept: float
    by_signal: dict[str, float]
    weight_set_id: int | None = None  # None: the registry's defaults

    @classmethod
    def defaults(cls) -> "Weights":
        return cls(
            DEFAULT_INTERCEPT, {k: s.default_weight for k, s in signals.registered().items()}
        )


# Before any calibration: about 18 % for a customer no signal speaks for or against.
DEFAULT_INTERCEPT = -1.5


@dataclass(frozen=True)
class Configuration:
    params: dict[str, signals.Params]
    medium_from: int  # percent
    high_from: int
    horizon_days: int
    weights: Weights = field(default_factory=Weights.defaults)

    @property
    def counted(self) -> list[str]:
        """The signals that count: enabled, in registry order."""
        return [key for key, params in self.params.items() if params.enabled]


def load_weights() -> Weights:
    applied = (
        WeightSet.objects.filter(status=WeightSet.Status.APPLIED).order_by("-applied_at").first()
    )
    if applied is None:
        return Weights.defaults()
    defaults = Weights.defaults().by_signal
    # A signal registered after the set was learned keeps its default weight.
    return Weights(applied.intercept, {**defaults, **applied.weights}, applied.pk)


def load_configuration(weights: Weights | None = None) -> Configuration:
    """The admin's settings for every registered signal (registry defaults where unset)."""
    saved = {s.key: s for s in SignalSetting.objects.all()}
    params = {}
    for key, signal in signals.registered().items():
        setting = saved.get(key)
        params[key] = (
            signals.Params(float(setting.threshold), setting.window_days, setting.enabled)
            if setting
            else signal.default_params
        )
    config = RiskConfig.load()
    return Configuration(
        params, config.medium_from, config.high_from, config.horizon_days, weights or load_weights()
    )


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
                key=key, threshold=signal.default_threshold, window_days=signal.default_window_days
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


def logged_signals(config: Configuration, as_of: date) -> set[str]:
    """The counted signals whose kind of event the business had logged by `as_of`.

    One EXISTS query per signal that names its kind; a business that never records
    complaints has no complaint data for anyone, rather than a clean record for all.
    """
    end = signals.end_of_day(as_of)
    registry = signals.registered()
    logged = set()
    for key in config.counted:
        condition = registry[key].logged
        if condition is None or Interaction.objects.filter(condition, occurred_at__lt=end).exists():
            logged.add(key)
    return logged
