"""Risk runs: a night's (or a click's) recomputation, split into chunks for the workers.

Every chunk is a RiskRunChunk row, so the state of a run is in PostgreSQL, not in the
broker: a chunk whose message was lost (Redis restarted without persistence, a
worker killed) is found by `repair_runs` and enqueued again; a chunk delivered twice
finds itself finished and does nothing; the run is done when all its distinct chunks
are, in the transaction of the last one, and only then is `run_finished` sent (on
commit), so the day's follow-ups never read a half-written run.
"""

from datetime import date, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from . import daily, events, planning, scoring
from .models import Backtest, RiskRun, RiskRunChunk, WeightSet


def start_run(
    *, as_of: date | None = None, triggered_by=None, chunk_size: int | None = None
) -> RiskRun:
    """Create a run and its chunks; they are enqueued (risk.receivers) once committed."""
    as_of = as_of or timezone.localdate()
    chunks = planning.plan_chunks(chunk_size or planning.DEFAULT_CHUNK_SIZE)
    now = timezone.now()
    with transaction.atomic():
        run = RiskRun.objects.create(
            as_of=as_of, chunks_total=len(chunks), triggered_by=triggered_by
        )
        RiskRunChunk.objects.bulk_create(
            RiskRunChunk(run=run, id_from=a, id_to=b, enqueued_at=now) for a, b in chunks
        )
        if not chunks:
            RiskRun.objects.filter(pk=run.pk).update(status=RiskRun.Status.DONE, finished_at=now)
        events.run_started.send(sender=RiskRun, run=run, chunks=chunks)
    return run


@transaction.atomic
def run_chunk(run_id: int, id_from: int, id_to: int) -> bool:
    """Compute one chunk of a run, once: False when it was already done (a redelivery).

    The chunk's rows, its "finished" mark and the run's counters are one transaction;
    the run row is locked while counting, so two last chunks cannot both miss (or
    both see) the end.
    """
    chunk = (
        RiskRunChunk.objects.select_for_update()
        .filter(run_id=run_id, id_from=id_from, id_to=id_to)
        .select_related("run")
        .first()
    )
    if chunk is None or chunk.finished_at is not None:
        return False
    outcome = scoring.compute_chunk(chunk.run.as_of, id_from, id_to)
    chunk.finished_at = timezone.now()
    chunk.seen, chunk.changed = outcome.seen, outcome.changed
    chunk.save(update_fields=["finished_at", "seen", "changed"])
    run = RiskRun.objects.select_for_update().get(pk=run_id)
    totals = run.chunks.aggregate(
        done=Count("pk", filter=Q(finished_at__isnull=False)),
        seen=Sum("seen"),
        changed=Sum("changed"),
    )
    run.chunks_done = totals["done"]
    run.customers_seen, run.customers_changed = totals["seen"] or 0, totals["changed"] or 0
    fields = ["chunks_done", "customers_seen", "customers_changed"]
    if run.status == RiskRun.Status.RUNNING and run.chunks_done >= run.chunks_total:
        # The night's totals for the dashboard, in this transaction: a run is never
        # done without them, and a failure here retries the chunk.
        daily.record_run(run.as_of)
        run.status, run.finished_at = RiskRun.Status.DONE, timezone.now()
        fields += ["status", "finished_at"]
        transaction.on_commit(lambda: events.run_finished.send(sender=RiskRun, run=run))
    run.save(update_fields=fields)
    return True


def repair_runs(*, now=None) -> int:
    """Enqueue again the chunks of running runs that should have finished by now.

    A chunk is stale when it was enqueued more than RISK_CHUNK_STALE_SECONDS ago and
    is not finished: its message was lost, or its worker died. Running it twice is
    harmless (run_chunk skips a finished chunk). Calibrations and backtests that
    have been running for longer than an hour were interrupted: they are marked
    failed, to be started again. Returns how many chunks were enqueued again.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.RISK_CHUNK_STALE_SECONDS)
    chunks = list(
        RiskRunChunk.objects.filter(
            run__status=RiskRun.Status.RUNNING, finished_at__isnull=True, enqueued_at__lt=stale
        ).values_list("pk", "run_id", "id_from", "id_to")
    )
    with transaction.atomic():
        RiskRunChunk.objects.filter(pk__in=[pk for pk, *_rest in chunks]).update(enqueued_at=now)
        if chunks:
            events.chunks_lost.send(sender=RiskRunChunk, chunks=[c[1:] for c in chunks])
    interrupted = now - timedelta(hours=1)
    message = "Interrupted (a worker or the broker was lost): start it again."
    for model in (WeightSet, Backtest):
        model.objects.filter(status=model.Status.RUNNING, created_at__lt=interrupted).update(
            status=model.Status.FAILED, message=message, finished_at=now
        )
    return len(chunks)
