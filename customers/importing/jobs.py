"""An import job's background steps as the pages see them: asking for one, and its progress.

`job_check_request` and `job_apply_request` send a signal (customers.events) that
customers.receivers turns into a task once the current transaction commits, so
the pages and this package never import the tasks. A running step writes how
far it has got to the cache the web and the worker share (`record_progress`);
the progress bar reads it back (`read_progress`).
"""

from django.core.cache import cache

from customers.events import import_apply_requested, import_check_requested
from customers.models import ImportJob

PROGRESS_TIMEOUT = 60 * 60


def progress_key(job_id: int) -> str:
    return f"import-progress:{job_id}"


def read_progress(job_id: int) -> dict | None:
    """{"phase", "done", "total"} of the running step, from the cache web and worker share."""
    return cache.get(progress_key(job_id))


def record_progress(job_id: int, phase: str, done: int = 0, total: int = 0) -> None:
    value = {"phase": phase, "done": done, "total": total}
    cache.set(progress_key(job_id), value, PROGRESS_TIMEOUT)


def job_check_request(*, job: ImportJob, language: str | None) -> None:
    """Have a worker check the uploaded file (in `language`) once the transaction commits."""
    import_check_requested.send(sender=ImportJob, job_id=job.pk, language=language)


def job_apply_request(*, job: ImportJob, language: str | None) -> None:
    """Have a worker import the checked file once the transaction commits.

    Until a worker takes the job the progress bar says it is waiting for one.
    """
    record_progress(job.pk, "queued", 0, job.valid_rows)
    import_apply_requested.send(sender=ImportJob, job_id=job.pk, language=language)
