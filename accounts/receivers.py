from django.db import transaction

from . import tasks


def look_up_reset_on_commit(sender, email: str, language: str, **kwargs) -> None:
    """The lookup and the queuing run in the worker, so the page costs the same whether
    the address has an account or not (no timing difference to measure)."""
    transaction.on_commit(lambda: tasks.queue_reset_emails.delay(email, language))
