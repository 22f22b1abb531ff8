"""Risk runs keep their state in PostgreSQL: a chunk counts once, the run ends once,
and chunks whose message was lost are found and enqueued again."""

from datetime import timedelta

import pytest
from django.utils import timezone

from retention.models import Backtest, CustomerRisk, RiskRunChunk, WeightSet
from retention.risk import events, runs
from retention.risk.tasks import compute_risk_chunk

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def customers():
    made = CustomerFactory.create_batch(7)
    for customer in made:
        InteractionFactory(customer=customer, occurred_at=timezone.now() - timedelta(days=40))
    return made


@pytest.fixture
def finished_runs():
    seen = []

    def receiver(sender, run, **kwargs):
        seen.append(run.pk)

    events.run_finished.connect(receiver, dispatch_uid="test-finished")
    yield seen
    events.run_finished.disconnect(dispatch_uid="test-finished")


def test_a_run_records_its_chunks_and_ends_once(customers, finished_runs):
    run = runs.start_run(chunk_size=3)  # tasks run eagerly on commit
    run.refresh_from_db()
    assert (run.status, run.chunks_total, run.chunks_done, run.customers_seen) == ("done", 3, 3, 7)
    assert RiskRunChunk.objects.filter(run=run, finished_at__isnull=False).count() == 3
    assert finished_runs == [run.pk]


def test_a_redelivered_chunk_counts_once_and_does_not_end_the_run_again(customers, finished_runs):
    run = runs.start_run(chunk_size=3)
    chunk = RiskRunChunk.objects.filter(run=run).first()
    CustomerRisk.objects.all().delete()  # a second computation would write them again
    compute_risk_chunk(run.pk, chunk.id_from, chunk.id_to)
    run.refresh_from_db()
    assert (run.chunks_done, run.customers_seen) == (3, 7)
    assert not CustomerRisk.objects.exists()
    assert finished_runs == [run.pk]


def test_the_run_is_done_only_when_every_distinct_chunk_is(customers, finished_runs, settings):
    from crm.celery import app

    app.conf.task_always_eager = False  # enqueue nothing: the test runs the chunks itself
    try:
        run = runs.start_run(chunk_size=3)
    finally:
        app.conf.task_always_eager = True
    first, *others = RiskRunChunk.objects.filter(run=run).order_by("id_from")
    for _ in range(3):  # the first chunk, delivered three times
        compute_risk_chunk(run.pk, first.id_from, first.id_to)
    run.refresh_from_db()
    assert (run.status, run.chunks_done) == ("running", 1)
    for chunk in others:
        compute_risk_chunk(run.pk, chunk.id_from, chunk.id_to)
    run.refresh_from_db()
    assert (run.status, run.chunks_done) == ("done", 3) and finished_runs == [run.pk]


def test_repair_enqueues_only_stale_unfinished_chunks(customers, settings):
    from crm.celery import app

    app.conf.task_always_eager = False  # the messages are "lost": nothing runs
    try:
        run = runs.start_run(chunk_size=3)
    finally:
        app.conf.task_always_eager = True
    settings.RISK_CHUNK_STALE_SECONDS = 600
    assert runs.repair_runs() == 0  # just enqueued: not stale yet
    later = timezone.now() + timedelta(seconds=601)
    assert runs.repair_runs(now=later) == 3  # eager again: the chunks run now
    run.refresh_from_db()
    assert run.status == "done" and CustomerRisk.objects.count() == 7
    assert runs.repair_runs(now=later + timedelta(hours=1)) == 0


def test_interrupted_calibrations_and_backtests_are_marked_failed():
    old = timezone.now() - timedelta(hours=2)
    weights = WeightSet.objects.create()
    backtest = Backtest.objects.create(as_of=timezone.localdate(), horizon_days=90)
    recent = WeightSet.objects.create()
    WeightSet.objects.filter(pk=weights.pk).update(created_at=old)
    Backtest.objects.filter(pk=backtest.pk).update(created_at=old)
    runs.repair_runs()
    assert WeightSet.objects.get(pk=weights.pk).status == "failed"
    assert Backtest.objects.get(pk=backtest.pk).status == "failed"
    assert WeightSet.objects.get(pk=recent.pk).status == "running"
