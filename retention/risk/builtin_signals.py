"""The built-in churn-risk signals over a customer's interactions and contract.

Each is an aggregates function (SQL for a whole chunk), an evaluator (facts →
Finding, or None for "no data"), an optional screen and a describer that renders
the stored evidence as a reason; `BUILT_IN` lists them for the registry.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Count, Max, Min, Q
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Interaction

from .signals import (
    Facts,
    Finding,
    Params,
    Screen,
    Signal,
    _days,
    _iso,
    days_since,
    relative_day,
)


def _window_start(end: datetime, params: Params) -> datetime:
    return end - timedelta(days=params.window_days)


# --- Long inactivity, relative to the customer's own rhythm ---------------------

MIN_INACTIVITY_DAYS = 14


def _inactivity_aggregates(params: Params, end: datetime) -> dict:
    year_ago = end - timedelta(days=365)
    return {
        "last": Max("occurred_at"),
        "first_in_year": Min("occurred_at", filter=Q(occurred_at__gte=year_ago)),
        "count_in_year": Count("id", filter=Q(occurred_at__gte=year_ago)),
    }


def _inactivity(facts: Facts, params: Params) -> Finding | None:
    last = facts.aggregates.get("last")
    since = last or facts.customer_since or facts.created_on
    days = _days(since, facts)
    if last is None and days < params.window_days:
        return None  # too new to tell
    count = facts.aggregates.get("count_in_year") or 0
    usual_gap = None
    if count >= 3:
        first = facts.aggregates["first_in_year"]
        usual_gap = round((last - first).total_seconds() / 86400 / (count - 1), 1)
    if usual_gap:
        limit = max(MIN_INACTIVITY_DAYS, round(float(params.threshold) * usual_gap))
    else:
        limit = params.window_days
    evidence = {
        "since": _iso(since, facts),  # the last contact, or when they became a customer
        "usual_gap": usual_gap,
        "limit": limit,
        "never": last is None,
    }
    return Finding(days > limit, evidence)


# The usual gap in days, as _inactivity computes it from the same aggregates.
_USUAL_GAP_SQL = (
    "(EXTRACT(EPOCH FROM {a.last} - {a.first_in_year}) / 86400 / NULLIF({a.count_in_year} - 1, 0))"
)


def _inactivity_screen(params: Params, as_of: date, end: datetime) -> Screen:
    # Flagged when the last contact is more than `limit` local days old. The limit is
    # recomputed here a little low on purpose: Python rounds the usual gap to 0.1 day
    # and the limit to a whole day, and a day around a clock change has 23 hours.
    limit = (
        "CASE WHEN {a.count_in_year} >= 3 AND GAP >= 0.1"
        " THEN GREATEST(%(min_days)s, %(threshold)s * (GAP - 0.05) - 0.51)"
        " WHEN {a.count_in_year} >= 3 THEN LEAST(%(window)s, %(min_days)s)"
        " ELSE %(window)s END"
    ).replace("GAP", _USUAL_GAP_SQL)
    return Screen(
        might_flag=f"{{a.last}} < %(end)s - interval '1 day' * ({limit})",
        # Never contacted is not "no data": an old enough customer is then inactive.
        has_data="CASE WHEN {a.last} IS NOT NULL THEN TRUE END",
        values={
            "end": end,
            "min_days": MIN_INACTIVITY_DAYS,
            "threshold": params.threshold,
            "window": params.window_days,
        },
    )


def _describe_inactivity(evidence: dict) -> str:
    values = {**evidence, "days": days_since(evidence["since"])}
    if evidence.get("never"):
        return _("No interaction recorded in %(days)s days as a customer.") % values
    if evidence.get("usual_gap"):
        return _("No contact for %(days)s days; usually every %(usual_gap)s days.") % values
    return _("No contact for %(days)s days (limit %(limit)s).") % values


# --- Complaints and negative feedback ---------------------------------------------


def _complaints_aggregates(params: Params, end: datetime) -> dict:
    start = _window_start(end, params)
    recent = Q(occurred_at__gte=start)
    negative = Q(kind=Interaction.Kind.COMPLAINT) | Q(sentiment=Interaction.Sentiment.NEGATIVE)
    return {
        "negative": Count("id", filter=recent & negative),
        "any": Count("id", filter=recent),
    }


def _complaints(facts: Facts, params: Params) -> Finding | None:
    if not facts.aggregates.get("any"):
        return None  # nothing heard from them in the window
    count = facts.aggregates["negative"]
    return Finding(count >= params.threshold, {"count": count, "window": params.window_days})


def _complaints_screen(params: Params, as_of: date, end: datetime) -> Screen:
    return Screen("{a.negative} >= %(threshold)s", "{a.any} > 0", {"threshold": params.threshold})


def _describe_complaints(evidence: dict) -> str:
    return _("%(count)s complaint(s) or negative interaction(s) in %(window)s days.") % evidence


# --- Too many service requests ----------------------------------------------------


def _service_aggregates(params: Params, end: datetime) -> dict:
    recent = Q(occurred_at__gte=_window_start(end, params))
    return {
        "requests": Count("id", filter=recent & Q(kind=Interaction.Kind.SERVICE_REQUEST)),
        "any": Count("id", filter=recent),
    }


def _service_requests(facts: Facts, params: Params) -> Finding | None:
    if not facts.aggregates.get("any"):
        return None
    count = facts.aggregates["requests"]
    return Finding(count >= params.threshold, {"count": count, "window": params.window_days})


def _service_screen(params: Params, as_of: date, end: datetime) -> Screen:
    return Screen("{a.requests} >= %(threshold)s", "{a.any} > 0", {"threshold": params.threshold})


def _describe_service(evidence: dict) -> str:
    return _("%(count)s service requests in %(window)s days.") % evidence


# --- Discount or contract-change request near the renewal date --------------------


def _discount_aggregates(params: Params, end: datetime) -> dict:
    recent = Q(occurred_at__gte=_window_start(end, params))
    return {
        "requests": Count("id", filter=recent & Q(kind=Interaction.Kind.DISCOUNT_REQUEST)),
        "last": Max("occurred_at", filter=Q(kind=Interaction.Kind.DISCOUNT_REQUEST)),
    }


def _discount_near_renewal(facts: Facts, params: Params) -> Finding | None:
    if facts.renewal_date is None:
        return None
    days_to_renewal = (facts.renewal_date - facts.as_of).days
    count = facts.aggregates.get("requests") or 0
    near = -params.window_days <= days_to_renewal <= params.window_days
    evidence = {"count": count, "renewal_date": facts.renewal_date.isoformat()}
    return Finding(near and count >= params.threshold, evidence)


def _discount_screen(params: Params, as_of: date, end: datetime) -> Screen:
    return Screen(
        might_flag="{c.renewal_date} IS NOT NULL AND {c.renewal_date} BETWEEN %(from)s AND %(to)s"
        " AND COALESCE({a.requests}, 0) >= %(threshold)s",
        has_data="{c.renewal_date} IS NOT NULL",
        values={
            "from": as_of - timedelta(days=params.window_days),
            "to": as_of + timedelta(days=params.window_days),
            "threshold": params.threshold,
        },
    )


def _describe_discount(evidence: dict) -> str:
    return _("%(count)s discount or contract-change request(s); renewal %(renewal)s.") % {
        "count": evidence["count"],
        "renewal": relative_day(evidence["renewal_date"]),
    }


# --- Renewal approaching with no recent contact -----------------------------------


def _renewal_aggregates(params: Params, end: datetime) -> dict:
    return {"last": Max("occurred_at")}


def _renewal_no_contact(facts: Facts, params: Params) -> Finding | None:
    if facts.renewal_date is None:
        return None
    days_to_renewal = (facts.renewal_date - facts.as_of).days
    last = facts.aggregates.get("last")
    days_since_contact = _days(last, facts)
    quiet = days_since_contact is None or days_since_contact >= params.threshold
    evidence = {"renewal_date": facts.renewal_date.isoformat(), "last_contact": _iso(last, facts)}
    return Finding(0 <= days_to_renewal <= params.window_days and quiet, evidence)


def _renewal_screen(params: Params, as_of: date, end: datetime) -> Screen:
    # "No contact for `threshold` days" with a day to spare (clock changes).
    return Screen(
        might_flag="{c.renewal_date} IS NOT NULL AND {c.renewal_date} BETWEEN %(from)s AND %(to)s"
        " AND ({a.last} IS NULL OR {a.last} < %(contact_before)s)",
        has_data="{c.renewal_date} IS NOT NULL",
        values={
            "from": as_of,
            "to": as_of + timedelta(days=params.window_days),
            "contact_before": end - timedelta(days=float(params.threshold) - 1),
        },
    )


def _describe_renewal(evidence: dict) -> str:
    renewal = relative_day(evidence["renewal_date"])
    if evidence["last_contact"] is None:
        return _("Renewal %(renewal)s and never contacted.") % {"renewal": renewal}
    return _("Renewal %(renewal)s, last contact %(contact)s.") % {
        "renewal": renewal,
        "contact": relative_day(evidence["last_contact"]),
    }


# --- Cancellation or non-renewal ------------------------------------------------


def _cancellation_aggregates(params: Params, end: datetime) -> dict:
    recent = Q(occurred_at__gte=_window_start(end, params))
    return {
        "count": Count("id", filter=recent & Q(kind=Interaction.Kind.CANCELLATION)),
        "last": Max("occurred_at", filter=recent & Q(kind=Interaction.Kind.CANCELLATION)),
        "any": Count("id"),
    }


def _cancellation(facts: Facts, params: Params) -> Finding | None:
    if not facts.aggregates.get("any"):
        return None  # no history at all: nothing to say either way
    count = facts.aggregates["count"]
    evidence = {"count": count, "last": _iso(facts.aggregates.get("last"), facts)}
    return Finding(count >= params.threshold, evidence)


def _cancellation_screen(params: Params, as_of: date, end: datetime) -> Screen:
    return Screen("{a.count} >= %(threshold)s", "{a.any} > 0", {"threshold": params.threshold})


def _describe_cancellation(evidence: dict) -> str:
    if evidence["last"] is None:  # flagged with a threshold of 0: no request at all
        return _("Cancellation flagged without a request (threshold 0).")
    return _("Asked to cancel or not renew %(when)s.") % {"when": relative_day(evidence["last"])}


BUILT_IN = [
    Signal(
        key="inactivity",
        label=gettext_lazy("Long inactivity"),
        description=gettext_lazy("No interaction or purchase for longer than usual."),
        threshold_help=gettext_lazy("Times the customer's usual gap between contacts."),
        window_help=gettext_lazy("Days without contact when the customer has no rhythm yet."),
        default_weight=25,
        default_onboarding_weight=35,
        default_threshold=Decimal("3"),
        default_window_days=60,
        aggregates=_inactivity_aggregates,
        evaluate=_inactivity,
        screen=_inactivity_screen,
        describe=_describe_inactivity,
    ),
    Signal(
        key="complaints",
        label=gettext_lazy("Complaints or negative feedback"),
        description=gettext_lazy("Complaints or interactions with negative sentiment."),
        threshold_help=gettext_lazy("How many within the window flag the customer."),
        window_help=gettext_lazy("Days to look back."),
        default_weight=25,
        default_onboarding_weight=25,
        default_threshold=Decimal("1"),
        default_window_days=90,
        aggregates=_complaints_aggregates,
        evaluate=_complaints,
        screen=_complaints_screen,
        describe=_describe_complaints,
    ),
    Signal(
        key="service_requests",
        label=gettext_lazy("Many service requests"),
        description=gettext_lazy("Too many service requests in a short window."),
        threshold_help=gettext_lazy("How many within the window flag the customer."),
        window_help=gettext_lazy("Days to look back."),
        default_weight=15,
        default_onboarding_weight=20,
        default_threshold=Decimal("3"),
        default_window_days=30,
        aggregates=_service_aggregates,
        evaluate=_service_requests,
        screen=_service_screen,
        describe=_describe_service,
    ),
    Signal(
        key="discount_near_renewal",
        label=gettext_lazy("Discount request near renewal"),
        description=gettext_lazy(
            "A discount or contract-change request close to the renewal date."
        ),
        threshold_help=gettext_lazy("How many requests flag the customer."),
        window_help=gettext_lazy("Days before or after the renewal date that count as close."),
        default_weight=20,
        default_onboarding_weight=10,
        default_threshold=Decimal("1"),
        default_window_days=60,
        aggregates=_discount_aggregates,
        evaluate=_discount_near_renewal,
        screen=_discount_screen,
        describe=_describe_discount,
    ),
    Signal(
        key="renewal_no_contact",
        label=gettext_lazy("Renewal near, no recent contact"),
        description=gettext_lazy("The renewal date approaches and nobody has talked to them."),
        threshold_help=gettext_lazy("Days since the last contact that count as no recent contact."),
        window_help=gettext_lazy("Days before the renewal date to start flagging."),
        default_weight=20,
        default_onboarding_weight=10,
        default_threshold=Decimal("30"),
        default_window_days=30,
        aggregates=_renewal_aggregates,
        evaluate=_renewal_no_contact,
        screen=_renewal_screen,
        describe=_describe_renewal,
    ),
    Signal(
        key="cancellation",
        label=gettext_lazy("Cancellation or non-renewal"),
        description=gettext_lazy("The customer asked to cancel or not to renew."),
        threshold_help=gettext_lazy("How many requests flag the customer."),
        window_help=gettext_lazy("Days to look back."),
        default_weight=40,
        default_onboarding_weight=40,
        default_threshold=Decimal("1"),
        default_window_days=180,
        aggregates=_cancellation_aggregates,
        evaluate=_cancellation,
        screen=_cancellation_screen,
        describe=_describe_cancellation,
        forces_level="high",
    ),
]
