"""Refunds take back the points their purchases earned.

A refund of an amount removes the points a purchase of that amount earns (the same
`purchase_points`, on the refund's amount without its sign), as an "adjust" entry:
the ledger's correction kind, which lowers the lifetime points too, so a refunded
purchase does not count towards the tier either. A refund names money, not the order
line it gives back, so a partial refund removes points in proportion. A refund dated
before `purchases_since` removes nothing (purchases then earned nothing).

Never below zero: when the points are already spent or expired, the refund removes
what is left, down to 0. The entry is written even then, so the refund is settled once
(source_key "refund:<interaction id>") and cannot eat points earned later. Refunds
logged one by one are settled at once (receivers.py); imported ones by the nightly
job, after the night's purchases are paid, set-based and in batches.
"""

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Interaction

from .ledger import (
    BATCH_SIZE,
    _count_in_months,
    _ensure_accounts,
    _locked_account,
    _post,
    accounts_rebuild,
    purchase_points,
    start_of,
)
from .models import LoyaltySettings, PointsAccount, PointsEntry

Kind = PointsEntry.Kind


def refund_key(interaction_id: int) -> str:
    return f"refund:{interaction_id}"


def _reason(subject: str) -> str:
    return (_("Refund: %(subject)s") % {"subject": subject})[:200]


def refund_points_remove(*, interaction: Interaction) -> PointsEntry | None:
    """Take back the points of a refund's amount, once; None when it takes back nothing."""
    if interaction.kind != Interaction.Kind.REFUND or interaction.amount is None:
        return None
    rules = LoyaltySettings.load()
    if timezone.localdate(interaction.occurred_at) < rules.purchases_since:
        return None
    points = purchase_points(abs(interaction.amount), rules)
    if points <= 0:
        return None
    with transaction.atomic():
        account = _locked_account(interaction.customer_id)
        if PointsEntry.objects.filter(source_key=refund_key(interaction.pk)).exists():
            return None
        try:
            with transaction.atomic():  # a savepoint: a concurrent twin loses cleanly
                return _post(
                    account,
                    kind=Kind.ADJUST,
                    points=-min(points, account.balance),
                    reason=_reason(interaction.subject),
                    source_key=refund_key(interaction.pk),
                )
        except IntegrityError:
            account.refresh_from_db()
            return None


def remove_unsettled_refunds(*, batch_size: int = BATCH_SIZE) -> int:
    """Settle every refund not settled yet (CSV imports skip post_save); the number settled.

    Idempotent: a settled refund has its entry, and the night skips it.
    """
    rules = LoyaltySettings.load()
    if rules.points_per_unit <= 0:
        return 0
    smallest = Decimal(1) / rules.points_per_unit  # a smaller refund takes back no point
    settled = PointsEntry.objects.filter(
        source_key=Concat(Value("refund:"), Cast(OuterRef("pk"), CharField()))
    )
    pending = (
        Interaction.objects.filter(
            Q(amount__lte=-smallest) | Q(amount__gte=smallest),
            kind=Interaction.Kind.REFUND,
            occurred_at__gte=start_of(rules.purchases_since),
        )
        .exclude(Exists(settled))
        .order_by("pk")
    )
    pending_ids = list(pending.values_list("pk", flat=True))
    total = 0
    for start in range(0, len(pending_ids), batch_size):
        total += _settle(pending_ids[start : start + batch_size], rules)
    return total


@transaction.atomic
def _settle(refund_ids: list[int], rules: LoyaltySettings) -> int:
    """One batch: lock the accounts, then take back what each refund can, oldest first."""
    refunds = list(
        Interaction.objects.filter(pk__in=refund_ids)
        .order_by("pk")
        .values_list("pk", "customer_id", "amount", "subject")
    )
    customer_ids = sorted({customer_id for _pk, customer_id, _amount, _subject in refunds})
    _ensure_accounts(customer_ids)
    balances = dict(
        PointsAccount.objects.select_for_update()
        .filter(customer_id__in=customer_ids)
        .order_by("customer_id")
        .values_list("customer_id", "balance")
    )
    # Settled meanwhile, one by one (the accounts are locked now: no more can be).
    taken = set(
        PointsEntry.objects.filter(
            source_key__in=[refund_key(pk) for pk, *_rest in refunds]
        ).values_list("source_key", flat=True)
    )
    entries = []
    for pk, customer_id, amount, subject in refunds:
        if refund_key(pk) in taken:
            continue
        points = min(purchase_points(abs(amount), rules), balances[customer_id])
        balances[customer_id] -= points
        entries.append(
            PointsEntry(
                customer_id=customer_id,
                kind=Kind.ADJUST,
                points=-points,
                reason=_reason(subject),
                source_key=refund_key(pk),
            )
        )
    PointsEntry.objects.bulk_create(entries)
    accounts_rebuild(customer_ids)
    _count_in_months(entries)
    return len(entries)
