"""Nightly and on-demand risk recomputation, split into chunks for parallel workers."""

import logging

from celery import shared_task
from django.utils import timezone

from . import backtest, calibration, runs
from .models import Backtest, WeightSet

logger = logging.getLogger(__name__)


@shared_task
def nightly_risk_recompute() -> int:
    """Beat entry point: start today's run."""
    return runs.start_run().pk


@shared_task(acks_late=True, autoretry_for=(Exception,), max_retries=3, retry_backoff=True)
def compute_risk_chunk(run_id: int, id_from: int, id_to: int) -> None:
    """One chunk of a run. Safe to run twice: a finished chunk is not computed again."""
    runs.run_chunk(run_id, id_from, id_to)


@shared_task
def repair_risk_runs() -> int:
    """Beat: enqueue again the chunks a lost broker message or a dead worker left."""
    return runs.repair_runs()


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
