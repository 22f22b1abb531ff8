"""What the customer did, per customer, shared by several signals and the value.

"Activity" is what the customer did: purchases, complaints, requests and
cancellations whatever their direction, and calls, emails and meetings unless
outbound (a follow-up email we sent does not show that the customer is still here);
never internal notes. A refund is activity on the same terms as a call (unless
outbound or internal) but never a purchase: it does not show that the customer bought,
so the purchase recency and rhythm leave it out. Spend is net: purchases plus refunds,
which are stored negative. The history aggregates (recency, distinct active and purchase
days over two years, spend, monthly activity) are in every chunk query.
"""

from datetime import datetime, timedelta

import numpy as np
from django.db.models import Count, FloatField, Max, Min, Q, Sum
from django.db.models.functions import Cast, TruncDate

from customers.models import Interaction

from .signals import Chunk, EpochDays

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
# Net spend: refunds are stored negative, so money given back was not spent.
SPEND = Q(kind__in=[Kind.PURCHASE, Kind.REFUND])
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
        "spend_year": Cast(Sum("amount", filter=SPEND & year), FloatField()),
        "spend_recent": Cast(Sum("amount", filter=SPEND & recent), FloatField()),
        "spend_prior": Cast(Sum("amount", filter=SPEND & prior), FloatField()),
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
