"""The repair job: import steps whose message or worker was lost, found in the database.

The beat runs `repair_jobs` every IMPORT_REPAIR_SECONDS (customers.tasks.
repair_import_jobs). It needs nothing that only the broker or the cache knew:

- a worker died holding a step: the step's lease ran out (a live import keeps its
  job row locked, claims.py, and is passed over). The step is queued again, unless
  IMPORT_MAX_ATTEMPTS workers took it already: then the job fails with a message
  that says so. Nothing of a dead worker's import was written (one transaction),
  so the next worker starts the step from the beginning;
- a step's message was lost (Redis restarted without persistence): the step is
  queued, nobody took it, and it was queued more than IMPORT_REQUEUE_AFTER_SECONDS
  ago. It is queued again, at no attempt's cost: a lost broker costs only time.

A run takes the jobs it changes with SELECT ... FOR UPDATE SKIP LOCKED and stamps
`queued_at` in the same transaction, so two runs at once never queue one job twice,
and a job queued again has IMPORT_REQUEUE_AFTER_SECONDS before it is considered
again. A step queued twice all the same (a worker so busy that its message waited
that long) runs once: one claim wins. Finished jobs are never touched.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import ngettext

from customers.events import import_apply_requested, import_check_requested
from customers.models import ImportJob

from .claims import END_OF_STEP
from .jobs import progress_key

Status = ImportJob.Status
# Jobs a run changes at most; the next run goes on.
REPAIR_LIMIT = 500


@dataclass(frozen=True)
class Repaired:
    requeued: int = 0  # steps whose worker died, queued again
    lost: int = 0  # steps whose message was lost, queued again
    failed: int = 0  # steps given up after IMPORT_MAX_ATTEMPTS workers

    def __bool__(self) -> bool:
        return bool(self.requeued or self.lost or self.failed)


def _gave_up_message(status: str, attempts: int) -> str:
    if status == Status.VALIDATING:
        text = ngettext(
            "The background worker stopped while checking this file, %(count)s time; "
            "nothing was imported. Upload it again, in smaller parts if it is large.",
            "The background worker stopped while checking this file, %(count)s times; "
            "nothing was imported. Upload it again, in smaller parts if it is large.",
            attempts,
        )
    else:
        text = ngettext(
            "The background worker stopped while importing this file, %(count)s time; "
            "each try was undone, so nothing was imported. Upload it again, in smaller "
            "parts if it is large.",
            "The background worker stopped while importing this file, %(count)s times; "
            "each try was undone, so nothing was imported. Upload it again, in smaller "
            "parts if it is large.",
            attempts,
        )
    return text % {"count": attempts}


def repair_jobs(*, now: datetime | None = None) -> Repaired:
    """Queue again the steps a dead worker or a lost message left; fail the hopeless ones.

    A fixed number of queries, whatever the number of jobs."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.IMPORT_REQUEUE_AFTER_SECONDS)
    # Held by a worker whose lease ran out ("importing" without a lease: left by a
    # version that kept none).
    expired = Q(status__in=[Status.VALIDATING, Status.IMPORTING], lease_until__lt=now)
    unleased = Q(status=Status.IMPORTING, lease_until__isnull=True)
    # Queued, never taken, for too long ("validating" without a time: queued when
    # uploaded, by a version that kept none).
    waiting = Q(status=Status.VALIDATING) | Q(status=Status.VALIDATED, queued_at__isnull=False)
    long_ago = Q(queued_at__lt=stale) | Q(queued_at__isnull=True, created_at__lt=stale)
    with transaction.atomic():
        dead = _take(expired | unleased)
        lost = _take(Q(waiting, long_ago, lease_until__isnull=True))
        hopeless = [job for job in dead if job.attempts >= settings.IMPORT_MAX_ATTEMPTS]
        again = [job for job in dead if job not in hopeless] + lost
        checks = [job for job in again if job.status == Status.VALIDATING]
        applies = [job for job in again if job.status != Status.VALIDATING]
        _fail(hopeless, now)
        if checks:
            ImportJob.objects.filter(pk__in=[job.pk for job in checks]).update(
                lease_until=None, queued_at=now
            )
        if applies:
            # "Ready" again and asked to be imported: the next claim starts from scratch.
            ImportJob.objects.filter(pk__in=[job.pk for job in applies]).update(
                status=Status.VALIDATED, lease_until=None, queued_at=now
            )
        # A dead worker's last progress would show under the next one's until it writes.
        cache.delete_many([progress_key(job.pk) for job in dead])
        # Each one's task, once this transaction commits (customers.receivers).
        for job in checks:
            import_check_requested.send(
                sender=ImportJob, job_id=job.pk, language=job.language or None
            )
        for job in applies:
            import_apply_requested.send(
                sender=ImportJob, job_id=job.pk, language=job.language or None
            )
    return Repaired(requeued=len(dead) - len(hopeless), lost=len(lost), failed=len(hopeless))


def _take(condition: Q) -> list:
    """The jobs matching `condition` that nobody has locked, locked until the commit."""
    return list(
        ImportJob.objects.select_for_update(skip_locked=True)
        .filter(condition)
        .order_by("pk")
        .values_list("pk", "status", "attempts", "language", named=True)[:REPAIR_LIMIT]
    )


def _fail(jobs: list[tuple], now: datetime) -> None:
    """One UPDATE per kind of message (step, attempts, language): a handful at most."""
    groups: dict[tuple, list[int]] = {}
    for job in jobs:
        groups.setdefault((job.status, job.attempts, job.language), []).append(job.pk)
    for (status, attempts, language), ids in groups.items():
        with translation.override(language or settings.LANGUAGE_CODE):
            failure = _gave_up_message(status, attempts)
        ImportJob.objects.filter(pk__in=ids).update(
            status=Status.FAILED, failure=failure, finished_at=now, **END_OF_STEP
        )
