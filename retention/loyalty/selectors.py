"""Reads for the loyalty pages: the monthly totals and the leading accounts.

The monthly totals come from PointsMonth, a small table every ledger write keeps in
step (ledger.py), so the overview never sums the ledger.
"""

from datetime import date, timedelta

from django.utils import timezone

from .models import PointsAccount, PointsMonth


def monthly_totals(*, months: int = 12, today: date | None = None) -> list[dict]:
    """Points issued (earned and positive corrections), redeemed and expired per month."""
    today = today or timezone.localdate()
    first = today.replace(day=1)
    for _step in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    by_month = {row.month: row for row in PointsMonth.objects.filter(month__gte=first)}
    result = []
    month = first
    while month <= today:
        row = by_month.get(month, PointsMonth(month=month))
        result.append(
            {
                "month": month,
                "issued": row.issued,
                "redeemed": row.redeemed,
                "expired": row.expired,
            }
        )
        month = (month + timedelta(days=32)).replace(day=1)
    return result


def top_accounts(limit: int = 10):
    return (
        PointsAccount.objects.select_related("customer", "tier")
        .filter(lifetime_points__gt=0)
        .order_by("-lifetime_points", "id")[:limit]
    )
