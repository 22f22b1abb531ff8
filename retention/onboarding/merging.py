"""What a customer merge keeps of two onboardings (registered in retention/apps.py)."""

from customers.models import Customer

from .models import Checklist


def merge_checklists(*, survivor: Customer, duplicate: Customer) -> None:
    """One running checklist per customer: when both records have one, the survivor's
    keeps running and the duplicate's is cancelled (kept, with its ticked steps, as
    history): a person onboards once, and the survivor's is the one staff chose to
    keep. Completed and cancelled checklists all move over."""
    if Checklist.objects.filter(customer=survivor, status=Checklist.Status.IN_PROGRESS).exists():
        Checklist.objects.filter(customer=duplicate, status=Checklist.Status.IN_PROGRESS).update(
            status=Checklist.Status.CANCELLED, next_due_on=None
        )
