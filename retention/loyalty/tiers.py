"""Tiers: the level a customer has reached, and the way to the next one.

Tiers follow *lifetime points*: everything earned plus adjustments (corrections
count both ways). Redeeming never costs a customer their tier, and expiry does
not either (the points were earned); a correction downwards or a raised
threshold can lower it. Posting an entry (ledger.py) puts its account in its tier;
`tiers_recompute` moves every account at once when the tiers themselves change.
"""

import math
from dataclasses import dataclass

from .models import PointsAccount, Tier


def tiers() -> list[Tier]:
    return list(Tier.objects.order_by("threshold"))


def tier_for(lifetime_points: int, all_tiers: list[Tier]) -> Tier | None:
    """The highest tier whose threshold the points reach (tiers sorted by threshold)."""
    reached = None
    for tier in all_tiers:
        if lifetime_points >= tier.threshold:
            reached = tier
    return reached


@dataclass(frozen=True)
class TierProgress:
    tier: Tier | None
    next_tier: Tier | None
    points_to_next: int
    percent: int  # of the way from this tier's threshold to the next one's


def tier_progress(lifetime_points: int, all_tiers: list[Tier]) -> TierProgress:
    tier = tier_for(lifetime_points, all_tiers)
    higher = [t for t in all_tiers if t.threshold > lifetime_points]
    next_tier = higher[0] if higher else None
    if next_tier is None:
        return TierProgress(tier, None, 0, 100)
    start = tier.threshold if tier else 0
    span = max(1, next_tier.threshold - start)
    percent = min(99, math.floor(100 * (lifetime_points - start) / span))
    return TierProgress(tier, next_tier, next_tier.threshold - lifetime_points, max(0, percent))


def tiers_recompute(*, customer_ids=None) -> None:
    """Put every account (or these) in the tier its lifetime points reach: one UPDATE per tier."""
    accounts = PointsAccount.objects.all()
    if customer_ids is not None:
        accounts = accounts.filter(customer_id__in=customer_ids)
    all_tiers = tiers()
    if not all_tiers:
        accounts.update(tier=None)
        return
    accounts.filter(lifetime_points__lt=all_tiers[0].threshold).update(tier=None)
    for tier, higher in zip(all_tiers, [*all_tiers[1:], None], strict=True):
        band = accounts.filter(lifetime_points__gte=tier.threshold)
        if higher is not None:
            band = band.filter(lifetime_points__lt=higher.threshold)
        band.exclude(tier=tier).update(tier=tier)
