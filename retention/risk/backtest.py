"""Backtesting: on a past date, would the model have found the customers who then left?

For a past date and a horizon: every customer as they were then (features.py reads
only what was known by that day), their probability, and whether they were lost
within the horizon: churned, or, without a contract (no plan, no renewal date), no
activity at all in the horizon. The figures (see `figures`): ROC AUC, precision
and lift of the riskiest 10 % and 20 %, a calibration table per tenth, per-signal
lift, and the same for a plain baseline, days since the last contact. Nothing is
written.
"""

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from sklearn.metrics import roc_auc_score

from customers.models import Customer, Interaction

from . import planning, scoring
from .events import backtest_started
from .history import ACTIVITY
from .models import Backtest
from .signals import end_of_day

MIN_CUSTOMERS = 50  # fewer with an outcome and the figures say nothing


@dataclass
class Sample:
    """Customers on one past date: strengths, probability, baseline and outcome."""

    as_of: date
    keys: list[str]
    strengths: np.ndarray
    probability: np.ndarray
    baseline: np.ndarray  # days since the last contact
    lost: np.ndarray  # bool

    @classmethod
    def empty(cls, as_of: date, keys: list[str]) -> "Sample":
        return cls(as_of, keys, np.empty((0, len(keys))), *(np.empty(0) for _ in range(2)),
                   np.empty(0, dtype=bool))  # fmt: skip

    def __len__(self) -> int:
        return len(self.lost)


def lost_within(
    ids: np.ndarray, has_contract: np.ndarray, as_of: date, horizon_days: int, id_range: tuple
) -> np.ndarray:
    """Whether each customer was lost within the horizon after `as_of` (two queries)."""
    id_from, id_to = id_range
    start = end_of_day(as_of)
    churned = set(
        Customer.objects.filter(
            pk__gte=id_from,
            pk__lt=id_to,
            churned_on__gt=as_of,
            churned_on__lte=as_of + timedelta(days=horizon_days),
        ).values_list("pk", flat=True)
    )
    active = set(
        Interaction.objects.filter(
            ACTIVITY,
            Q(occurred_at__gte=start) & Q(occurred_at__lt=start + timedelta(days=horizon_days)),
            customer_id__gte=id_from,
            customer_id__lt=id_to,
        )
        .values_list("customer_id", flat=True)
        .distinct()
    )
    ids_list = ids.tolist()
    was_churned = np.fromiter((pk in churned for pk in ids_list), dtype=bool, count=len(ids))
    went_silent = np.fromiter((pk not in active for pk in ids_list), dtype=bool, count=len(ids))
    return was_churned | (~has_contract.astype(bool) & went_silent)


def sample(
    as_of: date,
    horizon_days: int,
    config: planning.Configuration,
    chunks: list[tuple[int, int]] | None = None,
    on_chunk=None,
) -> Sample:
    """Every customer on `as_of` with the model's view of them then and what happened."""
    logged = planning.logged_signals(config, as_of)
    parts = []
    for id_range in chunks if chunks is not None else planning.plan_chunks():
        scores = scoring.assess_chunk(as_of, *id_range, config, logged)
        chunk = scores.features
        lost = lost_within(chunk.ids, chunk.chunk["has_contract"], as_of, horizon_days, id_range)
        parts.append(
            (chunk.strengths, scores.explained.probability, chunk.days_since_contact, lost)
        )
        if on_chunk:
            on_chunk()
    if not parts:
        return Sample.empty(as_of, config.counted)
    return Sample(
        as_of, config.counted, *(np.concatenate(column) for column in zip(*parts, strict=True))
    )


def _top(order: np.ndarray, lost: np.ndarray, share: float, base_rate: float) -> dict:
    count = max(1, round(len(order) * share))
    precision = float(lost[order[:count]].mean())
    return {
        "count": count,
        "precision": precision,
        "lift": precision / base_rate if base_rate else None,
    }


