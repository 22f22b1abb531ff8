"""The risk feature's reactions: a started run's chunks go to the workers."""

from . import tasks


def enqueue_chunks(sender, run, chunks, **kwargs) -> None:
    """One task per chunk, sent once the run row is committed (never before)."""
    for id_from, id_to in chunks:
        tasks.compute_risk_chunk.delay_on_commit(run.pk, id_from, id_to)
