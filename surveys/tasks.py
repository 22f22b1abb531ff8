"""Celery tasks: thin, take ids, safe to run twice (each invitation is claimed).

acks_late with reject_on_worker_lost: a task whose pool process was killed goes back
to the queue (the invitation it was sending waits for its lease to expire, the rest
are sent). Whatever a lost message or a dead worker leaves, the sweeper finds in the
database (surveys.delivery).
"""

from celery import shared_task

from . import delivery, invitations


@shared_task(
    acks_late=True,
    reject_on_worker_lost=True,
    autoretry_for=(Exception,),
    max_retries=3,
    retry_backoff=True,
)
def deliver_invitations(invitation_ids: list[int], reminder: bool = False) -> int:
    """Email these invitations (or their reminders); done ones are skipped, a failure
    is retried."""
    return delivery.invitations_deliver(invitation_ids, reminder=reminder)


@shared_task
def schedule_nps_invitations() -> int:
    """Beat (daily): invite everyone due for their periodic NPS survey."""
    return invitations.nps_invitations_schedule()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_survey_reminders() -> int:
    """Beat (hourly): one reminder to each invitation unanswered after N days, in
    delivery tasks of a batch each; how many are due."""
    batches = delivery.reminder_batches()
    for batch in batches:
        deliver_invitations.delay(batch, reminder=True)
    return sum(len(batch) for batch in batches)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def sweep_invitations() -> int:
    """Beat (every SURVEY_SWEEP_SECONDS): enqueue again what a lost task or a dead
    worker left pending or sending."""
    return delivery.invitations_sweep()
