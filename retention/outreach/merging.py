"""What a customer merge keeps of two unsubscribes (registered in retention/apps.py)."""

from customers.models import Customer

from .models import EmailUnsubscribe


def merge_unsubscribes(*, survivor: Customer, duplicate: Customer) -> None:
    """One unsubscribe per customer. Asking for no more emails on either record is
    asking as the person, so the merged record stays unsubscribed: when only the
    duplicate had asked, its row moves over (the walk); when both had, the earlier
    request is kept, since that is when the emails had to stop."""
    theirs = EmailUnsubscribe.objects.filter(customer=duplicate).first()
    ours = EmailUnsubscribe.objects.filter(customer=survivor).first()
    if theirs is None or ours is None:
        return
    if theirs.unsubscribed_at < ours.unsubscribed_at:
        EmailUnsubscribe.objects.filter(customer=survivor).update(
            source=theirs.source, unsubscribed_at=theirs.unsubscribed_at
        )
    EmailUnsubscribe.objects.filter(customer=duplicate).delete()
