"""Two churn-risk signals fed by NPS answers, registered by SurveysConfig.ready().

Each reads the customer's latest NPS answer within the window (one query per
chunk of customers): a passive (7–8) or a detractor (0–6, stronger the lower) raises
the risk. A
customer who has not answered in the window has no data for these signals, so
they are left out of the score rather than counted as happy.
"""

import time
from datetime import date, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from retention.risk import signals
from retention.risk.signals import end_of_day

from . import nps
from .models import SurveyResponse

# Both signals ask for the same chunk one right after the other: the second one reuses
# the rows the first read (once, and only within a few seconds), saving a query per chunk.
_last_read: dict[tuple, tuple[float, dict]] = {}
REUSE_SECONDS = 5.0


def latest_answers(id_from: int, id_to: int, as_of: date, params: signals.Params) -> dict:
    """Per customer of the chunk: their latest NPS answer in the window up to `as_of`."""
    key = (id_from, id_to, as_of, params.window_days)
    read_at, result = _last_read.pop(key, (0.0, None))
    if result is not None and time.monotonic() - read_at < REUSE_SECONDS:
        return result
    _last_read.clear()
    result = _read_latest_answers(id_from, id_to, as_of, params.window_days)
    _last_read[key] = (time.monotonic(), result)
    return result


def _read_latest_answers(id_from: int, id_to: int, as_of: date, window_days: int) -> dict:
    end = end_of_day(as_of)
    rows = (
        SurveyResponse.objects.filter(
            customer_id__gte=id_from,
            customer_id__lt=id_to,
            nps_score__isnull=False,
            submitted_at__lt=end,
            submitted_at__gte=end - timedelta(days=window_days),
        )
        .order_by("customer_id", "-submitted_at", "-id")
        .values_list("customer_id", "nps_score", "submitted_at")
    )
    latest: dict[int, dict] = {}
    for customer_id, score, submitted_at in rows:
        if customer_id not in latest:
            latest[customer_id] = {
                "score": score,
                "answered_on": timezone.localdate(submitted_at).isoformat(),
                "category": nps.category(score),
            }
    return latest


def _facts_for(category: str, strength_of):
    """The chunk's latest answers as this signal's (strength, evidence): one query per
    chunk, shared with the other NPS signal; customers without an answer have no data."""

    def chunk_facts(id_from: int, id_to: int, as_of: date, params: signals.Params) -> dict:
        answers = latest_answers(id_from, id_to, as_of, params)
        return {
            customer_id: (strength_of(answer["score"]) if answer["category"] == category else 0.0,
                          answer)
            for customer_id, answer in answers.items()
        }  # fmt: skip

    return chunk_facts


def describe_passive(evidence: dict, as_of: date) -> str:
    return _("Answered %(score)s (passive) to the NPS survey %(when)s.") % {
        "score": evidence["score"],
        "when": signals.relative_day(evidence["answered_on"], as_of),
    }


def describe_detractor(evidence: dict, as_of: date) -> str:
    return _("Answered %(score)s (detractor) to the NPS survey %(when)s.") % {
        "score": evidence["score"],
        "when": signals.relative_day(evidence["answered_on"], as_of),
    }


WINDOW_HELP = gettext_lazy("Days an NPS answer counts for.")
THRESHOLD_HELP = gettext_lazy("Not used: the latest answer's category decides.")

PASSIVE_NPS = signals.Signal(
    key="nps_passive",
    label=gettext_lazy("Passive NPS answer"),
    description=gettext_lazy("The latest NPS answer was 7 or 8: not unhappy, not loyal."),
    threshold_help=THRESHOLD_HELP,
    window_help=WINDOW_HELP,
    default_weight=0.5,
    default_threshold=1.0,
    default_window_days=180,
    describe=describe_passive,
    chunk_facts=_facts_for(nps.PASSIVE, lambda score: 1.0),
)

DETRACTOR_NPS = signals.Signal(
    key="nps_detractor",
    label=gettext_lazy("Detractor NPS answer"),
    description=gettext_lazy("The latest NPS answer was 0 to 6; the lower, the stronger."),
    threshold_help=THRESHOLD_HELP,
    window_help=WINDOW_HELP,
    default_weight=2.0,
    default_threshold=1.0,
    default_window_days=180,
    describe=describe_detractor,
    chunk_facts=_facts_for(nps.DETRACTOR, lambda score: (7 - score) / 7),
)
