"""The customers app's reactions to its own signals: run the import steps a page asked for."""

from . import tasks


def check_import_on_commit(sender, job_id: int, language: str | None, **kwargs) -> None:
    """Ask a worker to check the file once the current transaction commits (never before)."""
    tasks.validate_import_job.delay_on_commit(job_id, language)


def apply_import_on_commit(sender, job_id: int, language: str | None, **kwargs) -> None:
    """Ask a worker to import the file once the current transaction commits (never before)."""
    tasks.apply_import_job.delay_on_commit(job_id, language)
