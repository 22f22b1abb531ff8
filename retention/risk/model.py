"""From signal strengths to a probability, and the probability back to its reasons.

The model is a logistic regression: the log-odds of being lost within the horizon
are the intercept plus, for every signal, its weight times its strength (0 to 1; a
signal without data adds nothing). The weights are learned from the business's
own history (calibration.py) or, before there is enough of it, the registry's
defaults.

The reasons add up to the score: the score minus the base rate (the probability of
a customer no signal speaks for) is split between the signals in proportion to
what each added to the log-odds. That is exact for one signal and a fair share for
several; with rounding to whole points the rest goes to the base line.
"""

import numpy as np

from .planning import Configuration, Weights


def sigmoid(logit: np.ndarray | float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(logit, dtype=float)))


def weight_vector(keys: list[str], weights: Weights) -> np.ndarray:
    return np.array([weights.by_signal.get(key, 0.0) for key in keys], dtype=float)


def probabilities(strengths: np.ndarray, keys: list[str], weights: Weights) -> np.ndarray:
    """P(lost within the horizon) per row of `strengths` (customers x keys, NaN: no data)."""
    logit = weights.intercept + np.nan_to_num(strengths) @ weight_vector(keys, weights)
    return sigmoid(logit)


class Explained:
    """A chunk's scores in whole percent, each signal's points and the base, as arrays."""

    __slots__ = ("base", "points", "probability", "score")

    def __init__(self, strengths: np.ndarray, keys: list[str], weights: Weights) -> None:
        added = np.nan_to_num(strengths) * weight_vector(keys, weights)  # log-odds per signal
        total = added.sum(axis=1)
        self.probability = sigmoid(weights.intercept + total)
        base = float(sigmoid(weights.intercept))
        # The secant slope of the sigmoid between the base and the customer's log-odds:
        # shares that add up exactly, never more than 25 points per unit of log-odds.
        with np.errstate(invalid="ignore", divide="ignore"):
            slope = np.where(
                np.abs(total) > 1e-9, (self.probability - base) / total, base * (1 - base)
            )
        self.score = np.rint(100 * self.probability).astype(np.int64)
        self.points = np.rint(100 * added * slope[:, None]).astype(np.int64)
        self.base = self.score - self.points.sum(axis=1)


def levels(score: np.ndarray, config: Configuration) -> np.ndarray:
    """Each score's level code: 0 low, 1 medium, 2 high (the bands are editable)."""
    return (score >= config.medium_from).astype(np.int8) + (score >= config.high_from)
