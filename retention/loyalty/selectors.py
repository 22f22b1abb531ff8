"""Reads for the loyalty pages: the monthly totals and the leading accounts.

The monthly totals come from PointsMonth, a small table every ledger write keeps in
step (ledger.py), so the overview never sums the ledger.
"""

from datetime import date, datetime, time, timedelta

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import PointsAccount, PointsEntry, PointsMonth

Kind = PointsEntry.Kind


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


def points_sums() -> dict:
    """Points issued, redeemed and expired as aggregates over ledger entries, each a
    positive number: PointsMonth's rule (ledger._month_deltas) in SQL. Issued is every
    positive entry (earnings and corrections up); a correction down is in none of them."""
    return {
        "issued": Coalesce(Sum("points", filter=Q(points__gt=0)), 0),
        "redeemed": Coalesce(-Sum("points", filter=Q(points__lt=0, kind=Kind.REDEEM)), 0),
        "expired": Coalesce(-Sum("points", filter=Q(points__lt=0, kind=Kind.EXPIRE)), 0),
    }


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def points_totals(*, first: date, last: date, entries: Q | None = None) -> dict[str, int]:
    """Points issued, redeemed and expired on the days first..last (business time zone).

    `entries` narrows the ledger (e.g. one account manager's customers). Whole months of
    everyone's points are read from PointsMonth (one row a month); anything else sums
    the ledger over the created_at index. One query either way.
    """
    whole_months = first.day == 1 and (last + timedelta(days=1)).day == 1
    if whole_months and not entries:
        months = PointsMonth.objects.filter(month__gte=first, month__lte=last)
        row = months.aggregate(
            issued=Coalesce(Sum("issued"), 0),
            redeemed=Coalesce(Sum("redeemed"), 0),
            expired=Coalesce(Sum("expired"), 0),
        )
    else:
        ledger = PointsEntry.objects.filter(
            created_at__gte=_start_of(first), created_at__lt=_start_of(last + timedelta(days=1))
        )
        row = ledger.filter(entries or Q()).aggregate(**points_sums())
    return {key: int(value) for key, value in row.items()}
