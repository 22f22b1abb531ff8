"""Loyalty on the loaded data set: the nightly job, then its pages.

1. The loyalty tables are emptied and the programme's start moved before the data
   set, so the first nightly run backfills points for every purchase (the worst
   case: the night after a large CSV import). Then the same night again (nothing to
   award: only the anti-join) and the anniversaries and expiry steps.
2. Rewards are added and the top customers redeem some, so lists have rows.
3. The overview, the coupon list (page 1, a search, a deep page), a points card on
   the customer page and the customer's public card are timed like bench/pages.py.

`python -m bench.loyalty` runs this part alone on an already loaded data set.
"""

import time
from dataclasses import dataclass
from datetime import date
from decimal import Decimal


@dataclass
class Step:
    label: str
    seconds: float
    outcome: str


def run(data, log=print) -> tuple[list[str], bool]:
    """Report lines (markdown) and whether every loyalty page met the target."""
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from customers.models import Customer
    from retention.loyalty import (
        anniversaries,
        card,
        expiry,
        ledger,
        nightly,
        redemption,
        selectors,
    )
    from retention.models import LoyaltySettings, PointsAccount, PointsEntry, Reward

    log("Loyalty: emptying the loyalty tables ...")
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE retention_coupon, retention_customerbadge, retention_pointsentry, "
            "retention_pointsaccount, retention_reward"
        )
    settings = LoyaltySettings.load()
    settings.purchases_since = date(2000, 1, 1)
    settings.expiry_months = 12
    settings.save()

    steps = []
    for label, action in [
        ("purchases, first run (backfill)", nightly.award_unawarded_purchases),
        ("purchases, same night again", nightly.award_unawarded_purchases),
        ("anniversaries and one-year badges", anniversaries.award_anniversaries),
        ("expiry (12 months, FIFO)", expiry.expire_points),
        ("expiry, same night again", expiry.expire_points),
        ("reconcile accounts with the ledger", lambda: len(ledger.accounts_reconcile())),
    ]:
        log(f"  {label} ...")
        started = time.perf_counter()
        outcome = action()
        steps.append(Step(label, time.perf_counter() - started, f"{outcome:,}"))
        log(f"      {steps[-1].seconds:.1f} s -> {outcome:,}")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE retention_pointsentry")
        cursor.execute("VACUUM ANALYZE retention_pointsaccount")

    rewards = [
        Reward.objects.create(
            name="10% off", kind="percent_off", value=Decimal(10), points_price=100
        ),
        Reward.objects.create(name="Free shipping", kind="free_shipping", points_price=50),
    ]
    redeemers = list(selectors.top_accounts(limit=300).values_list("customer_id", flat=True))
    customers = Customer.objects.in_bulk(redeemers)
    for customer_id in redeemers:
        for reward in rewards:
            redemption.reward_redeem(customer=customers[customer_id], reward=reward)
    longest = Customer.objects.get(pk=data.longest_history_pk)
    entries = PointsEntry.objects.count()
    accounts = PointsAccount.objects.count()

    from . import pages

    client = Client()
    client.force_login(data.admin)
    coupons = reverse("retention:loyalty_coupons")
    page_list = [
        pages.Page("Loyalty overview", "admin", reverse("retention:loyalty")),
        pages.Page("Coupons, page 1", "admin", coupons),
        pages.Page("Coupons, search a customer", "admin", f"{coupons}?q={data.search_term}"),
        pages.Page("Coupons, page 20", "admin", f"{coupons}?page=20"),
        pages.Page(
            "Points card on the customer page",
            "admin",
            reverse("customers:panel", args=[longest.pk, "loyalty"]),
        ),
        pages.Page("Customer's own card (public)", "public", card.card_url(longest)),
    ]
    clients = {"admin": client, "public": Client()}
    timings = []
    for page in page_list:
        for _ in range(pages.WARM_UPS):
            pages._get(clients[page.client], page.url)
        timings.append(pages.Timing(page, page.url, [], [], []))
    for _ in range(pages.RUNS):
        for timing in timings:
            pages.measure_once(timing, clients[timing.page.client])

    lines = [
        "## Loyalty",
        "",
        f"Nightly job on {accounts:,} points accounts; {entries:,} ledger entries after it "
        f"and {len(redeemers) * len(rewards):,} redemptions.",
        "",
        "| nightly step | seconds | result |",
        "|---|---:|---:|",
        *(f"| {step.label} | {step.seconds:.1f} | {step.outcome} |" for step in steps),
        "",
        *_page_table(timings),
    ]
    return lines, all(timing.passed for timing in timings)


def _page_table(timings) -> list[str]:
    from . import pages

    rows = [
        "| page | median ms | p95 ms | queries | SQL ms (median) | target ms | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for timing in timings:
        sql_ms = sorted(timing.sql_ms)[len(timing.sql_ms) // 2]
        rows.append(
            f"| {timing.page.label} | {timing.median_ms:.1f} | {timing.p95_ms:.1f} | "
            f"{timing.queries} | {sql_ms:.1f} | {pages.TARGET_MS:.0f} | "
            f"{'PASS' if timing.passed else 'FAIL'} |"
        )
    return rows


def main() -> int:
    import os
    import sys

    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from django.core.management import call_command

    from . import load

    call_command("migrate", verbosity=0)
    lines, passed = run(load.ensure_loaded())
    print("\n".join(lines))
    sys.stdout.flush()
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
