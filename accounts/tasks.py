from celery import shared_task
from django.utils import translation

from . import passwords


@shared_task(acks_late=True)
def queue_reset_emails(email: str, language: str = "") -> int:
    """Queue a reset email in the outbox for each account with `email` (none for an
    unknown address). Run twice, it queues twice: at most a second email with a valid
    link, within the per-account limit already counted."""
    with translation.override(language or None):
        return passwords.queue_reset_emails(email, language=language)
