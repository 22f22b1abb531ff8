"""Learning the signal weights from the business's own history.

On several past dates (each a month apart, the latest one a full horizon ago) every
customer's signal strengths then are set against whether they were lost within the
horizon. scikit-learn's logistic regression (L2-regularised) fits the weights on
the older dates; the latest date is kept aside to backtest both the weights in use
and the suggested ones, so the admin compares them on customers the fit never saw.
With fewer than MIN_OUTCOMES customers with an outcome the defaults stay.
"""

from datetime import date, timedelta

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from sklearn.linear_model import LogisticRegression

from . import backtest, model, planning
from .events import calibration_started
from .models import WeightSet

DATES = 4
STEP_DAYS = 30
MIN_OUTCOMES = 500
REGULARISATION = 1.0  # scikit-learn's C: smaller pulls the weights harder towards 0


def calibration_dates(horizon_days: int, today: date | None = None) -> list[date]:
    """The past dates to learn from, newest first: the newest a whole horizon ago."""
    newest = (today or timezone.localdate()) - timedelta(days=horizon_days + 1)
    return [newest - timedelta(days=STEP_DAYS * k) for k in range(DATES)]


def fit(samples: list[backtest.Sample], in_use: planning.Weights) -> planning.Weights:
    """Weights that fit the samples best (one row per customer and date).

    A signal with no data in the history (a kind of event the business never logged)
    cannot be learned: it keeps the weight in use, for the day it starts to speak.
    """
    keys = samples[0].keys
    strengths = np.vstack([s.strengths for s in samples])
    learnable = [j for j, _key in enumerate(keys) if not np.isnan(strengths[:, j]).all()]
    lost = np.concatenate([s.lost for s in samples])
    regression = LogisticRegression(C=REGULARISATION, max_iter=1000)
    regression.fit(np.nan_to_num(strengths[:, learnable]), lost)
    weights = {key: in_use.by_signal.get(key, 0.0) for key in keys}
    for j, weight in zip(learnable, regression.coef_[0], strict=True):
        weights[keys[j]] = round(float(weight), 3)
    return planning.Weights(round(float(regression.intercept_[0]), 3), weights)


def calibrate(weight_set: WeightSet, today: date | None = None) -> WeightSet:
    """Fill a running WeightSet: suggested weights with figures, or "not enough history"."""
    config = planning.load_configuration()
    dates = calibration_dates(config.horizon_days, today)
    chunks = planning.plan_chunks()
    steps = max(1, len(dates) * len(chunks))
    done = 0

    def progressed() -> None:
        nonlocal done
        done += 1
        WeightSet.objects.filter(pk=weight_set.pk).update(progress=min(99, 100 * done // steps))

    samples = [
        backtest.sample(day, config.horizon_days, config, chunks, progressed) for day in dates
    ]
    holdout, training = samples[0], samples[1:]
    outcomes = sum(len(s) for s in training)
    figures = {
        "dates": [d.isoformat() for d in dates],
        "horizon_days": config.horizon_days,
        "training_customers": outcomes,
        "training_lost": int(sum(int(s.lost.sum()) for s in training)),
        "current": backtest.figures(holdout),
        "current_weight_set": config.weights.weight_set_id,
    }
    weight_set.figures = figures
    weight_set.finished_at = timezone.now()
    weight_set.progress = 100
    lost = figures["training_lost"]
    if outcomes < MIN_OUTCOMES or lost == 0 or lost == outcomes:
        weight_set.status = WeightSet.Status.TOO_LITTLE
        weight_set.message = (
            f"{outcomes} customer outcomes on {len(training)} past dates ({lost} lost); "
            f"at least {MIN_OUTCOMES}, some lost and some kept, are needed. The weights in "
            "use stay."
        )
    else:
        suggested = fit(training, config.weights)
        weight_set.intercept = suggested.intercept
        weight_set.weights = suggested.by_signal
        holdout.probability = model.probabilities(holdout.strengths, holdout.keys, suggested)
        figures["suggested"] = backtest.figures(holdout)
        weight_set.status = WeightSet.Status.SUGGESTED
    weight_set.save()
    return weight_set


def start_calibration(*, triggered_by=None) -> WeightSet:
    """A running WeightSet; the task (risk.receivers) is enqueued once it is committed."""
    with transaction.atomic():
        weight_set = WeightSet.objects.create(triggered_by=triggered_by)
        calibration_started.send(sender=WeightSet, weight_set=weight_set)
    return weight_set


@transaction.atomic
def weights_apply(*, weight_set: WeightSet, by) -> WeightSet:
    """Use a suggested set from now on; the set it replaces is kept as applied earlier."""
    weight_set = WeightSet.objects.select_for_update().get(pk=weight_set.pk)
    if weight_set.status != WeightSet.Status.SUGGESTED:
        raise ValidationError(_("Only suggested weights can be applied."))
    WeightSet.objects.filter(status=WeightSet.Status.APPLIED).update(
        status=WeightSet.Status.SUPERSEDED
    )
    weight_set.status = WeightSet.Status.APPLIED
    weight_set.applied_at = timezone.now()
    weight_set.applied_by = by
    weight_set.save(update_fields=["status", "applied_at", "applied_by"])
    return weight_set
