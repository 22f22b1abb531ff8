"""Points expiry: the unspent part of old points is written off each night.

Expiry (optional, LoyaltySettings.expiry_months = N) is first in, first out:
spending and negative corrections use up the oldest points first, so what
expires each night is the part of the points earned more than N months ago
that has not been spent yet: max(0, old credits − all debits so far). The
expiry entries are debits too, so re-running the same night expires nothing more.
"""

from datetime import date

from django.db import transaction
from django.db.models import F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from .ledger import BATCH_SIZE, _count_in_months, _ensure_accounts, accounts_rebuild, start_of
from .models import LoyaltySettings, PointsAccount, PointsEntry

Kind = PointsEntry.Kind


def expire_points(*, today: date | None = None) -> int:
    """Expire the unspent part of points older than N months, first in first out.

    Returns the number of points expired. Safe to run twice (see the module docstring).
    """
    rules = LoyaltySettings.load()
    if not rules.expiry_months:
        return 0
    today = today or timezone.localdate()
    cutoff = _months_before(today, rules.expiry_months)
    customer_ids = [row[0] for row in _unspent_old_points(cutoff)]
    total = 0
    for start in range(0, len(customer_ids), BATCH_SIZE):
        ids = customer_ids[start : start + BATCH_SIZE]
        with transaction.atomic():
            # Lock first, then count again: a redemption in between is taken into account.
            _ensure_accounts(ids)
            list(
                PointsAccount.objects.select_for_update()
                .filter(customer_id__in=ids)
                .order_by("customer_id")
                .values_list("pk", flat=True)
            )
            entries = [
                PointsEntry(
                    customer_id=customer_id,
                    kind=Kind.EXPIRE,
                    points=-unspent,
                    reason=_("Points earned before %(date)s expired")
                    % {"date": cutoff.isoformat()},
                    source_key=f"expire:{customer_id}:{today.isoformat()}",
                )
                for customer_id, unspent in _unspent_old_points(cutoff, customer_ids=ids)
            ]
            PointsEntry.objects.bulk_create(entries)
            accounts_rebuild(ids)
            _count_in_months(entries)
        total += sum(-entry.points for entry in entries)
    return total


def _unspent_old_points(cutoff: date, customer_ids=None) -> list[tuple[int, int]]:
    """(customer id, points) earned before `cutoff` and not used up by any debit (FIFO)."""
    entries = PointsEntry.objects.all()
    if customer_ids is not None:
        entries = entries.filter(customer_id__in=customer_ids)
    rows = (
        entries.values("customer_id")
        .annotate(
            old_credits=Coalesce(
                Sum("points", filter=Q(points__gt=0, created_at__lt=start_of(cutoff))), 0
            ),
            debits=Coalesce(Sum("points", filter=Q(points__lt=0)), 0),
        )
        .filter(old_credits__gt=-F("debits"))
        .order_by("customer_id")
        .values_list("customer_id", "old_credits", "debits")
    )
    return [(customer_id, old + debits) for customer_id, old, debits in rows]


def _months_before(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 - months
    year, month = divmod(month_index, 12)
    month += 1
    for day_of_month in (day.day, 30, 29, 28):
        try:
            return date(year, month, day_of_month)
        except ValueError:
            continue
    raise AssertionError("unreachable")
