"""What a customer merge keeps of two loyalty accounts (registered in retention/apps.py)."""

from django.db.models import Exists, OuterRef

from customers.models import Customer

from . import ledger
from .models import CustomerBadge, PointsAccount, PointsEntry


def merge_points_accounts(*, survivor: Customer, duplicate: Customer) -> None:
    """One points account per customer. When both records have one, the survivor's
    account is kept and the duplicate's ledger entries move to it, so the balances and
    lifetime points add up (the account is rebuilt from the ledger, which is the truth,
    and its tier with it). Badges are awarded once per account: the survivor keeps its
    own and gains those only the duplicate had earned. The duplicate's emptied account
    is then deleted. Without an account of its own, the survivor takes the duplicate's
    (moved, with its entries, by the walk)."""
    ours = PointsAccount.objects.select_for_update().filter(customer=survivor).first()
    theirs = PointsAccount.objects.select_for_update().filter(customer=duplicate).first()
    if ours is None or theirs is None:
        return
    held = CustomerBadge.objects.filter(account=ours, kind=OuterRef("kind"))
    CustomerBadge.objects.filter(account=theirs).exclude(Exists(held)).update(account=ours)
    PointsEntry.objects.filter(customer=duplicate).update(customer=survivor)
    theirs.delete()
    ledger.accounts_rebuild([survivor.pk])
