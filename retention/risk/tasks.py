"""Nightly and on-demand risk recomputation, split into chunks for parallel workers."""

import logging

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from . import events, runs, scoring
from .models import RiskRun

logger = logging.getLogger(__name__)


@shared_task
def nightly_risk_recompute() -> int:
    """Beat entry point: start today's run."""
    return runs.start_run().pk


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def compute_risk_chunk(run_id: int, id_from: int, id_to: int) -> None:
    """One chunk of a run. Safe to run twice: the same data writes the same rows."""
    run = RiskRun.objects.filter(pk=run_id).first()
    if run is None:
        return
    outcome = scoring.compute_chunk(run.as_of, id_from, id_to)
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
        events.run_finished.send(sender=RiskRun, run=run)
