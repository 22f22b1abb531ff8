"""Imported by the test worker (celery --include): each risk chunk takes a moment, so
that a process killed by a fault test dies in the middle of one."""

import time

from celery.signals import task_prerun

CHUNK_SECONDS = 0.4


@task_prerun.connect
def _slow_down(sender=None, **kwargs) -> None:
    if sender is not None and sender.name == "retention.risk.tasks.compute_risk_chunk":
        time.sleep(CHUNK_SECONDS)
