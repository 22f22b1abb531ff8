"""Celery tasks: thin, take ids, safe to run twice (each invitation is claimed)."""

import logging

from celery import shared_task

from . import invitations

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def deliver_invitations(invitation_ids: list[int]) -> int:
    """Email these invitations; already sent ones are skipped, a failure is retried."""
    sent = 0
    failure = None
    for invitation_id in invitation_ids:
        try:
            sent += invitations.invitation_deliver(invitation_id)
        except Exception as error:  # one bad address must not stop the batch
            failure = error
    if failure is not None:
        raise failure  # retried: only the invitations still pending are sent again
    return sent


@shared_task
def schedule_nps_invitations() -> int:
    """Beat (daily): invite everyone due for their periodic NPS survey."""
    return invitations.nps_invitations_schedule()


@shared_task(acks_late=True)
def send_survey_reminders() -> int:
    """Beat (hourly): one reminder to each invitation unanswered after N days."""
    due = list(invitations.reminders_due().values_list("pk", flat=True)[:5000])
    sent = 0
    for invitation_id in due:
        try:
            sent += invitations.invitation_deliver(invitation_id, reminder=True)
        except Exception:
            logger.exception("Reminder for survey invitation %s failed", invitation_id)
    return sent