def _ranking(score: np.ndarray, lost: np.ndarray, base_rate: float) -> dict:
    # Riskiest first; ties in a random but fixed order, so a score with few distinct
    # values is not flattered (or punished) by the order customers happen to be in.
    tiebreak = np.random.default_rng(0).random(len(score))
    order = np.lexsort((tiebreak, -score))
    both = 0 < lost.sum() < len(lost)
    return {
        "auc": float(roc_auc_score(lost, score)) if both else None,
        "top10": _top(order, lost, 0.10, base_rate),
        "top20": _top(order, lost, 0.20, base_rate),
        "distinct_scores": int(len(np.unique(np.round(score, 4)))),
    }


def calibration_table(probability: np.ndarray, lost: np.ndarray, bins: int = 10) -> list[dict]:
    """Predicted against observed per tenth of customers (ordered by probability)."""
    order = np.argsort(probability, kind="stable")
    rows = []
    for part in np.array_split(order, bins):
        if len(part):
            rows.append(
                {
                    "count": len(part),
                    "predicted": float(probability[part].mean()),
                    "observed": float(lost[part].mean()),
                }
            )
    return rows


def figures(data: Sample) -> dict:
    """The backtest's figures for a sample, as plain JSON-ready values."""
    count, lost = len(data), data.lost
    if count < MIN_CUSTOMERS:
        return {"customers": count, "lost": int(lost.sum()), "too_few": True}
    base_rate = float(lost.mean())
    table = calibration_table(data.probability, lost)
    per_signal = []
    for j, key in enumerate(data.keys):
        column = data.strengths[:, j]
        has_data = ~np.isnan(column)
        strong = np.nan_to_num(column) >= 0.5
        rate = float(lost[strong].mean()) if strong.any() else None
        per_signal.append(
            {
                "key": key,
                "with_data": int(has_data.sum()),
                "strong": int(strong.sum()),
                "lost_rate": rate,
                "lift": rate / base_rate if rate is not None and base_rate else None,
            }
        )
    return {
        "as_of": data.as_of.isoformat(),
        "customers": count,
        "lost": int(lost.sum()),
        "base_rate": base_rate,
        "model": _ranking(data.probability, lost, base_rate),
        "baseline": _ranking(data.baseline, lost, base_rate),
        "calibration": table,
        "calibration_error": float(np.mean([abs(r["predicted"] - r["observed"]) for r in table])),
        "mean_predicted": float(data.probability.mean()),
        "signals": per_signal,
    }


def horizon_complete(as_of: date, horizon_days: int) -> bool:
    """Whether the whole horizon after `as_of` is in the past (the outcome is known)."""
    return as_of + timedelta(days=horizon_days) <= timezone.localdate()


def start_backtest(*, as_of: date, horizon_days: int, by=None) -> Backtest:
    """A running Backtest row; its task (risk.receivers) is enqueued once it is committed."""
    with transaction.atomic():
        row = Backtest.objects.create(as_of=as_of, horizon_days=horizon_days, created_by=by)
        backtest_started.send(sender=Backtest, backtest=row)
    return row


def backtest(
    as_of: date, horizon_days: int | None = None, weights: planning.Weights | None = None
) -> dict:
    """The figures of the weights in use (or `weights`) on a past date. Writes nothing."""
    config = planning.load_configuration(weights)
    horizon_days = horizon_days or config.horizon_days
    report = figures(sample(as_of, horizon_days, config))
    report["horizon_days"] = horizon_days
    report["complete"] = horizon_complete(as_of, horizon_days)
    report["weight_set"] = config.weights.weight_set_id
    return report


def run_backtest(backtest_row) -> None:
    """Fill a running Backtest row (the task's body), with its progress as it goes."""
    config = planning.load_configuration()
    chunks = planning.plan_chunks()
    done = 0

    def progressed() -> None:
        nonlocal done
        done += 1
        Backtest.objects.filter(pk=backtest_row.pk).update(
            progress=min(99, 100 * done // max(1, len(chunks)))
        )

    report = figures(
        sample(backtest_row.as_of, backtest_row.horizon_days, config, chunks, progressed)
    )
    report["horizon_days"] = backtest_row.horizon_days
    report["complete"] = horizon_complete(backtest_row.as_of, backtest_row.horizon_days)
    report["weight_set"] = config.weights.weight_set_id
    backtest_row.figures = report
    backtest_row.status = Backtest.Status.DONE
    backtest_row.progress = 100
    backtest_row.finished_at = timezone.now()
    backtest_row.save()
