"""Net Promoter Score arithmetic and the per-period figures of the results page.

NPS = % promoters (9–10) − % detractors (0–6), from −100 to +100; passives (7–8)
count in the total only. No answers means no score (None), never 0.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncQuarter, TruncWeek

PROMOTER = "promoter"
PASSIVE = "passive"
DETRACTOR = "detractor"

PROMOTER_FROM = 9
PASSIVE_FROM = 7

PERIODS = {"week": TruncWeek, "month": TruncMonth, "quarter": TruncQuarter}


def category(score: int) -> str:
    if not 0 <= score <= 10:
        raise ValueError(f"An NPS answer is 0 to 10, not {score}")
    if score >= PROMOTER_FROM:
        return PROMOTER
    if score >= PASSIVE_FROM:
        return PASSIVE
    return DETRACTOR


def net_promoter_score(promoters: int, passives: int, detractors: int) -> float | None:
    """The NPS from the three counts, rounded to one decimal; None with no answers."""
    total = promoters + passives + detractors
    if total == 0:
        return None
    return round(100 * (promoters - detractors) / total, 1)


def score_of(scores: list[int]) -> float | None:
    """The NPS of a list of 0–10 answers."""
    counts = {PROMOTER: 0, PASSIVE: 0, DETRACTOR: 0}
    for score in scores:
        counts[category(score)] += 1
    return net_promoter_score(counts[PROMOTER], counts[PASSIVE], counts[DETRACTOR])


@dataclass(frozen=True)
class Figure:
    """The NPS of one period (or overall, period None)."""

    period: datetime | None
    promoters: int
    passives: int
    detractors: int

    @property
    def total(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        return net_promoter_score(self.promoters, self.passives, self.detractors)


def category_q(name: str, field: str = "nps_score") -> Q:
    """The condition on a score column for one category (the bands in SQL, written once)."""
    if name == PROMOTER:
        return Q(**{f"{field}__gte": PROMOTER_FROM})
    if name == PASSIVE:
        return Q(**{f"{field}__gte": PASSIVE_FROM, f"{field}__lt": PROMOTER_FROM})
    if name == DETRACTOR:
        return Q(**{f"{field}__lt": PASSIVE_FROM})
    raise ValueError(f"not an NPS category: {name}")


def category_counts() -> dict:
    """The three counts as aggregates over SurveyResponse rows (the results page groups
    them by calendar period, the dashboard by its own periods). They count the score
    column itself, not the id, so the (survey, submitted_at, nps_score) index answers
    them alone (an index-only scan)."""
    return {
        "promoters": Count("nps_score", filter=category_q(PROMOTER)),
        "passives": Count("nps_score", filter=category_q(PASSIVE)),
        "detractors": Count("nps_score", filter=category_q(DETRACTOR)),
    }


def overall(responses: QuerySet) -> Figure:
    row = responses.filter(nps_score__isnull=False).aggregate(**category_counts())
    return Figure(period=None, **row)


def combined(figures: list[Figure]) -> Figure:
    """The overall figure from the per-period ones (no second pass over the answers)."""
    return Figure(
        period=None,
        promoters=sum(f.promoters for f in figures),
        passives=sum(f.passives for f in figures),
        detractors=sum(f.detractors for f in figures),
    )


def by_period(responses: QuerySet, period: str = "month") -> list[Figure]:
    """One figure per period that has answers, oldest first (one GROUP BY query)."""
    trunc = PERIODS[period]
    rows = (
        responses.filter(nps_score__isnull=False)
        .annotate(period=trunc("submitted_at"))
        .values("period")
        .order_by("period")
        .annotate(**category_counts())
    )
    return [Figure(**row) for row in rows]
