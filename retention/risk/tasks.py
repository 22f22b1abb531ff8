"""Nightly and on-demand risk recomputation, split into chunks for parallel workers."""

import logging

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from . import backtest, calibration, events, runs, scoring
from .models import Backtest, RiskRun, WeightSet

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


@shared_task
def weekly_calibration() -> int:
    """Beat entry point: learn suggested weights from the history (applied by an admin)."""
    return calibration.start_calibration().pk


@shared_task(acks_late=True)
def calibrate_weights(weight_set_id: int) -> None:
    """Fill a running weight set. A repeat of a finished one does nothing."""
    weight_set = WeightSet.objects.filter(pk=weight_set_id, status=WeightSet.Status.RUNNING).first()
    if weight_set is None:
        return
    try:
        calibration.calibrate(weight_set)
    except Exception as error:
        WeightSet.objects.filter(pk=weight_set_id).update(
            status=WeightSet.Status.FAILED, message=str(error)[:2000], finished_at=timezone.now()
        )
        raise


@shared_task(acks_late=True)
def run_backtest(backtest_id: int) -> None:
    """Fill a running backtest row. A repeat of a finished one does nothing."""
    row = Backtest.objects.filter(pk=backtest_id, status=Backtest.Status.RUNNING).first()
    if row is None:
        return
    try:
        backtest.run_backtest(row)
    except Exception as error:
        Backtest.objects.filter(pk=backtest_id).update(
            status=Backtest.Status.FAILED, message=str(error)[:2000], finished_at=timezone.now()
        )
        raise
