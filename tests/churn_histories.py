"""Generated shop histories with a known churn process, for the risk model's tests.

Three kinds of customer, as a shop's imported sales log has them:
- loyal buyers, each at their own rhythm (every 7 to 60 days, with jitter), half of
  whom stop at a random moment;
- one-time buyers who never come back;
- first-time buyers who come back and then buy at a slow rhythm (20 to 80 days),
  half of whom stop at a random moment.

Imported: `created_at` is the import time (now), half have no `customer_since`, so
the relationship must start at the first purchase for past dates to be scored.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from customers.models import Customer, Interaction

HISTORY_DAYS = 800


def _purchase_days(rng: random.Random, first: float, gap: float, stop: float) -> list[float]:
    days, day = [], first
    while day < stop and day < 0:
        days.append(day)
        day += gap * rng.uniform(0.7, 1.3)
    return days


def generate(customers: int = 3000, seed: int = 13) -> dict[str, int]:
    """Create the customers and their purchases; returns how many of each kind."""
    rng = random.Random(seed)  # noqa: S311 (test data, not secrets)
    now = timezone.now()
    kinds = {"loyal": 0, "one_time": 0, "returning": 0}
    plans = []
    for index in range(customers):
        roll = rng.random()
        if roll < 0.4:
            kind, gap = "loyal", rng.uniform(7, 60)
            first = rng.uniform(-HISTORY_DAYS, -200)
            stop = rng.uniform(first + 3 * gap, 0) if rng.random() < 0.5 else 1.0
            days = _purchase_days(rng, first, gap, stop)
        elif roll < 0.7:
            kind, days = "one_time", [rng.uniform(-HISTORY_DAYS + 100, 0)]
        else:
            kind, gap = "returning", rng.uniform(20, 80)
            first = rng.uniform(-HISTORY_DAYS + 100, -30)
            stop = rng.uniform(first + gap, 0) if rng.random() < 0.5 else 1.0
            days = [first, *_purchase_days(rng, first + gap * rng.uniform(0.5, 2), gap, stop)]
        kinds[kind] += 1
        plans.append((index, kind, days))
    created = Customer.objects.bulk_create(
        [
            Customer(
                name=f"Shop customer {index}",
                email=f"buyer{index}@example.com",
                status=Customer.Status.ACTIVE,
                customer_since=(now + timedelta(days=days[0])).date() if index % 2 else None,
                created_at=now,  # the import's time, not the relationship's start
                search_text=f"shop customer {index}",
            )
            for index, _kind, days in plans
        ]
    )
    Interaction.objects.bulk_create(
        [
            Interaction(
                customer=customer,
                kind=Interaction.Kind.PURCHASE,
                subject="Order",
                amount=Decimal(rng.randint(5, 120)),
                occurred_at=now + timedelta(days=day),
            )
            for customer, (_index, _kind, days) in zip(created, plans, strict=True)
            for day in days
        ],
        batch_size=2000,
    )
    return kinds
