"""Risk runs: a night's (or a click's) recomputation, split into chunks for the workers."""

from datetime import date

from django.db import transaction
from django.utils import timezone

from . import events, planning
from .models import RiskRun


def start_run(
    *, as_of: date | None = None, triggered_by=None, chunk_size: int | None = None
) -> RiskRun:
    """Create a run; its chunks are enqueued (risk.receivers) once the row is committed."""
    as_of = as_of or timezone.localdate()
    chunks = planning.plan_chunks(chunk_size or planning.DEFAULT_CHUNK_SIZE)
    with transaction.atomic():
        run = RiskRun.objects.create(
            as_of=as_of, chunks_total=len(chunks), triggered_by=triggered_by
        )
        if not chunks:
            RiskRun.objects.filter(pk=run.pk).update(
                status=RiskRun.Status.DONE, finished_at=timezone.now()
            )
        events.run_started.send(sender=RiskRun, run=run, chunks=chunks)
    return run
