"""Churn-risk signals from the contract: a discount request near the renewal date,
the renewal near with no recent contact, a cancellation request."""

from datetime import datetime

import numpy as np
from django.db.models import Count, Max, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from customers.models import Interaction

from .signals import (
    DAYS_TO_LOOK_BACK,
    Chunk,
    EpochDays,
    Params,
    Signal,
    Strength,
    recency,
    relative_day,
    saturating,
    window,
)

Kind = Interaction.Kind

# --- Discount or contract-change request near the renewal date ------------------------------


def _discount_aggregates(params: Params, end: datetime) -> dict:
    return {"count": Count("id", filter=window(params, end) & Q(kind=Kind.DISCOUNT_REQUEST))}


def _nearness(chunk: Chunk, params: Params, *, before_only: bool) -> np.ndarray:
    """1 on the renewal date, falling to 0 `window` days away; NaN without a renewal date."""
    days = chunk["renewal_date"] - chunk.day
    near = 1.0 - np.abs(days) / params.window_days
    if before_only:
        near = np.where(days >= 0, near, 0.0)
    return np.where(np.isnan(days), np.nan, np.clip(near, 0, 1))


def _discount(chunk: Chunk, params: Params) -> Strength:
    count = chunk["discount_near_renewal__count"]
    strength = _nearness(chunk, params, before_only=False) * saturating(count, params.threshold)
    return Strength(strength, {"count": count, "renewal": chunk["renewal_date"]}, ("renewal",))


def _describe_discount(evidence: dict, as_of) -> str:
    count = int(evidence["count"])
    return ngettext(
        "%(count)s discount or contract-change request; renewal %(renewal)s.",
        "%(count)s discount or contract-change requests; renewal %(renewal)s.",
        count,
    ) % {"count": count, "renewal": relative_day(evidence["renewal"], as_of)}


# --- Renewal approaching with no recent contact --------------------------------------------


def _renewal_no_contact(chunk: Chunk, params: Params) -> Strength:
    last = chunk["history__last_any"]
    quiet = np.clip(np.nan_to_num(chunk.days_before_end(last), nan=np.inf) / params.threshold, 0, 1)
    strength = _nearness(chunk, params, before_only=True) * quiet
    return Strength(
        strength, {"renewal": chunk["renewal_date"], "contact": last}, ("renewal", "contact")
    )


def _describe_renewal(evidence: dict, as_of) -> str:
    renewal = relative_day(evidence["renewal"], as_of)
    if evidence.get("contact") is None:
        return _("Renewal %(renewal)s and never contacted.") % {"renewal": renewal}
    return _("Renewal %(renewal)s, last contact %(contact)s.") % {
        "renewal": renewal,
        "contact": relative_day(evidence["contact"], as_of),
    }


# --- Cancellation or non-renewal -------------------------------------------------------------


def _cancellation_aggregates(params: Params, end: datetime) -> dict:
    recent = window(params, end) & Q(kind=Kind.CANCELLATION)
    return {"last": EpochDays(Max("occurred_at", filter=recent))}


def _cancellation(chunk: Chunk, params: Params) -> Strength:
    last = chunk["cancellation__last"]
    strength = np.where(np.isnan(last), 0.0, recency(chunk, last, params))
    return Strength(strength, {"last": last}, as_dates=("last",))


def _describe_cancellation(evidence: dict, as_of) -> str:
    if evidence.get("last") is None:
        return _("No cancellation request in the window.")
    return _("Asked to cancel or not renew %(when)s.") % {
        "when": relative_day(evidence["last"], as_of)
    }


SIGNALS = [
    Signal(
        key="discount_near_renewal",
        label=gettext_lazy("Discount request near renewal"),
        description=gettext_lazy(
            "A discount or contract-change request close to the renewal date."
        ),
        # Translators: xgettext:no-python-format ("63 %" is text, not a format)
        threshold_help=gettext_lazy("Requests at which the signal reaches 63 % of its strength."),
        window_help=gettext_lazy("Days before or after the renewal date that count as close."),
        default_weight=1.0,
        default_threshold=1.0,
        default_window_days=60,
        aggregates=_discount_aggregates,
        strength=_discount,
        describe=_describe_discount,
        logged=Q(kind=Kind.DISCOUNT_REQUEST),
    ),
    Signal(
        key="renewal_no_contact",
        label=gettext_lazy("Renewal near, no recent contact"),
        description=gettext_lazy("The renewal date approaches and nobody has talked to them."),
        threshold_help=gettext_lazy("Days without contact that count as no recent contact."),
        window_help=gettext_lazy("Days before the renewal date to start counting."),
        default_weight=1.0,
        default_threshold=30.0,
        default_window_days=30,
        strength=_renewal_no_contact,
        describe=_describe_renewal,
    ),
    Signal(
        key="cancellation",
        label=gettext_lazy("Cancellation or non-renewal"),
        description=gettext_lazy("The customer asked to cancel or not to renew."),
        threshold_help=gettext_lazy("Not used."),
        window_help=DAYS_TO_LOOK_BACK,
        default_weight=4.0,
        default_threshold=1.0,
        default_window_days=180,
        aggregates=_cancellation_aggregates,
        strength=_cancellation,
        describe=_describe_cancellation,
        logged=Q(kind=Kind.CANCELLATION),
    ),
]
