"""Churn-risk signals from buying behaviour: silence against the customer's own rhythm,
silence without a rhythm yet, repeat buying (lowers the risk), falling spend, a sudden
drop in activity. Each is its strength function over the chunk's history columns
(history.py) and a describer of its evidence; `SIGNALS` registers them.
"""

import numpy as np
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from customers.money import format_money

from .history import MIN_GAP_DAYS, MIN_RHYTHM_DAYS, PURCHASE, silent_days, usual_gap
from .signals import (
    Chunk,
    Params,
    Signal,
    Strength,
    count_days,
    days_to,
    saturating,
)

# --- Silence, against the customer's own rhythm ---------------------------------------


def _silence(chunk: Chunk, params: Params) -> Strength:
    # To the tenth of a day, as the reason shows it (and a gap of exactly 10 is 10).
    gap = np.round(np.maximum(usual_gap(chunk), MIN_GAP_DAYS), 1)
    days = silent_days(chunk)
    strength = saturating(days / gap - 1.0, params.threshold)  # NaN without a rhythm
    return Strength(
        strength,
        {"since": chunk["history__last_activity"], "gap": gap},
        as_dates=("since",),
    )


def _describe_silence(evidence: dict, as_of) -> str:
    return _("No activity for %(days)s; usually every %(gap)s.") % {
        "days": count_days(days_to(evidence["since"], as_of)),
        "gap": count_days(round(evidence["gap"])),
    }


# --- Silence of customers without a rhythm yet (one-time buyers, new customers) --------


def _silence_new(chunk: Chunk, params: Params) -> Strength:
    days = silent_days(chunk)
    has_rhythm = chunk["history__activity_days_2y"] >= MIN_RHYTHM_DAYS
    strength = np.where(has_rhythm, np.nan, saturating(days, params.window_days))
    last = chunk["history__last_activity"]
    return Strength(
        strength,
        {"since": np.where(np.isnan(last), chunk["start"], last), "never": np.isnan(last)},
        as_dates=("since",),
    )


def _describe_silence_new(evidence: dict, as_of) -> str:
    days = count_days(days_to(evidence["since"], as_of))
    if evidence.get("never"):
        return _("No activity in %(days)s as a customer.") % {"days": days}
    return _("No activity for %(days)s, and no buying rhythm yet.") % {"days": days}


# --- Repeat buying (lowers risk) ----------------------------------------------------


def _repeat(chunk: Chunk, params: Params) -> Strength:
    days = chunk["history__activity_days_2y"]
    return Strength(saturating(days - 1, params.threshold), {"days": days})


def _describe_repeat(evidence: dict, as_of) -> str:
    days = int(evidence["days"])
    return ngettext(
        "Active on %(count)s day in the last two years.",
        "Active on %(count)s different days in the last two years.",
        days,
    ) % {"count": days}


# --- Spend falling -------------------------------------------------------------------


def _spend_drop(chunk: Chunk, params: Params) -> Strength:
    # Net spend (refunds subtracted): more given back than bought is a full drop, not more.
    recent = np.maximum(np.nan_to_num(chunk["history__spend_recent"]), 0)
    prior = chunk["history__spend_prior"]
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = np.where(prior > 0, 1.0 - recent / prior, np.nan)
    return Strength(drop, {"recent": np.round(recent, 2), "prior": np.round(prior, 2)})


def _describe_spend_drop(evidence: dict, as_of) -> str:
    return _("Spent %(recent)s in the last 180 days, against %(prior)s in the 180 before.") % {
        "recent": format_money(evidence["recent"]),
        "prior": format_money(evidence["prior"]),
    }


# --- A sudden, lasting drop in activity ---------------------------------------------------


def _activity_drop(chunk: Chunk, params: Params) -> Strength:
    recent = chunk["history__activity_month"]
    usual = chunk["history__activity_before"] / 6  # per 30 days in the six months before
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = np.where(usual >= params.threshold, 1.0 - recent / usual, np.nan)
    return Strength(drop, {"recent": recent, "usual": np.round(usual, 1)})


def _describe_activity_drop(evidence: dict, as_of) -> str:
    return _("%(recent)s interactions in the last 30 days; usually %(usual)s a month.") % {
        "recent": int(evidence["recent"]),
        "usual": number_format(evidence["usual"], 1, use_l10n=True),
    }


SIGNALS = [
    Signal(
        key="silence",
        label=gettext_lazy("Silence, against their own rhythm"),
        description=gettext_lazy(
            "Days since the customer's last activity compared with their usual gap between "
            "active days (customers active on at least 3 days in two years)."
        ),
        threshold_help=gettext_lazy(
            # Translators: xgettext:no-python-format ("63 %" is text, not a format)
            "Usual gaps of extra silence at which the signal reaches 63 % of its strength."
        ),
        window_help=gettext_lazy("Not used."),
        default_weight=2.5,
        default_threshold=2.0,
        default_window_days=60,
        strength=_silence,
        describe=_describe_silence,
    ),
    Signal(
        key="silence_new",
        label=gettext_lazy("Silence, no rhythm yet"),
        description=gettext_lazy(
            "Days since the last activity of customers without a buying rhythm yet "
            "(one-time buyers, new customers)."
        ),
        threshold_help=gettext_lazy("Not used."),
        window_help=gettext_lazy(
            # Translators: xgettext:no-python-format ("63 %" is text, not a format)
            "Days of silence at which the signal reaches 63 % of its strength."
        ),
        default_weight=2.5,
        default_threshold=1.0,
        default_window_days=90,
        strength=_silence_new,
        describe=_describe_silence_new,
    ),
    Signal(
        key="repeat_buying",
        label=gettext_lazy("Repeat buying"),
        description=gettext_lazy(
            "Distinct days with activity in the last two years; customers who keep coming "
            "back leave less often, so this lowers the risk."
        ),
        threshold_help=gettext_lazy(
            # Translators: xgettext:no-python-format ("63 %" is text, not a format)
            "Repeat days at which the signal reaches 63 % of its strength."
        ),
        window_help=gettext_lazy("Not used."),
        default_weight=-1.5,
        default_threshold=4.0,
        default_window_days=730,
        strength=_repeat,
        describe=_describe_repeat,
    ),
    Signal(
        key="spend_drop",
        label=gettext_lazy("Falling spend"),
        description=gettext_lazy(
            "Purchases less refunds in the last 180 days against the 180 days before "
            "(customers who bought then)."
        ),
        threshold_help=gettext_lazy("Not used."),
        window_help=gettext_lazy("Not used."),
        default_weight=1.0,
        default_threshold=1.0,
        default_window_days=180,
        strength=_spend_drop,
        describe=_describe_spend_drop,
        logged=PURCHASE,
    ),
    Signal(
        key="activity_drop",
        label=gettext_lazy("Sudden drop in activity"),
        description=gettext_lazy(
            "Interactions in the last 30 days against the customer's monthly average over the "
            "six months before."
        ),
        threshold_help=gettext_lazy(
            "Interactions a month, on average, a customer needs before a drop counts."
        ),
        window_help=gettext_lazy("Not used."),
        default_weight=1.0,
        default_threshold=1.0,
        default_window_days=30,
        strength=_activity_drop,
        describe=_describe_activity_drop,
    ),
]
