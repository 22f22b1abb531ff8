"""Follow-up emails and the outbox: queue the day's follow-ups, deliver, sweep."""

import logging
from datetime import date

from celery import shared_task

from . import followups, outbox

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def queue_followups(as_of: str | None = None) -> int:
    """Queue the day's rule follow-ups. Safe to run twice: each (rule, customer, day) once."""
    queued = followups.queue_rule_followups(as_of=date.fromisoformat(as_of) if as_of else None)
    if outbox.has_due():  # the run's notices to account managers, too
        deliver_outbox.delay()
    return queued


@shared_task(acks_late=True)
def deliver_outbox() -> int:
    """Claim and send due emails until none is left. Several may run at once (SKIP LOCKED).

    acks_late: a worker killed mid-batch leaves its rows "sending" under a lease;
    the sweeper re-queues them once the lease expires.
    """
    outcome = outbox.deliver()
    if outcome.sent or outcome.errors:
        logger.info(
            "Outbox: %s sent, %s retrying, %s failed, %s not sent",
            outcome.sent,
            outcome.retrying,
            outcome.failed,
            outcome.cancelled,
        )
    return outcome.sent


@shared_task
def sweep_outbox() -> int:
    """Beat, every minute: re-queue rows stuck in flight, then send what is due."""
    requeued = outbox.release_expired_leases()
    if outbox.has_due():
        deliver_outbox.delay()
    return requeued
