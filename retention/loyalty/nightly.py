"""The nightly loyalty job: backfill purchase points and refunds, anniversaries, expiry, repairs.

Purchases logged one by one earn their points at once (receivers.py); CSV imports
skip that signal, so the night pays them here, set-based and in batches. Every step
is idempotent, so a re-run (or a retried task) pays and expires nothing twice.
"""

from decimal import Decimal

from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat
from django.utils.translation import gettext as _

from customers.models import Interaction

from .anniversaries import award_anniversaries
from .expiry import expire_points
from .ledger import BATCH_SIZE, _bulk_earn, accounts_reconcile, purchase_points, start_of
from .models import CustomerBadge, LoyaltySettings, PointsEntry
from .refunds import remove_unsettled_refunds

Kind = PointsEntry.Kind
Badge = CustomerBadge.Kind


def award_unawarded_purchases(*, batch_size: int = BATCH_SIZE) -> int:
    """Points for every purchase not yet awarded (CSV imports skip post_save). Idempotent."""
    rules = LoyaltySettings.load()
    if rules.points_per_unit <= 0:
        return 0
    awarded_key = PointsEntry.objects.filter(
        source_key=Concat(Value("purchase:"), Cast(OuterRef("pk"), CharField()))
    )
    pending = (
        Interaction.objects.filter(
            kind=Interaction.Kind.PURCHASE,
            amount__gte=Decimal(1) / rules.points_per_unit,
            occurred_at__gte=start_of(rules.purchases_since),
        )
        .exclude(Exists(awarded_key))
        .order_by("pk")
    )
    # The anti-join runs once (ids only); re-running it per batch would rescan every purchase.
    pending_ids = list(pending.values_list("pk", flat=True))
    total = 0
    for start in range(0, len(pending_ids), batch_size):
        batch = Interaction.objects.filter(
            pk__in=pending_ids[start : start + batch_size]
        ).values_list("pk", "customer_id", "amount", "subject")
        entries = []
        for pk, customer_id, amount, subject in batch:
            points = purchase_points(amount, rules)
            if points > 0:
                entries.append(
                    PointsEntry(
                        customer_id=customer_id,
                        kind=Kind.EARN,
                        points=points,
                        reason=(_("Purchase: %(subject)s") % {"subject": subject})[:200],
                        source_key=f"purchase:{pk}",
                    )
                )
        badges = {entry.customer_id: Badge.FIRST_PURCHASE for entry in entries}
        total += _bulk_earn(entries, badges)
    return total


def nightly() -> dict[str, int]:
    """The nightly loyalty job (beat): backfill purchases and refunds, anniversaries, expiry."""
    return {
        # Purchases first: a purchase and its refund imported together earn, then give back.
        "purchases": award_unawarded_purchases(),
        "refunds": remove_unsettled_refunds(),
        "anniversaries": award_anniversaries(),
        "expired_points": expire_points(),
        "accounts_repaired": len(accounts_reconcile()),
    }
