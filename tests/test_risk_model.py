"""The risk model learned from a generated shop history with a known churn process."""

import numpy as np
import pytest

from retention.models import CustomerRisk, RiskSnapshot, WeightSet
from retention.risk import calibration, planning, scoring
from retention.risk.backtest import calibration_table

from .churn_histories import generate
from .factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop_history():
    return generate(customers=3000)


def test_calibrated_probability_beats_days_since_last_contact_and_is_calibrated(shop_history):
    weight_set = calibration.calibrate(WeightSet.objects.create())

    assert weight_set.status == WeightSet.Status.SUGGESTED, weight_set.message
    holdout = weight_set.figures["suggested"]
    assert holdout["customers"] > 2000  # imported customers (created today) are scored
    assert holdout["model"]["auc"] > holdout["baseline"]["auc"]
    assert holdout["model"]["top10"]["precision"] >= holdout["baseline"]["top10"]["precision"]
    assert holdout["calibration_error"] < 0.05
    # The weights say what the process is: silence raises the risk, repeat buying lowers it;
    # signals the shop never logs (complaints, cancellations) keep their defaults.
    assert weight_set.weights["silence"] > 0 and weight_set.weights["silence_new"] > 0
    assert weight_set.weights["repeat_buying"] < 0
    defaults = planning.Weights.defaults().by_signal
    assert weight_set.weights["complaints"] == defaults["complaints"]
    # Nothing current was written, and the weights in use are still the defaults.
    assert not CustomerRisk.objects.exists() and not RiskSnapshot.objects.exists()
    assert planning.load_weights().weight_set_id is None


def test_applied_weights_are_used_by_the_nightly_job(shop_history, admin_user):
    before = scoring.compute_all(scoring.timezone.localdate())
    scores_before = dict(CustomerRisk.objects.values_list("customer_id", "score"))
    weight_set = calibration.calibrate(WeightSet.objects.create())
    calibration.weights_apply(weight_set=weight_set, by=admin_user)

    scoring.compute_all(scoring.timezone.localdate())

    assert planning.load_weights().weight_set_id == weight_set.pk
    scores_after = dict(CustomerRisk.objects.values_list("customer_id", "score"))
    assert before.seen == len(scores_after)
    assert sum(scores_before[k] != scores_after[k] for k in scores_after) > len(scores_after) / 2


def test_too_little_history_keeps_the_defaults():
    CustomerFactory.create_batch(20)
    weight_set = calibration.calibrate(WeightSet.objects.create())
    assert weight_set.status == WeightSet.Status.TOO_LITTLE
    assert weight_set.weights == {} and "at least 500" in weight_set.message


def test_the_calibration_table_compares_predicted_and_observed_per_tenth():
    probability = np.linspace(0, 1, 100)
    lost = probability > 0.5
    table = calibration_table(probability, lost)
    assert [row["count"] for row in table] == [10] * 10
    assert table[0]["observed"] == 0.0 and table[-1]["observed"] == 1.0
    assert abs(table[-1]["predicted"] - np.mean(probability[90:])) < 1e-9
