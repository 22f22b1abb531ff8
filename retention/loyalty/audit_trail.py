"""The audit entries of loyalty's staff actions, the same from the pages and the API.

Only figures and ids: an adjustment's reason is free text about the customer, which
the audit log must not keep (a GDPR erasure leaves nothing of them in it).
"""

from django.http import HttpRequest

from audit.log import record
from audit.models import AuditEntry
from customers.models import Customer

from .models import Coupon, PointsEntry


def record_adjustment(request: HttpRequest | None, customer: Customer, entry: PointsEntry) -> None:
    details = {"entry": entry.pk, "points": entry.points}
    record(AuditEntry.Action.LOYALTY_ADJUSTED, request=request, target=customer, details=details)


def record_redemption(request: HttpRequest | None, customer: Customer, coupon: Coupon) -> None:
    """Points spent on a reward: by staff (the API), or by the customer on their card."""
    details = {"coupon": coupon.pk, "reward": coupon.reward_id, "step": "reward_redeemed"}
    record(AuditEntry.Action.LOYALTY_REDEEMED, request=request, target=customer, details=details)


def record_coupon_used(request: HttpRequest, coupon: Coupon) -> None:
    """Staff marked a coupon used at the till: the redemption's second half."""
    details = {"coupon": coupon.pk, "reward": coupon.reward_id, "step": "coupon_used"}
    record(
        AuditEntry.Action.LOYALTY_REDEEMED, request=request, target=coupon.customer, details=details
    )
