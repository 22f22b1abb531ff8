"""Demo loyalty: a small reward catalogue (when there is none) and the points the
demo history earns (purchases, anniversaries), through the same idempotent nightly
job the worker runs. Run by `make run` after seed_demo."""

from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.utils import timezone

from retention.loyalty import nightly
from retention.loyalty.models import LoyaltySettings, Reward

CATALOGUE = [
    ("10 % off your next order", Reward.Kind.PERCENT_OFF, Decimal("10"), 300),
    ("25 off your next invoice", Reward.Kind.AMOUNT_OFF, Decimal("25"), 500),
    ("Free shipping", Reward.Kind.FREE_SHIPPING, None, 150),
    ("One month free", Reward.Kind.FREE_MONTH, None, 1500),
]


class Command(BaseCommand):
    help = "Create a demo reward catalogue (if empty) and award the points the history earns."

    def handle(self, *args, **options) -> None:
        if not Reward.objects.exists():
            # The demo programme started a year ago, so the demo purchases earn points.
            rules = LoyaltySettings.load()
            rules.purchases_since = timezone.localdate() - timedelta(days=365)
            rules.save()
            Reward.objects.bulk_create(
                Reward(name=name, kind=kind, value=value, points_price=price)
                for name, kind, value, price in CATALOGUE
            )
        outcome = nightly.nightly()
        self.stdout.write(self.style.SUCCESS(f"Loyalty demo: {outcome}"))
