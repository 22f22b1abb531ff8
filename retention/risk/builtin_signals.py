"""The built-in churn-risk signals over a customer's interactions and contract.

Each is its aggregates (SQL for a whole chunk), a strength function over the
chunk's columns (numpy: one definition gives the number and its evidence) and a
describer that renders the stored evidence as a reason. `HISTORY` are the
aggregates several signals share: recency, frequency, spend, the customer's rhythm.

"Activity" is what the customer did: purchases, complaints, requests and
cancellations whatever their direction, and calls, emails and meetings unless
outbound (a follow-up email we sent does not show that the customer is still here);
never internal notes.
"""

from datetime import datetime, timedelta

import numpy as np
from django.db.models import Count, FloatField, Max, Min, Q, Sum
from django.db.models.functions import Cast, TruncDate
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from customers.models import Interaction

from .signals import (
    Chunk,
    EpochDays,
    Params,
    Signal,
    Strength,
    count_days,
    days_to,
    relative_day,
    saturating,
)

Kind = Interaction.Kind
CUSTOMER_KINDS = [
    Kind.PURCHASE,
    Kind.COMPLAINT,
    Kind.SERVICE_REQUEST,
    Kind.DISCOUNT_REQUEST,
    Kind.CANCELLATION,
]
ACTIVITY = Q(kind__in=CUSTOMER_KINDS) | (
    ~Q(direction__in=[Interaction.Direction.OUTBOUND, Interaction.Direction.INTERNAL])
    & ~Q(kind=Kind.NOTE)
)
PURCHASE = Q(kind=Kind.PURCHASE)
RHYTHM_YEARS = 2
MIN_RHYTHM_DAYS = 3  # distinct active days in the last two years that make a rhythm
MIN_GAP_DAYS = 7.0  # a daily customer silent for a week is not "silent for 7 gaps"


def history_aggregates(end: datetime) -> dict:
    """Recency, frequency and spend per customer, shared by several signals and the value."""
    two_years = Q(occurred_at__gte=end - timedelta(days=365 * RHYTHM_YEARS))
    year = Q(occurred_at__gte=end - timedelta(days=365))
    recent = Q(occurred_at__gte=end - timedelta(days=180))
    prior = Q(occurred_at__gte=end - timedelta(days=360)) & ~recent
    month = Q(occurred_at__gte=end - timedelta(days=30))
    before_month = Q(occurred_at__gte=end - timedelta(days=210)) & ~month
    return {
        "first_any": EpochDays(Min("occurred_at")),
        "last_any": EpochDays(Max("occurred_at")),
        "last_activity": EpochDays(Max("occurred_at", filter=ACTIVITY)),
        "first_activity_2y": EpochDays(Min("occurred_at", filter=ACTIVITY & two_years)),
        "activity_days_2y": Count(
            TruncDate("occurred_at"), distinct=True, filter=ACTIVITY & two_years
        ),
        "last_purchase": EpochDays(Max("occurred_at", filter=PURCHASE)),
        "first_purchase_2y": EpochDays(Min("occurred_at", filter=PURCHASE & two_years)),
        "purchase_days_2y": Count(
            TruncDate("occurred_at"), distinct=True, filter=PURCHASE & two_years
        ),
        "spend_year": Cast(Sum("amount", filter=PURCHASE & year), FloatField()),
        "spend_recent": Cast(Sum("amount", filter=PURCHASE & recent), FloatField()),
        "spend_prior": Cast(Sum("amount", filter=PURCHASE & prior), FloatField()),
        "activity_month": Count("id", filter=ACTIVITY & month),
        "activity_before": Count("id", filter=ACTIVITY & before_month),
    }


def usual_gap(chunk: Chunk, what: str = "activity") -> np.ndarray:
    """Average days between active (or purchase) days over two years; NaN without a rhythm."""
    days = chunk[f"history__{what}_days_2y"]
    span = chunk[f"history__last_{what}"] - chunk[f"history__first_{what}_2y"]
    with np.errstate(invalid="ignore", divide="ignore"):
        gap = span / (days - 1)
    return np.where(days >= MIN_RHYTHM_DAYS, gap, np.nan)


