"""The points ledger: accounts, earning, manual corrections, badges and repairs.

Money-like guarantees:
- The ledger (PointsEntry) is append-only; every change of a balance is an entry
  written in the same transaction as the account's new balance.
- Earning is idempotent: each award names what earned it (`source_key`, unique),
  so a purchase, a survey answer or a year's anniversary pays once however often
  a signal fires or a nightly job re-runs.

Every write also counts its entries in the monthly totals (PointsMonth). Spending
points is in redemption.py, tiers in tiers.py, expiry in expiry.py, anniversaries
in anniversaries.py and the nightly job in nightly.py.
"""

import logging
import math
from datetime import date, datetime, time
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce, Greatest, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer, Interaction

from .models import CustomerBadge, LoyaltySettings, PointsAccount, PointsEntry, PointsMonth
from .selectors import points_sums
from .tiers import tier_for, tiers, tiers_recompute

logger = logging.getLogger(__name__)

Kind = PointsEntry.Kind
Badge = CustomerBadge.Kind
BATCH_SIZE = 2000


# --- Reading -------------------------------------------------------------------------


def account_of(customer: Customer) -> PointsAccount:
    """The customer's account with its tier, or an unsaved empty one (nothing earned yet)."""
    account = PointsAccount.objects.select_related("tier").filter(customer=customer).first()
    return account or PointsAccount(customer=customer, balance=0, lifetime_points=0)


def _month_deltas(entries) -> dict[date, dict[str, int]]:
    deltas: dict[date, dict[str, int]] = {}
    for entry in entries:
        month = timezone.localdate(entry.created_at).replace(day=1)
        delta = deltas.setdefault(month, {"issued": 0, "redeemed": 0, "expired": 0})
        if entry.points > 0:
            delta["issued"] += entry.points
        elif entry.kind == Kind.REDEEM:
            delta["redeemed"] -= entry.points
        elif entry.kind == Kind.EXPIRE:
            delta["expired"] -= entry.points
    return deltas


def _count_in_months(entries) -> None:
    """Add new ledger entries to the monthly totals (last in each transaction: the month
    row is a hot spot, so it is locked for the shortest time and always after accounts)."""
    for month, delta in sorted(_month_deltas(entries).items()):
        if not any(delta.values()):
            continue
        PointsMonth.objects.bulk_create([PointsMonth(month=month)], ignore_conflicts=True)
        PointsMonth.objects.filter(month=month).update(
            **{field: F(field) + value for field, value in delta.items() if value}
        )


def months_rebuild() -> None:
    """Recompute the monthly totals from the ledger (a repair; the app keeps them in step)."""
    with transaction.atomic():
        rows = (
            PointsEntry.objects.annotate(month=TruncMonth("created_at"))
            .values("month")
            .annotate(**points_sums())
        )
        PointsMonth.objects.all().delete()
        PointsMonth.objects.bulk_create(
            PointsMonth(
                month=_as_date(row["month"]),
                issued=row["issued"],
                redeemed=row["redeemed"],
                expired=row["expired"],
            )
            for row in rows
        )


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the business's time zone (an indexable bound)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _as_date(value) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


# --- Writing: one customer -----------------------------------------------------------


def _locked_account(customer_id: int) -> PointsAccount:
    """The customer's account row, created if missing, locked until the transaction ends."""
    account = PointsAccount.objects.select_for_update().filter(customer_id=customer_id).first()
    if account is None:
        # ignore_conflicts: two first awards at once create one account between them.
        PointsAccount.objects.bulk_create(
            [PointsAccount(customer_id=customer_id)], ignore_conflicts=True
        )
        account = PointsAccount.objects.select_for_update().get(customer_id=customer_id)
    return account


def _post(
    account: PointsAccount,
    *,
    kind: str,
    points: int,
    reason: str,
    source_key: str = "",
    author=None,
) -> PointsEntry:
    """Write one entry and move the (locked) account with it; recompute the tier."""
    entry = PointsEntry.objects.create(
        customer_id=account.customer_id,
        kind=kind,
        points=points,
        reason=str(reason)[:200],
        source_key=source_key,
        author=author,
    )
    account.balance += points
    if kind in (Kind.EARN, Kind.ADJUST):
        account.lifetime_points = max(0, account.lifetime_points + points)
    account.tier = tier_for(account.lifetime_points, tiers())
    account.save(update_fields=["balance", "lifetime_points", "tier", "updated_at"])
    _count_in_months([entry])
    return entry


