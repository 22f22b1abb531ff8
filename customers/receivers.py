"""The customers app's reactions to its own signals: record status changes, run the
import steps a page asked for."""

from . import status_history, tasks
from .models import Customer


def record_status_change(
    sender, instance: Customer, created: bool, raw: bool = False, update_fields=None, **kwargs
) -> None:
    """Every status a save writes that differs from the one before is a StatusChange row.

    Customer.save fixes the status before (`status_before_save`) and moves
    `loaded_status` on afterwards, so a second save records nothing and the
    receivers of other apps still see the change.
    """
    if raw:
        return  # loading fixtures: their history comes with them
    status_history.record_saved(instance, created=created, update_fields=update_fields)


def check_import_on_commit(sender, job_id: int, language: str | None, **kwargs) -> None:
    """Ask a worker to check the file once the current transaction commits (never before)."""
    tasks.validate_import_job.delay_on_commit(job_id, language)


def apply_import_on_commit(sender, job_id: int, language: str | None, **kwargs) -> None:
    """Ask a worker to import the file once the current transaction commits (never before)."""
    tasks.apply_import_job.delay_on_commit(job_id, language)
