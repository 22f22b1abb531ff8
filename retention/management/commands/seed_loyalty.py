"""Demo loyalty: a small reward catalogue (when there is none) and the points the
demo history earns (purchases, anniversaries), through the same idempotent nightly
job the worker runs. Run by `make run` after seed_demo.

On the first run (no catalogue yet) it also gives the year a history: the nightly job
pays a backfill "tonight", so each purchase's points are dated back to the purchase,
and customers redeem some of their points for coupons over the year (most coupons
are used within weeks). The balances and the monthly totals are then rebuilt from
the ledger with the ledger's own repairs.
"""

import random
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from customers.languages import business_language
from customers.models import Interaction
from retention.loyalty import ledger, nightly, redemption
from retention.loyalty.models import Coupon, LoyaltySettings, PointsEntry, Reward

CATALOGUE = [
    (Reward.Kind.PERCENT_OFF, Decimal("10"), 300),
    (Reward.Kind.AMOUNT_OFF, Decimal("25"), 500),
    (Reward.Kind.FREE_SHIPPING, None, 150),
    (Reward.Kind.FREE_MONTH, None, 1500),
]
# A reward's name is the business's own text (customers read it on the loyalty card), so
# the demo writes it once, in the business's language (BUSINESS_LANGUAGE).
REWARD_NAMES = {
    "en": [
        "10 % off your next order",
        "25 off your next invoice",
        "Free shipping",
        "One month free",
    ],
    "de": [
        "10 % Rabatt auf Ihre nächste Bestellung",
        "25 Rabatt auf Ihre nächste Rechnung",
        "Kostenloser Versand",
        "Ein Monat gratis",
    ],
    "tr": [
        "Bir sonraki siparişinizde %10 indirim",
        "Bir sonraki faturanızda 25 indirim",
        "Ücretsiz kargo",
        "Bir ay ücretsiz",
    ],
    "zh-hant": [
        "下次訂購享九折",
        "下一期帳單折抵25",
        "免運費",
        "免費使用一個月",
    ],
}
# The demo's earning rate: one point per 25 spent. Its customers are businesses (a year's
# spend of a few hundred to a few hundred thousand), so at 1 point per unit the top ones
# would hold 100,000+ points against rewards of 150-1,500; at this rate they hold a few
# thousand, and a typical customer reaches a reward within the year.
DEMO_POINTS_PER_UNIT = Decimal("0.04")
# After each purchase, the chance the customer spends points on a reward they can afford.
REDEEMS = 0.3
MAX_COUPONS = 4
USED = 0.65


class Command(BaseCommand):
    help = "Create a demo reward catalogue (if empty) and award the points the history earns."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=3)

    def handle(self, *args, seed: int, **options) -> None:
        first_run = not Reward.objects.exists()
        if first_run:
            # The demo programme started a year ago, so the demo purchases earn points.
            rules = LoyaltySettings.load()
            rules.purchases_since = timezone.localdate() - timedelta(days=365)
            rules.points_per_unit = DEMO_POINTS_PER_UNIT
            rules.save()
            names = REWARD_NAMES[business_language()]
            Reward.objects.bulk_create(
                Reward(name=name, kind=kind, value=value, points_price=price)
                for name, (kind, value, price) in zip(names, CATALOGUE, strict=True)
            )
        outcome = nightly.nightly()
        if first_run:
            rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
            outcome["coupons"] = self.year_of_history(rng)
        self.stdout.write(self.style.SUCCESS(f"Loyalty demo: {outcome}"))

    @transaction.atomic
    def year_of_history(self, rng: random.Random) -> int:
        entries = list(
            PointsEntry.objects.filter(source_key__startswith="purchase:").order_by(
                "customer_id", "id"
            )
        )
        occurred = dict(
            Interaction.objects.filter(
                pk__in=[int(entry.source_key.split(":")[1]) for entry in entries]
            ).values_list("pk", "occurred_at")
        )
        for entry in entries:
            entry.created_at = occurred.get(int(entry.source_key.split(":")[1]), entry.created_at)
        PointsEntry.objects.bulk_update(entries, ["created_at"], batch_size=1000)
        redemptions = self.redemptions(rng, sorted(entries, key=_by_customer_and_time))
        spent = PointsEntry.objects.bulk_create([entry for entry, _coupon in redemptions])
        for entry, coupon in zip(spent, [coupon for _entry, coupon in redemptions], strict=True):
            coupon.entry = entry
        Coupon.objects.bulk_create([coupon for _entry, coupon in redemptions])
        ledger.accounts_rebuild({entry.customer_id for entry in entries})
        ledger.months_rebuild()
        return len(redemptions)

    def redemptions(self, rng: random.Random, earned: list[PointsEntry]) -> list[tuple]:
        """Redemptions that never spend more than was earned before them."""
        now = timezone.now()
        rewards = sorted(Reward.objects.filter(active=True), key=lambda reward: reward.points_price)
        valid_days = LoyaltySettings.load().coupon_valid_days
        planned, balance, customer_id, coupons = [], 0, None, 0
        for earning in earned:
            if earning.customer_id != customer_id:
                balance, customer_id, coupons = 0, earning.customer_id, 0
            balance += earning.points
            affordable = [reward for reward in rewards if reward.points_price <= balance]
            if not affordable or coupons >= MAX_COUPONS or rng.random() >= REDEEMS:
                continue
            reward = rng.choice(affordable)
            when = earning.created_at + timedelta(days=rng.randint(1, 20), hours=rng.randint(1, 9))
            if when >= now:
                continue
            balance -= reward.points_price
            coupons += 1
            used = when + timedelta(days=rng.randint(1, 45), hours=rng.randint(0, 8))
            expires_on = timezone.localdate(when) + timedelta(days=valid_days)
            is_used = rng.random() < USED and used < now and timezone.localdate(used) <= expires_on
            entry = PointsEntry(
                customer_id=customer_id,
                kind=PointsEntry.Kind.REDEEM,
                points=-reward.points_price,
                reason=f"Redeemed: {reward.name}",
                created_at=when,
            )
            coupon = Coupon(
                code=redemption.generate_code(),
                customer_id=customer_id,
                reward=reward,
                points_spent=reward.points_price,
                reward_name=reward.name,
                reward_kind=reward.kind,
                reward_value=reward.value,
                expires_on=expires_on,
                used_at=used if is_used else None,
                created_at=when,
            )
            planned.append((entry, coupon))
        return planned


def _by_customer_and_time(entry: PointsEntry) -> tuple:
    return (entry.customer_id, entry.created_at, entry.pk)
