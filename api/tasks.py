"""Background work for the api app: posting outbound webhooks (api/outbound/delivery.py).

Safe to run twice: rows are claimed under a lease before they are posted.
"""

from celery import shared_task

from .outbound import delivery


@shared_task(acks_late=True, reject_on_worker_lost=True)
def deliver_webhooks() -> int:
    """Post every due outbound webhook; the number sent."""
    return delivery.deliver().sent


@shared_task
def sweep_webhooks() -> int:
    """The beat's sweeper: rows whose lease ran out go back to the queue, and a worker is
    asked to post what is due (retries whose time came, messages a lost task left)."""
    requeued = delivery.release_expired_leases()
    if delivery.has_due():
        deliver_webhooks.delay()
    return requeued


def deliver_on_commit(sender, **kwargs) -> None:
    """Rows were queued: post them once the transaction commits (never before)."""
    deliver_webhooks.delay_on_commit()
