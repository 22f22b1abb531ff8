"""Nightly and on-demand risk recomputation, split into chunks for parallel workers."""

import logging
from datetime import date

from celery import shared_task
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from . import risk
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


@shared_task
def nightly_loyalty() -> dict[str, int]:
    """Beat entry point: award imported purchases, anniversaries, then expire old points.

    Each step is set-based and idempotent, so a re-run (or a retried message) pays nothing twice.
    """
    from . import loyalty

    outcome = loyalty.nightly()
    logger.info("Loyalty nightly: %s", outcome)
    return outcome
