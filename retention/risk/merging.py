"""What a customer merge keeps of two risk histories (registered in retention/apps.py)."""

from django.db.models import Exists, OuterRef

from customers.models import Customer

from .models import CustomerRisk, RiskSnapshot


def merge_current_risk(*, survivor: Customer, duplicate: Customer) -> None:
    """The current risk (one row per customer): the survivor's is kept, the duplicate's
    dropped. The next nightly run scores the survivor from the joined history anyway,
    and the kept case's claim, snooze and resolution are the ones staff worked on.
    Without a row of its own, the survivor takes the duplicate's (moved by the walk)."""
    if CustomerRisk.objects.filter(customer=survivor).exists():
        CustomerRisk.objects.filter(customer=duplicate).delete()


def merge_snapshots(*, survivor: Customer, duplicate: Customer) -> None:
    """The risk chart (one snapshot per customer and day): on a night both records were
    scored, the survivor's snapshot is kept, as it is the score its current risk and
    RiskDay's totals were built from; the duplicate's other days move over."""
    same_day = RiskSnapshot.objects.filter(customer=survivor, as_of=OuterRef("as_of"))
    RiskSnapshot.objects.filter(customer=duplicate).filter(Exists(same_day)).delete()
