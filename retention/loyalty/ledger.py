"""Loyalty rules: earning, redeeming, expiry, adjustments, tiers and badges.

Money-like guarantees:
- The ledger (PointsEntry) is append-only; every change of a balance is an entry
  written in the same transaction as the account's new balance.
- Earning is idempotent: each award names what earned it (`source_key`, unique),
  so a purchase, a survey answer or a year's anniversary pays once however often
  a signal fires or a nightly job re-runs.
- A redemption is one conditional UPDATE (`balance >= price`), so two concurrent
  redemptions of the last points cannot both succeed; the database's
  CheckConstraint (balance >= 0) is the last line of defence.

Tiers follow *lifetime points*: everything earned plus adjustments (corrections
count both ways). Redeeming never costs a customer their tier, and expiry does
not either (the points were earned); a correction downwards or a raised
threshold can lower it.

Expiry (optional, LoyaltySettings.expiry_months = N) is first in, first out:
spending and negative corrections use up the oldest points first, so what
expires each night is the part of the points earned more than N months ago
that has not been spent yet: max(0, old credits − all debits so far). The
expiry entries are debits too, so re-running the same night expires nothing more.
"""

import logging
import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import (
    CharField,
    Exists,
    F,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Cast, Coalesce, Concat, Greatest, TruncMonth
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.links import make_token
from customers.models import Customer, Interaction

from .models import (
    Coupon,
    CustomerBadge,
    LoyaltySettings,
    PointsAccount,
    PointsEntry,
    PointsMonth,
    Reward,
    Tier,
)

logger = logging.getLogger(__name__)

Kind = PointsEntry.Kind
Badge = CustomerBadge.Kind
LINK_PURPOSE = "loyalty"

# Coupon codes: 10 characters from 31 unambiguous ones (no 0/O, 1/I/L) = 49.5 bits,
# shown as two groups of five. Unguessable, and easy to read out over the phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
CODE_ATTEMPTS = 5
# A nightly run missed (server down) still pays an anniversary within this many days.
ANNIVERSARY_CATCH_UP_DAYS = 7
BATCH_SIZE = 2000

NOT_ENOUGH_POINTS = gettext_lazy("Not enough points: %(balance)s available, %(price)s needed.")


# --- Reading -------------------------------------------------------------------------


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


def account_of(customer: Customer) -> PointsAccount:
    """The customer's account with its tier, or an unsaved empty one (nothing earned yet)."""
    account = PointsAccount.objects.select_related("tier").filter(customer=customer).first()
    return account or PointsAccount(customer=customer, balance=0, lifetime_points=0)


def available_rewards():
    return Reward.objects.filter(active=True).filter(Q(stock__isnull=True) | Q(stock__gt=0))


def card_url(customer: Customer) -> str:
    """The customer's own loyalty card: a signed link (absolute path) for emails."""
    return reverse("retention:loyalty_card", args=[make_token(LINK_PURPOSE, customer.pk)])


def monthly_totals(*, months: int = 12, today: date | None = None) -> list[dict]:
    """Points issued (earned and positive corrections), redeemed and expired per month."""
    today = today or timezone.localdate()
    first = today.replace(day=1)
    for _step in range(months - 1):
        first = (first - timedelta(days=1)).replace(day=1)
    by_month = {row.month: row for row in PointsMonth.objects.filter(month__gte=first)}
    result = []
    month = first
    while month <= today:
        row = by_month.get(month, PointsMonth(month=month))
        result.append(
            {
                "month": month,
                "issued": row.issued,
                "redeemed": row.redeemed,
                "expired": row.expired,
            }
        )
        month = (month + timedelta(days=32)).replace(day=1)
    return result


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
            .annotate(
                issued=Coalesce(Sum("points", filter=Q(points__gt=0)), 0),
                redeemed=Coalesce(Sum("points", filter=Q(kind=Kind.REDEEM)), 0),
                expired=Coalesce(Sum("points", filter=Q(kind=Kind.EXPIRE)), 0),
            )
        )
        PointsMonth.objects.all().delete()
        PointsMonth.objects.bulk_create(
            PointsMonth(
                month=_as_date(row["month"]),
                issued=row["issued"],
                redeemed=-row["redeemed"],
                expired=-row["expired"],
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


# Random bytes at or above this are skipped, so every character is equally likely.
_UNBIASED_LIMIT = 256 - 256 % len(CODE_ALPHABET)


def generate_code() -> str:
    """A fresh code from the OS's CSPRNG: one system call, no modulo bias."""
    chars: list[str] = []
    while len(chars) < CODE_LENGTH:
        for byte in secrets.token_bytes(CODE_LENGTH + 6):
            if byte < _UNBIASED_LIMIT:
                chars.append(CODE_ALPHABET[byte % len(CODE_ALPHABET)])
                if len(chars) == CODE_LENGTH:
                    break
    return f"{''.join(chars[:5])}-{''.join(chars[5:])}"


def normalize_code(text: str) -> str:
    """What a person typed → the stored form: upper case, one dash, no spaces."""
    raw = "".join(ch for ch in (text or "").upper() if ch.isalnum())
    return f"{raw[:5]}-{raw[5:]}" if len(raw) > 5 else raw


@transaction.atomic
def reward_redeem(*, customer: Customer, reward: Reward, author=None) -> Coupon:
    """Spend points on a reward: deduct atomically, take one from stock, issue a coupon.

    Raises ValidationError (nothing written) when the reward is not offered, out of
    stock, or the balance is short, including when a concurrent redemption spent it.
    """
    reward = Reward.objects.filter(pk=reward.pk).first()
    if reward is None or not reward.active:
        raise ValidationError(_("This reward is no longer offered."))
    price = reward.points_price
    # The account must exist before the conditional UPDATE can find it.
    if not PointsAccount.objects.filter(customer=customer).exists():
        raise ValidationError(NOT_ENOUGH_POINTS % {"balance": 0, "price": price})
    taken = PointsAccount.objects.filter(customer=customer, balance__gte=price).update(
        balance=F("balance") - price, updated_at=timezone.now()
    )
    if not taken:
        balance = PointsAccount.objects.filter(customer=customer).values_list("balance", flat=True)
        raise ValidationError(NOT_ENOUGH_POINTS % {"balance": balance.first() or 0, "price": price})
    if reward.stock is not None:
        left = Reward.objects.filter(pk=reward.pk, stock__gte=1).update(stock=F("stock") - 1)
        if not left:
            raise ValidationError(_("Sorry, this reward is out of stock."))  # rolls back points
    entry = PointsEntry.objects.create(
        customer=customer,
        kind=Kind.REDEEM,
        points=-price,
        reason=_("Redeemed: %(reward)s") % {"reward": reward.name},
        author=author,
    )
    _count_in_months([entry])
    rules = LoyaltySettings.load()
    for attempt in range(CODE_ATTEMPTS):
        try:
            with transaction.atomic():  # a savepoint, so a collision can be retried
                return Coupon.objects.create(
                    code=generate_code(),
                    customer=customer,
                    reward=reward,
                    entry=entry,
                    points_spent=price,
                    reward_name=reward.name,
                    reward_kind=reward.kind,
                    reward_value=reward.value,
                    expires_on=timezone.localdate() + timedelta(days=rules.coupon_valid_days),
                )
        except IntegrityError:
            logger.warning("Coupon code collision (attempt %s)", attempt + 1)
    raise RuntimeError("Could not issue a unique coupon code")


def coupon_mark_used(*, coupon: Coupon, user) -> Coupon:
    """Staff mark a coupon used: once, and only while it is valid."""
    today = timezone.localdate()
    marked = Coupon.objects.filter(
        pk=coupon.pk, used_at__isnull=True, expires_on__gte=today
    ).update(used_at=timezone.now(), used_by=user)
    coupon.refresh_from_db()
    if not marked:
        if coupon.used_at:
            raise ValidationError(
                _("Coupon %(code)s was already used on %(date)s.")
                % {"code": coupon.code, "date": timezone.localdate(coupon.used_at)}
            )
        raise ValidationError(
            _("Coupon %(code)s expired on %(date)s.")
            % {"code": coupon.code, "date": coupon.expires_on}
        )
    return coupon


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
            reason=_("Anniversary: %(years)s year(s) with us") % {"years": today.year - since.year},
            source_key=f"anniversary:{pk}:{today.year}",
        )
        for pk, since in eligible.filter(days).values_list("pk", "customer_since")
    ]
    total = 0
    for start in range(0, len(entries), BATCH_SIZE):
        total += _bulk_earn(entries[start : start + BATCH_SIZE])
    return total


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


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


def nightly() -> dict[str, int]:
    """The nightly loyalty job (beat): backfill purchases, anniversaries, expiry."""
    return {
        "purchases": award_unawarded_purchases(),
        "anniversaries": award_anniversaries(),
        "expired_points": expire_points(),
        "accounts_repaired": len(accounts_reconcile()),
    }


def top_accounts(limit: int = 10):
    return (
        PointsAccount.objects.select_related("customer", "tier")
        .filter(lifetime_points__gt=0)
        .order_by("-lifetime_points", "id")[:limit]
    )