def silent_days(chunk: Chunk) -> np.ndarray:
    """Whole days since the last activity, or since the relationship began without any."""
    last = chunk["history__last_activity"]
    return chunk.days_before_end(np.where(np.isnan(last), chunk["start"], last))


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
    recent = np.nan_to_num(chunk["history__spend_recent"])
    prior = chunk["history__spend_prior"]
    with np.errstate(invalid="ignore", divide="ignore"):
        drop = np.where(prior > 0, 1.0 - recent / prior, np.nan)
    return Strength(drop, {"recent": np.round(recent, 2), "prior": np.round(prior, 2)})


def _describe_spend_drop(evidence: dict, as_of) -> str:
    return _("Spent %(recent)s in the last 180 days, against %(prior)s in the 180 before.") % {
        "recent": number_format(evidence["recent"], 2, use_l10n=True),
        "prior": number_format(evidence["prior"], 2, use_l10n=True),
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


# --- Complaints and negative feedback, by count and recency -------------------------------

NEGATIVE = Q(kind=Kind.COMPLAINT) | Q(sentiment=Interaction.Sentiment.NEGATIVE)


def _window(params: Params, end: datetime) -> Q:
    return Q(occurred_at__gte=end - timedelta(days=params.window_days))


def _complaints_aggregates(params: Params, end: datetime) -> dict:
    recent = _window(params, end) & NEGATIVE
    return {
        "count": Count("id", filter=recent),
        "last": EpochDays(Max("occurred_at", filter=recent)),
    }


def _recency(chunk: Chunk, last: np.ndarray, params: Params) -> np.ndarray:
    """1 for today, falling to 0.5 at the end of the window: recent events weigh more."""
    return 1.0 - 0.5 * np.clip((chunk.end - last) / params.window_days, 0, 1)


def _complaints(chunk: Chunk, params: Params) -> Strength:
    count, last = chunk["complaints__count"], chunk["complaints__last"]
    strength = np.where(count > 0, saturating(count, params.threshold), 0.0)
    strength = strength * np.nan_to_num(_recency(chunk, last, params), nan=1.0)
    return Strength(strength, {"count": count, "last": last}, as_dates=("last",))


def _describe_complaints(evidence: dict, as_of) -> str:
    count = int(evidence["count"])
    if not count:
        return _("No complaint or negative interaction in the window.")
    return ngettext(
        "%(count)s complaint or negative interaction in the window, the last %(when)s.",
        "%(count)s complaints or negative interactions in the window, the last %(when)s.",
        count,
    ) % {"count": count, "when": relative_day(evidence["last"], as_of)}


# --- A complaint or service request left unanswered ------------------------------------------

TICKETS = Q(kind__in=[Kind.COMPLAINT, Kind.SERVICE_REQUEST])


def _open_aggregates(params: Params, end: datetime) -> dict:
    open_then = TICKETS & (Q(resolved_at__isnull=True) | Q(resolved_at__gte=end))
    return {
        "oldest": EpochDays(Min("occurred_at", filter=open_then)),
        "count": Count("id", filter=open_then),
    }


def _open_ticket(chunk: Chunk, params: Params) -> Strength:
    age = chunk.days_before_end(chunk["open_ticket__oldest"])
    strength = np.nan_to_num(saturating(age - params.threshold, 2 * params.threshold))
    return Strength(
        strength,
        {"oldest": chunk["open_ticket__oldest"], "count": chunk["open_ticket__count"]},
        as_dates=("oldest",),
    )


def _describe_open_ticket(evidence: dict, as_of) -> str:
    count = int(evidence["count"])
    if not count:
        return _("No complaint or service request open.")
    return ngettext(
        "%(count)s complaint or service request open, the oldest for %(days)s.",
        "%(count)s complaints or service requests open, the oldest for %(days)s.",
        count,
    ) % {"count": count, "days": count_days(days_to(evidence["oldest"], as_of))}


# --- Many service requests ----------------------------------------------------------------


def _service_aggregates(params: Params, end: datetime) -> dict:
    return {"count": Count("id", filter=_window(params, end) & Q(kind=Kind.SERVICE_REQUEST))}


def _service_requests(chunk: Chunk, params: Params) -> Strength:
    count = chunk["service_requests__count"]
    return Strength(
        saturating(count, params.threshold), {"count": count, "window": params.window_days}
    )


def _describe_service(evidence: dict, as_of) -> str:
    count = int(evidence["count"])
    return ngettext(
        "%(count)s service request in %(days)s.",
        "%(count)s service requests in %(days)s.",
        count,
    ) % {"count": count, "days": count_days(int(evidence["window"]))}


# --- Discount or contract-change request near the renewal date ------------------------------


def _discount_aggregates(params: Params, end: datetime) -> dict:
    return {"count": Count("id", filter=_window(params, end) & Q(kind=Kind.DISCOUNT_REQUEST))}


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
    recent = _window(params, end) & Q(kind=Kind.CANCELLATION)
    return {"last": EpochDays(Max("occurred_at", filter=recent))}


def _cancellation(chunk: Chunk, params: Params) -> Strength:
    last = chunk["cancellation__last"]
    strength = np.where(np.isnan(last), 0.0, _recency(chunk, last, params))
    return Strength(strength, {"last": last}, as_dates=("last",))


def _describe_cancellation(evidence: dict, as_of) -> str:
    if evidence.get("last") is None:
        return _("No cancellation request in the window.")
    return _("Asked to cancel or not renew %(when)s.") % {
        "when": relative_day(evidence["last"], as_of)
    }


DAYS_TO_LOOK_BACK = gettext_lazy("Days to look back.")

BUILT_IN = [
    Signal(
        key="silence",
        label=gettext_lazy("Silence, against their own rhythm"),
        description=gettext_lazy(
            "Days since the customer's last activity compared with their usual gap between "
            "active days (customers active on at least 3 days in two years)."
        ),
        threshold_help=gettext_lazy(
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
            "Purchases in the last 180 days against the 180 days before "
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
    Signal(
        key="complaints",
        label=gettext_lazy("Complaints or negative feedback"),
        description=gettext_lazy(
            "Complaints or interactions with negative sentiment, by count and how recent."
        ),
        threshold_help=gettext_lazy("Complaints at which the signal reaches 63 % of its strength."),
        window_help=DAYS_TO_LOOK_BACK,
        default_weight=1.0,
        default_threshold=1.0,
        default_window_days=90,
        aggregates=_complaints_aggregates,
        strength=_complaints,
        describe=_describe_complaints,
        logged=NEGATIVE,
    ),
    Signal(
        key="open_ticket",
        label=gettext_lazy("Complaint left unanswered"),
        description=gettext_lazy(
            "A complaint or service request still open after more than the threshold's days."
        ),
        threshold_help=gettext_lazy("Days a complaint or service request may stay open."),
        window_help=gettext_lazy("Not used."),
        default_weight=2.0,
        default_threshold=7.0,
        default_window_days=30,
        aggregates=_open_aggregates,
        strength=_open_ticket,
        describe=_describe_open_ticket,
        logged=TICKETS,
    ),
    Signal(
        key="service_requests",
        label=gettext_lazy("Many service requests"),
        description=gettext_lazy("Service requests in a short window."),
        threshold_help=gettext_lazy("Requests at which the signal reaches 63 % of its strength."),
        window_help=DAYS_TO_LOOK_BACK,
        default_weight=0.7,
        default_threshold=3.0,
        default_window_days=30,
        aggregates=_service_aggregates,
        strength=_service_requests,
        describe=_describe_service,
        logged=Q(kind=Kind.SERVICE_REQUEST),
    ),
    Signal(
        key="discount_near_renewal",
        label=gettext_lazy("Discount request near renewal"),
        description=gettext_lazy(
            "A discount or contract-change request close to the renewal date."
        ),
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
