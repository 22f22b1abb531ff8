"""Background work for CSV imports, and the nightly membership rebuild. Tasks take a
job id (or nothing) and are safe to run twice.

Each step's state is on the job's row (customers.importing.claims): a task claims
the step before it works, so a repeated message does nothing, and the beat's
`repair_import_jobs` queues again what a lost message or a dead worker left.
"""

import logging
from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone, translation

from . import importing, membership
from .importing.jobs import progress_key, record_progress
from .importing.jobs import read_progress as read_progress  # kept as tasks.read_progress
from .leases import Lease
from .models import ImportJob

logger = logging.getLogger(__name__)

KEEP_FINISHED_JOBS = timedelta(days=7)
PURGE_BATCH_SIZE = 500


def _progress_for(job: ImportJob, lease: Lease | None = None) -> importing.Progress:
    """Progress to the cache (the bar's percentage) and, while checking, the lease kept:
    every call renews it once half of it has passed (one UPDATE, not one per call)."""

    def progress(phase: str, done: int, total: int) -> None:
        record_progress(job.pk, phase, done, total)
        if lease is not None:
            importing.keep(job, lease)

    return progress


@shared_task
def validate_import_job(job_id: int, language: str | None = None) -> None:
    """Check an uploaded file; does nothing unless the job waits to be checked and no
    live worker holds it."""
    claimed = importing.claim_step(job_id, importing.CHECK)
    if claimed is None:
        return
    job, lease = claimed
    record_progress(job_id, "validating")
    try:
        with translation.override(language or job.language or None):
            importing.validate_import(job, _progress_for(job, lease))
    except importing.JobLost:
        logger.info("Import job %s was cancelled or taken over while being checked", job_id)
    finally:
        cache.delete(progress_key(job_id))


@shared_task
def apply_import_job(job_id: int, language: str | None = None) -> None:
    """Import a checked file, once: the job is claimed by moving it from "ready" to
    "importing" under a lease; its transaction then keeps the job (claims.lock)."""
    claimed = importing.claim_step(job_id, importing.APPLY)
    if claimed is None:
        return  # a repeated message, a cancelled job, or one another worker holds
    job, _lease = claimed
    record_progress(job_id, "checking", 0, job.total_rows)
    try:
        with translation.override(language or job.language or None):
            importing.apply_import(job, _progress_for(job))
    except importing.ImportRefused as refused:
        logger.info("Import job %s was not applied: %s", job_id, refused)
    except importing.JobLost:
        logger.info("Import job %s was taken over before it was applied", job_id)
    finally:
        cache.delete(progress_key(job_id))


@shared_task
def repair_import_jobs() -> int:
    """Beat, every IMPORT_REPAIR_SECONDS: queue again the steps whose message was lost
    or whose worker died (from the job rows); fail those that IMPORT_MAX_ATTEMPTS
    workers did not finish. Returns how many steps were queued again."""
    repaired = importing.repair_jobs()
    if repaired:
        logger.warning(
            "Import jobs repaired: %s queued again after a worker stopped, %s after a lost "
            "message, %s failed after too many attempts",
            repaired.requeued,
            repaired.lost,
            repaired.failed,
        )
    return repaired.requeued + repaired.lost


@shared_task
def purge_old_import_jobs() -> None:
    """Delete jobs (and their file content) a week after they end.

    Checked files never imported count as ended too (their preview is stale by then),
    unless their import was asked for and waits for a worker. Jobs whose worker died
    are not this job's: `repair_import_jobs` finds them within minutes.
    """
    ended = [
        ImportJob.Status.MAPPING,  # a file whose columns nobody mapped in a week
        ImportJob.Status.DONE,
        ImportJob.Status.FAILED,
        ImportJob.Status.CANCELLED,
        ImportJob.Status.VALIDATED,
    ]
    cutoff = timezone.now() - KEEP_FINISHED_JOBS
    old = (
        ImportJob.objects.filter(status__in=ended)
        .filter(Q(finished_at__lt=cutoff) | Q(finished_at__isnull=True, created_at__lt=cutoff))
        .exclude(status=ImportJob.Status.VALIDATED, queued_at__isnull=False)
    )
    while ids := list(old.values_list("pk", flat=True)[:PURGE_BATCH_SIZE]):
        ImportJob.objects.filter(pk__in=ids).delete()


@shared_task
def rebuild_membership() -> None:
    """Recompute every membership spell (the churn and cohort figures). Safe to run twice:
    each run replaces all spells in one transaction."""
    written = membership.rebuild()
    logger.info("Membership rebuilt: %s spells", written)
