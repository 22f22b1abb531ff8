"""Background work for CSV imports. Tasks take a job id and are safe to run twice."""

import logging
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from . import importing
from .importing.jobs import progress_key, record_progress
from .importing.jobs import read_progress as read_progress  # kept as tasks.read_progress
from .models import ImportJob

logger = logging.getLogger(__name__)

KEEP_FINISHED_JOBS = timedelta(days=7)
STUCK_AFTER = timedelta(days=1)
PURGE_BATCH_SIZE = 500


def _progress_for(job_id: int) -> importing.Progress:
    def progress(phase: str, done: int, total: int) -> None:
        record_progress(job_id, phase, done, total)

    return progress


@shared_task
def validate_import_job(job_id: int, language: str | None = None) -> None:
    """Check an uploaded file; does nothing unless the job is waiting to be checked."""
    job = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.VALIDATING).first()
    if job is None:
        return
    record_progress(job_id, "validating")
    try:
        with translation.override(language):
            importing.validate_import(job, _progress_for(job_id))
    finally:
        cache.delete(progress_key(job_id))


@shared_task
def apply_import_job(job_id: int, language: str | None = None) -> None:
    """Import a checked file, once: the job is claimed by moving it from "ready" to "importing"."""
    claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.VALIDATED).update(
        status=ImportJob.Status.IMPORTING
    )
    if not claimed:
        cache.delete(progress_key(job_id))  # e.g. a duplicate message: drop the "queued" note
        return
    job = ImportJob.objects.get(pk=job_id)
    record_progress(job_id, "checking", 0, job.total_rows)
    try:
        with translation.override(language):
            importing.apply_import(job, _progress_for(job_id))
    except importing.ImportRefused as refused:
        logger.info("Import job %s was not applied: %s", job_id, refused)
    finally:
        cache.delete(progress_key(job_id))


@shared_task
def purge_old_import_jobs() -> None:
    """Delete jobs (and their file content) a week after they end; fail jobs stuck for a day.

    Checked files never imported count as ended too: their preview is stale by then.
    A running job refreshes its progress in the cache, so one that is over a day
    old and has no progress entry (it expires after an hour) lost its worker.
    """
    now = timezone.now()
    ended = [
        ImportJob.Status.DONE,
        ImportJob.Status.FAILED,
        ImportJob.Status.CANCELLED,
        ImportJob.Status.VALIDATED,
    ]
    cutoff = now - KEEP_FINISHED_JOBS
    old = ImportJob.objects.filter(status__in=ended).filter(
        Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff)
    )
    while ids := list(old.values_list("pk", flat=True)[:PURGE_BATCH_SIZE]):
        ImportJob.objects.filter(pk__in=ids).delete()

    running = [ImportJob.Status.VALIDATING, ImportJob.Status.IMPORTING]
    old_running = ImportJob.objects.filter(status__in=running, created_at__lt=now - STUCK_AFTER)
    candidates = list(old_running.values_list("pk", flat=True)[:PURGE_BATCH_SIZE])
    alive = cache.get_many([progress_key(pk) for pk in candidates])
    stuck = [pk for pk in candidates if progress_key(pk) not in alive]
    count = ImportJob.objects.filter(pk__in=stuck, status__in=running).update(
        status=ImportJob.Status.FAILED,
        failure=_("The background worker did not finish this within a day; nothing was imported."),
        finished_at=now,
    )
    if count:
        logger.warning("Marked %s stuck import jobs as failed", count)
