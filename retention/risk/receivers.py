"""The risk feature's reactions: a started run's chunks go to the workers."""

from . import tasks


def enqueue_chunks(sender, run, chunks, **kwargs) -> None:
    """One task per chunk, sent once the run row is committed (never before)."""
    for id_from, id_to in chunks:
        tasks.compute_risk_chunk.delay_on_commit(run.pk, id_from, id_to)


def enqueue_lost_chunks(sender, chunks, **kwargs) -> None:
    for run_id, id_from, id_to in chunks:
        tasks.compute_risk_chunk.delay_on_commit(run_id, id_from, id_to)


def enqueue_calibration(sender, weight_set, **kwargs) -> None:
    tasks.calibrate_weights.delay_on_commit(weight_set.pk)


def enqueue_backtest(sender, backtest, **kwargs) -> None:
    tasks.run_backtest.delay_on_commit(backtest.pk)