def _award_badges(account: PointsAccount, *kinds: str) -> None:
    CustomerBadge.objects.bulk_create(
        [CustomerBadge(account=account, kind=kind) for kind in kinds], ignore_conflicts=True
    )


@transaction.atomic
def points_earn(
    *,
    customer: Customer,
    points: int,
    reason: str,
    source_key: str,
    author=None,
    badges: tuple[str, ...] = (),
) -> PointsEntry | None:
    """Award points once per `source_key`; None when that source already paid (or 0 points).

    The badges are awarded even when the points are 0 (a milestone is a milestone).
    """
    if not source_key:
        raise ValueError("Earning needs a source key, so that it pays once.")
    account = _locked_account(customer.pk)
    if badges:
        _award_badges(account, *badges)
    if points <= 0 or PointsEntry.objects.filter(source_key=source_key).exists():
        return None
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin loses cleanly
            return _post(
                account,
                kind=Kind.EARN,
                points=points,
                reason=reason,
                source_key=source_key,
                author=author,
            )
    except IntegrityError:
        account.refresh_from_db()
        return None


def purchase_points(amount: Decimal | None, rules: LoyaltySettings) -> int:
    if amount is None or amount <= 0:
        return 0
    return math.floor(amount * rules.points_per_unit)


def award_purchase(*, interaction: Interaction) -> PointsEntry | None:
    """Points for a purchase (and the first-purchase badge), once per interaction."""
    if interaction.kind != Interaction.Kind.PURCHASE or interaction.amount is None:
        return None
    rules = LoyaltySettings.load()
    if timezone.localdate(interaction.occurred_at) < rules.purchases_since:
        return None
    return points_earn(
        customer=interaction.customer,
        points=purchase_points(interaction.amount, rules),
        reason=_("Purchase: %(subject)s") % {"subject": interaction.subject},
        source_key=f"purchase:{interaction.pk}",
        badges=(Badge.FIRST_PURCHASE,),
    )


def award_onboarding(*, customer: Customer, checklist_id: int) -> PointsEntry | None:
    return points_earn(
        customer=customer,
        points=LoyaltySettings.load().onboarding_bonus,
        reason=_("Onboarding completed"),
        source_key=f"onboarding:{checklist_id}",
        badges=(Badge.ONBOARDING_COMPLETED,),
    )


def award_feedback(*, customer: Customer, response_id: int) -> PointsEntry | None:
    """Feedback is rewarded: the survey bonus and badge, once per survey response."""
    return points_earn(
        customer=customer,
        points=LoyaltySettings.load().survey_bonus,
        reason=_("Survey answered"),
        source_key=f"survey:{response_id}",
        badges=(Badge.SURVEY_ANSWERED,),
    )


def award_referral(*, customer: Customer, referred: Customer, author) -> PointsEntry:
    """The referral bonus for bringing in `referred`; each new customer pays one referrer."""
    if referred.pk == customer.pk:
        raise ValidationError({"referred_email": _("A customer cannot refer themselves.")})
    entry = points_earn(
        customer=customer,
        points=LoyaltySettings.load().referral_bonus,
        reason=_("Referred %(name)s") % {"name": referred.name},
        source_key=f"referral:{referred.pk}",
        author=author,
    )
    if entry is None:
        raise ValidationError(
            {
                "referred_email": _("%(name)s's referral was already rewarded.")
                % {"name": referred.name}
            }
        )
    return entry


