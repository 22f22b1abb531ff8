"""The outreach feature's reactions: deliver what was queued, and follow the risk job."""

from django.db import transaction
from django.utils import timezone

from . import followups, tasks


def deliver_on_commit(sender, **kwargs) -> None:
    """Ask a worker to send once the current transaction commits (never before)."""
    transaction.on_commit(tasks.deliver_outbox.delay)


def notify_owners_of_rises(sender, rises, as_of, **kwargs) -> None:
    """Account managers get an email as well as the in-app notice (in the chunk's transaction)."""
    followups.queue_owner_notices(rises, as_of=as_of)


def queue_followups_after_run(sender, run, **kwargs) -> None:
    """Follow-ups read the flags and rises today's run wrote (a backfill sends nothing)."""
    if run.as_of == timezone.localdate():
        tasks.queue_followups.delay(run.as_of.isoformat())
