"""Points in the customer's timeline."""

from datetime import datetime

from django.utils.translation import gettext as _

from customers.models import Customer
from customers.timeline import TimelineEntry

from .models import PointsEntry

LOYALTY_BADGES = {
    PointsEntry.Kind.EARN: "success",
    PointsEntry.Kind.REDEEM: "primary",
    PointsEntry.Kind.EXPIRE: "secondary",
    PointsEntry.Kind.ADJUST: "warning",
}


def points_entries(customer: Customer, until: datetime | None, limit: int) -> list[TimelineEntry]:
    """Points earned, redeemed (with the coupon code), expired and adjusted."""
    rows = PointsEntry.objects.filter(customer=customer).select_related("author", "coupon")
    if until is not None:
        rows = rows.filter(created_at__lte=until)
    entries = []
    for entry in rows.order_by("-created_at", "-id")[:limit]:
        coupon = getattr(entry, "coupon", None)
        detail = _("%(points)+d points") % {"points": entry.points}
        if coupon is not None:
            detail += " · " + _("coupon %(code)s") % {"code": coupon.code}
        author = entry.author
        entries.append(
            TimelineEntry(
                occurred_at=entry.created_at,
                source="loyalty",
                pk=entry.pk,
                kind=f"points_{entry.kind}",
                kind_label=_("Points"),
                title=entry.reason,
                actor=(author.get_full_name() or author.get_username()) if author else "",
                detail=detail,
                badge=LOYALTY_BADGES.get(entry.kind, "secondary"),
            )
        )
    return entries
