"""An import job's background steps as the pages see them: asking for one, and its progress.

`job_check_request` and `job_apply_request` write on the job's row that its step is
queued (`queued_at`, and the language of its messages), then send a signal
(customers.events) that customers.receivers turns into a task once the current
transaction commits, so the pages and this package never import the tasks. The row
is the truth: the repair job (repair.py) queues the step again if the message is
lost, and a worker's lease on the row (claims.py) says whether the step is alive.

A running step also writes how far it has got to the cache the web and the worker
share (`record_progress`), for the progress bar's percentage (`read_progress`); the
page never needs it to know whether a job is queued, running or abandoned.
"""

from django.core.cache import cache
from django.utils import timezone

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
    fields = {"queued_at": timezone.now(), "language": language or ""}
    ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.VALIDATING).update(**fields)
    for name, value in fields.items():
        setattr(job, name, value)
    import_check_requested.send(sender=ImportJob, job_id=job.pk, language=language)


def job_apply_request(*, job: ImportJob, language: str | None) -> bool:
    """Have a worker import the checked file once the transaction commits; False when
    it was asked for already (a second click) or the job is no longer ready.

    Until a worker takes the job the progress bar says it is waiting for one. The
    import is a new step: its attempts count from zero."""
    fields = {"queued_at": timezone.now(), "language": language or "", "attempts": 0}
    asked = ImportJob.objects.filter(
        pk=job.pk, status=ImportJob.Status.VALIDATED, queued_at__isnull=True
    ).update(**fields)
    if not asked:
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    import_apply_requested.send(sender=ImportJob, job_id=job.pk, language=language)
    return True
