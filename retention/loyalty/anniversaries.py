"""Anniversaries: the yearly bonus on the day a customer joined, and the one-year badge.

Run by the nightly job (nightly.py), set-based and in batches; each year's bonus has
its own source key, so a re-run pays nothing twice. A missed night is caught up
within a week, and 29 February is celebrated on the 28th in other years.
"""

from datetime import date, timedelta

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import ngettext

from customers.models import Customer

from .ledger import BATCH_SIZE, _bulk_earn, _ensure_accounts
from .models import CustomerBadge, LoyaltySettings, PointsAccount, PointsEntry

Kind = PointsEntry.Kind
Badge = CustomerBadge.Kind

# A nightly run missed (server down) still pays an anniversary within this many days.
ANNIVERSARY_CATCH_UP_DAYS = 7


def _anniversary_dates(today: date, since: date) -> list[date]:
    start = max(since, today - timedelta(days=ANNIVERSARY_CATCH_UP_DAYS))
    return [start + timedelta(days=n) for n in range((today - start).days + 1)]


def award_anniversaries(*, today: date | None = None) -> int:
    """The anniversary bonus, once per customer and year; the one-year badge. Idempotent.

    A customer celebrates on the day their `customer_since` comes round (29 February
    on the 28th in other years). Missed nights are caught up for a week; days before
    the programme started (LoyaltySettings.purchases_since) pay nothing.
    """
    today = today or timezone.localdate()
    rules = LoyaltySettings.load()
    eligible = Customer.objects.active().filter(
        status__in=[Customer.Status.ACTIVE, Customer.Status.AT_RISK, Customer.Status.ONBOARDING],
        customer_since__lte=today - timedelta(days=365),
    )
    # The badge: everyone a year in who has not got it (set-based, ignore duplicates).
    one_year_ids = list(
        eligible.exclude(points_account__badges__kind=Badge.ONE_YEAR).values_list("pk", flat=True)
    )
    for start in range(0, len(one_year_ids), BATCH_SIZE):
        chunk = one_year_ids[start : start + BATCH_SIZE]
        with transaction.atomic():
            _ensure_accounts(chunk)
            CustomerBadge.objects.bulk_create(
                [
                    CustomerBadge(account_id=account_id, kind=Badge.ONE_YEAR)
                    for account_id in PointsAccount.objects.filter(
                        customer_id__in=chunk
                    ).values_list("pk", flat=True)
                ],
                ignore_conflicts=True,
            )
    if not rules.anniversary_bonus:
        return 0
    days = Q(pk__in=[])
    for day in _anniversary_dates(today, rules.purchases_since):
        days |= Q(customer_since__month=day.month, customer_since__day=day.day)
        if day.month == 2 and day.day == 28 and not _is_leap(day.year):
            days |= Q(customer_since__month=2, customer_since__day=29)
    entries = [
        PointsEntry(
            customer_id=pk,
            kind=Kind.EARN,
            points=rules.anniversary_bonus,
            reason=ngettext(
                "Anniversary: %(years)s year with us", "Anniversary: %(years)s years with us", years
            )
            % {"years": years},
            source_key=f"anniversary:{pk}:{today.year}",
        )
        for pk, since in eligible.filter(days).values_list("pk", "customer_since")
        for years in [today.year - since.year]
    ]
    total = 0
    for start in range(0, len(entries), BATCH_SIZE):
        total += _bulk_earn(entries[start : start + BATCH_SIZE])
    return total


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
