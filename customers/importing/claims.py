"""A worker's hold on an import job's step: claiming it, keeping it, the fenced writes.

A job has at most one step in progress: checking the file (status "validating") or,
once the user asked for it, importing it ("ready" with `queued_at` set, then
"importing"). Asking for a step stamps `queued_at` (jobs.py); the task that runs it
first claims it with one conditional UPDATE that only a step nobody holds matches,
writing a new lease token, a lease (IMPORT_LEASE_SECONDS) and one more attempt: of
two messages for one step, one runs it. Every later write the worker makes about the
job requires its token (`held`), so a worker whose lease ran out and whose step
another worker took since writes nothing. Only a claim replaces a token: a worker
that was slow, not dead, still finishes a step nobody took meanwhile.

Keeping the lease while the step runs:
- checking calls its progress callback every few hundred rows, which renews the lease
  once half of it has passed (`keep`); a renewal that no longer finds the job under
  the token (cancelled, or taken by another worker) stops the check (JobLost);
- importing runs in one transaction whose first statement locks the job row (`lock`).
  A renewal written inside it would stay invisible until the commit, so there is
  none: while the transaction lives, the row stays locked, and the repair job
  (repair.py) passes over locked rows. A worker that dies takes its transaction with
  it: PostgreSQL rolls it back (nothing written) and the lock goes. On SQLite a
  transaction locks the whole database, and the repair job waits for it instead.
"""

from datetime import datetime

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils import timezone

from customers.leases import Lease, with_reconnect
from customers.models import ImportJob

Status = ImportJob.Status
CHECK, APPLY = "check", "apply"
RUNNING = (Status.VALIDATING, Status.IMPORTING)
# Written by whatever ends a step (done, refused, failed, cancelled): none is waiting.
END_OF_STEP = {"queued_at": None, "lease_until": None}


class JobLost(Exception):
    """The job is no longer this worker's: cancelled, or taken by another worker."""


def claim_step(job_id: int, step: str, *, now: datetime | None = None):
    """Take the job's `step` (CHECK or APPLY) if it is waiting and nobody holds it.

    Returns (job, lease), or None when there is nothing to take: the step ended,
    another worker holds it, the job was cancelled (a repeated or late message)."""
    now = now or timezone.now()
    lease = Lease.starting(now, settings.IMPORT_LEASE_SECONDS)
    free = ImportJob.objects.filter(pk=job_id, lease_until__isnull=True)
    if step == CHECK:
        rows, status = free.filter(status=Status.VALIDATING), Status.VALIDATING
    else:
        rows, status = free.filter(status=Status.VALIDATED), Status.IMPORTING
    claimed = with_reconnect(
        lambda: rows.update(
            status=status,
            lease_token=lease.token,
            lease_until=lease.lease_until,
            attempts=F("attempts") + 1,
        ),
        "claiming an import job",
    )
    if not claimed:
        return None
    return ImportJob.objects.get(pk=job_id), lease


def held(job: ImportJob) -> QuerySet:
    """The job's row, if its latest claim is the one `job` was loaded with."""
    return ImportJob.objects.filter(pk=job.pk, lease_token=job.lease_token)


def keep(job: ImportJob, lease: Lease, *, now: datetime | None = None) -> None:
    """Renew the lease once half of it has passed; JobLost if the job is no longer ours."""
    now = now or timezone.now()
    if not lease.renewal_due(now):
        return
    until = lease.renewed_until(now)
    renewed = with_reconnect(
        lambda: held(job).filter(status__in=RUNNING).update(lease_until=until),
        "renewing an import job's lease",
    )
    if not renewed:
        raise JobLost(job.pk)
    lease.lease_until = job.lease_until = until


def lock(job: ImportJob) -> None:
    """In the import's transaction, first: lock the job's row while it is still ours.

    The lock lasts as long as the transaction: it is how the repair job knows a long
    import is alive."""
    rows = held(job).select_for_update().filter(status__in=[Status.VALIDATED, Status.IMPORTING])
    if not list(rows.values_list("pk", flat=True)):
        raise JobLost(job.pk)
