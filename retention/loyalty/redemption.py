"""Spending points: rewards on offer, redeeming one for a coupon, coupons marked used.

A redemption is one conditional UPDATE (`balance >= price`), so two concurrent
redemptions of the last points cannot both succeed; the database's
CheckConstraint (balance >= 0) is the last line of defence. The coupon's code is
random, unguessable and easy to read out; a collision is retried in a savepoint.
"""

import logging
import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer

from .ledger import _count_in_months
from .models import Coupon, LoyaltySettings, PointsAccount, PointsEntry, Reward

logger = logging.getLogger(__name__)

Kind = PointsEntry.Kind

# Coupon codes: 10 characters from 31 unambiguous ones (no 0/O, 1/I/L) = 49.5 bits,
# shown as two groups of five. Unguessable, and easy to read out over the phone.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10
CODE_ATTEMPTS = 5

NOT_ENOUGH_POINTS = gettext_lazy("Not enough points: %(balance)s available, %(price)s needed.")


def available_rewards():
    return Reward.objects.filter(active=True).filter(Q(stock__isnull=True) | Q(stock__gt=0))


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
