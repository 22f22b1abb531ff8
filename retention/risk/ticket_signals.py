"""Churn-risk signals from complaints and service requests: complaints and negative
feedback by count and recency, a complaint left unanswered, many service requests."""

from datetime import datetime

import numpy as np
from django.db.models import Count, Max, Min, Q
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
    count_days,
    days_to,
    recency,
    relative_day,
    saturating,
    window,
)

Kind = Interaction.Kind

# --- Complaints and negative feedback, by count and recency -------------------------------

NEGATIVE = Q(kind=Kind.COMPLAINT) | Q(sentiment=Interaction.Sentiment.NEGATIVE)


def _complaints_aggregates(params: Params, end: datetime) -> dict:
    recent = window(params, end) & NEGATIVE
    return {
        "count": Count("id", filter=recent),
        "last": EpochDays(Max("occurred_at", filter=recent)),
    }


def _complaints(chunk: Chunk, params: Params) -> Strength:
    count, last = chunk["complaints__count"], chunk["complaints__last"]
    strength = np.where(count > 0, saturating(count, params.threshold), 0.0)
    strength = strength * np.nan_to_num(recency(chunk, last, params), nan=1.0)
    evidence = {"count": count, "last": last, "window": params.window_days}
    return Strength(strength, evidence, as_dates=("last",))


def _describe_complaints(evidence: dict, as_of) -> str:
    count = int(evidence["count"])
    if not count:
        return _("No complaint or negative interaction in %(days)s.") % {
            "days": count_days(int(evidence.get("window", 90)))
        }
    return ngettext(
        "%(count)s complaint or negative interaction in %(days)s, the latest %(when)s.",
        "%(count)s complaints or negative interactions in %(days)s, the latest %(when)s.",
        count,
    ) % {
        "count": count,
        "days": count_days(int(evidence.get("window", 90))),
        "when": relative_day(evidence["last"], as_of),
    }


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
    return {"count": Count("id", filter=window(params, end) & Q(kind=Kind.SERVICE_REQUEST))}


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


SIGNALS = [
    Signal(
        key="complaints",
        label=gettext_lazy("Complaints or negative feedback"),
        description=gettext_lazy(
            "Complaints or interactions with negative sentiment, by count and how recent."
        ),
        # Translators: xgettext:no-python-format ("63 %" is text, not a format)
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
        # Translators: xgettext:no-python-format ("63 %" is text, not a format)
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
]