@transaction.atomic
def points_adjust(*, customer: Customer, points: int, reason: str, author) -> PointsEntry:
    """A manual correction by staff: a new entry with a reason, never an edit."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("Say why the points are adjusted.")})
    if points == 0:
        raise ValidationError({"points": _("Enter a number of points other than 0.")})
    account = _locked_account(customer.pk)
    if account.balance + points < 0:
        raise ValidationError(
            {
                "points": _(
                    "Not enough points: the balance is %(balance)s, so at most %(balance)s "
                    "can be taken off."
                )
                % {"balance": account.balance}
            }
        )
    return _post(account, kind=Kind.ADJUST, points=points, reason=reason, author=author)


# --- Writing: many customers at once (nightly, set-based) -----------------------------


def _ensure_accounts(customer_ids) -> None:
    PointsAccount.objects.bulk_create(
        [PointsAccount(customer_id=pk) for pk in customer_ids], ignore_conflicts=True
    )


def accounts_rebuild(customer_ids) -> None:
    """Recompute balances, lifetime points and tiers from the ledger (set-based).

    Used after bulk writes and to repair an account (e.g. after merging customers).
    The accounts are locked first, so a redemption waits and the sums are current.
    """
    customer_ids = sorted(set(customer_ids))
    if not customer_ids:
        return
    with transaction.atomic():
        _ensure_accounts(customer_ids)
        list(
            PointsAccount.objects.select_for_update()
            .filter(customer_id__in=customer_ids)
            .order_by("customer_id")
            .values_list("pk", flat=True)
        )
        entries = PointsEntry.objects.filter(customer_id=OuterRef("customer_id"))
        total = entries.values("customer_id").annotate(total=Sum("points")).values("total")
        lifetime = (
            entries.filter(kind__in=[Kind.EARN, Kind.ADJUST])
            .values("customer_id")
            .annotate(total=Sum("points"))
            .values("total")
        )
        PointsAccount.objects.filter(customer_id__in=customer_ids).update(
            balance=Coalesce(Subquery(total), 0),
            lifetime_points=Coalesce(Subquery(lifetime), 0),
            updated_at=timezone.now(),
        )
        PointsAccount.objects.filter(customer_id__in=customer_ids, lifetime_points__lt=0).update(
            lifetime_points=0
        )
        tiers_recompute(customer_ids=customer_ids)


def accounts_reconcile() -> list[int]:
    """Find accounts whose balance or lifetime points differ from their ledger; rebuild them.

    Nothing in the app should cause a drift; merging two customers who both have an
    account can (the merge keeps one account and moves the other's entries), so this
    runs after such a merge and every night, and logs what it repaired.
    """
    entries = PointsEntry.objects.filter(customer_id=OuterRef("customer_id")).values("customer_id")
    total = entries.annotate(total=Sum("points")).values("total")
    lifetime = (
        entries.filter(kind__in=[Kind.EARN, Kind.ADJUST])
        .annotate(total=Sum("points"))
        .values("total")
    )
    drifted = list(
        PointsAccount.objects.annotate(
            ledger_balance=Coalesce(Subquery(total), 0),
            ledger_lifetime=Greatest(Coalesce(Subquery(lifetime), 0), 0),
        )
        .exclude(balance=F("ledger_balance"), lifetime_points=F("ledger_lifetime"))
        .values_list("customer_id", flat=True)
    )
    if drifted:
        logger.warning("Rebuilding %s points account(s) from the ledger: %s", len(drifted), drifted)
        accounts_rebuild(drifted)
    return drifted


def _bulk_earn(entries: list[PointsEntry], badges: dict[int, str] | None = None) -> int:
    """Insert earn entries (keys not yet taken) and bring their accounts up to date."""
    if not entries:
        return 0
    keys = [entry.source_key for entry in entries]
    taken = set(
        PointsEntry.objects.filter(source_key__in=keys).values_list("source_key", flat=True)
    )
    entries = [entry for entry in entries if entry.source_key not in taken]
    customer_ids = {entry.customer_id for entry in entries} | set(badges or {})
    with transaction.atomic():
        _ensure_accounts(customer_ids)
        PointsEntry.objects.bulk_create(entries)
        accounts_rebuild(customer_ids)
        _count_in_months(entries)
        if badges:
            account_ids = dict(
                PointsAccount.objects.filter(customer_id__in=badges).values_list(
                    "customer_id", "pk"
                )
            )
            CustomerBadge.objects.bulk_create(
                [
                    CustomerBadge(account_id=account_ids[pk], kind=kind)
                    for pk, kind in badges.items()
                ],
                ignore_conflicts=True,
            )
    return len(entries)
