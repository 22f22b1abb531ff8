"""Nightly and on-demand risk recomputation, split into chunks for parallel workers."""

import logging
from datetime import date

from celery import shared_task
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import followups, outbox, risk
from .models import RiskRun

logger = logging.getLogger(__name__)


def start_run(
    *, as_of: date | None = None, triggered_by=None, chunk_size: int | None = None
) -> RiskRun:
    """Create a run and enqueue one task per chunk once the run row is committed."""
    as_of = as_of or timezone.localdate()
    chunks = risk.plan_chunks(chunk_size or risk.DEFAULT_CHUNK_SIZE)
    with transaction.atomic():
        run = RiskRun.objects.create(
            as_of=as_of, chunks_total=len(chunks), triggered_by=triggered_by
        )
        if not chunks:
            RiskRun.objects.filter(pk=run.pk).update(
                status=RiskRun.Status.DONE, finished_at=timezone.now()
            )
        for id_from, id_to in chunks:
            compute_risk_chunk.delay_on_commit(run.pk, id_from, id_to)
    return run


@shared_task
def nightly_risk_recompute() -> int:
    """Beat entry point: start today's run."""
    return start_run().pk


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def compute_risk_chunk(run_id: int, id_from: int, id_to: int) -> None:
    """One chunk of a run. Safe to run twice: the same data writes the same rows."""
    run = RiskRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    outcome = risk.compute_chunk(run.as_of, id_from, id_to)
    RiskRun.objects.filter(pk=run_id).update(
        chunks_done=F("chunks_done") + 1,
        customers_seen=F("customers_seen") + outcome.seen,
        customers_changed=F("customers_changed") + outcome.changed,
    )
    finished = RiskRun.objects.filter(
        pk=run_id, status=RiskRun.Status.RUNNING, chunks_done__gte=F("chunks_total")
    ).update(status=RiskRun.Status.DONE, finished_at=timezone.now())
    if finished:
        logger.info("Risk run %s finished", run_id)
        if run.as_of == timezone.localdate():
            # Follow-ups read the flags and rises this run wrote (a backfill sends nothing).
            queue_followups.delay(run.as_of.isoformat())


# --- Follow-up emails and the outbox -------------------------------------------------


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def queue_followups(as_of: str | None = None) -> int:
    """Queue the day's rule follow-ups. Safe to run twice: each (rule, customer, day) once."""
    queued = followups.queue_rule_followups(as_of=date.fromisoformat(as_of) if as_of else None)
    if outbox.has_due():  # the run's notices to account managers, too
        deliver_outbox.delay()
    return queued


@shared_task(acks_late=True)
def deliver_outbox() -> int:
    """Claim and send due emails until none is left. Several may run at once (SKIP LOCKED).

    acks_late: a worker killed mid-batch leaves its rows "sending" under a lease;
    the sweeper re-queues them once the lease expires.
    """
    outcome = outbox.deliver()
    if outcome.sent or outcome.errors:
        logger.info(
            "Outbox: %s sent, %s retrying, %s failed, %s not sent",
            outcome.sent,
            outcome.retrying,
            outcome.failed,
            outcome.cancelled,
        )
    return outcome.sent


@shared_task
def sweep_outbox() -> int:
    """Beat, every minute: re-queue rows stuck in flight, then send what is due."""
    requeued = outbox.release_expired_leases()
    if outbox.has_due():
        deliver_outbox.delay()
    return requeued


@shared_task
def nightly_loyalty() -> dict[str, int]:
    """Beat entry point: award imported purchases, anniversaries, then expire old points.

    Each step is set-based and idempotent, so a re-run (or a retried message) pays nothing twice.
    """
    from . import loyalty

    outcome = loyalty.nightly()
    logger.info("Loyalty nightly: %s", outcome)
    return outcome
