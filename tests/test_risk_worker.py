"""A real Celery worker (prefork, two pool processes) computes a risk run and is hurt.

A pool process killed mid-chunk: the chunk goes back to the queue
(task_reject_on_worker_lost) and the run finishes by itself. The whole worker killed
and the broker's queue lost (Redis restarted without persistence): a new worker and
the repair job (the beat's, called here) finish it. Either way every customer ends
with the score a clean computation gives, and every chunk is counted once.
"""

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.db import connection
from django.utils import timezone

from crm.celery import app
from retention.models import CustomerRisk, RiskRun, RiskRunChunk
from retention.risk import planning, runs, scoring

from .factories import CustomerFactory, InteractionFactory

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 300
CHUNK = 10  # 30 chunks of ~0.4 s each (tests/slow_chunks.py), two at a time


def _start_worker(tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings_test",
        "CELERY_TASK_ALWAYS_EAGER": "0",
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    log = tmp_path / f"{name}.log"
    process = subprocess.Popen(  # noqa: S603 (our own worker, fixed arguments)
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool", "prefork",
         "--concurrency", "2", "--include", "tests.slow_chunks", "-l", "info",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"{name}@%h"],
        cwd=ROOT, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
    )  # fmt: skip
    return process, log


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def _pool_processes(worker: subprocess.Popen) -> list[int]:
    """The worker's children (its pool), from /proc."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        if int(fields[1]) == worker.pid:
            children.append(int(stat.parent.name))
    return children


def _wait(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _done_chunks(run: RiskRun) -> int:
    return RiskRunChunk.objects.filter(run=run, finished_at__isnull=False).count()


@pytest.fixture
def history():
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        pytest.skip("needs the Redis that `make test` starts (CELERY_BROKER_URL=redis://...)")
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL that `make test` starts")
    for n, customer in enumerate(CustomerFactory.create_batch(CUSTOMERS, plan="")):
        for k in range(1 + n % 4):
            InteractionFactory(
                customer=customer,
                kind="purchase",
                amount=10,
                occurred_at=timezone.now() - timedelta(days=5 + n % 200 + 30 * k),
            )
    config = planning.load_configuration()
    clean = scoring.assess_chunk(timezone.localdate(), 0, 10**12, config)
    expected = dict(zip(clean.ids.tolist(), clean.explained.score.tolist(), strict=True))
    app.conf.task_always_eager = False
    try:
        yield expected
    finally:
        app.conf.task_always_eager = True


def _assert_complete(run: RiskRun, expected: dict) -> None:
    run.refresh_from_db()
    assert run.status == "done"
    assert run.chunks_done == run.chunks_total == _done_chunks(run)
    assert run.customers_seen == CUSTOMERS
    assert dict(CustomerRisk.objects.values_list("customer_id", "score")) == expected


def test_a_pool_process_killed_mid_chunk_loses_nothing(history, tmp_path):
    worker, log = _start_worker(tmp_path, "first")
    try:
        _wait(lambda: len(_pool_processes(worker)) == 2, 30, "the pool")
        run = runs.start_run(chunk_size=CHUNK)
        _wait(lambda: _done_chunks(run) >= 3, 60, "the first chunks")
        os.kill(_pool_processes(worker)[0], signal.SIGKILL)  # mid-chunk: each takes 0.4 s
        _wait(lambda: RiskRun.objects.get(pk=run.pk).status == "done", 90, "the run to finish")
        _assert_complete(run, history)
    finally:
        _stop(worker)
        print(log.read_text()[-3000:])
    assert "WorkerLostError" in log.read_text() or "exited with" in log.read_text()


def test_a_killed_worker_and_a_lost_broker_queue_are_repaired(history, tmp_path, settings):
    first, first_log = _start_worker(tmp_path, "first")
    second = None
    try:
        _wait(lambda: len(_pool_processes(first)) == 2, 30, "the pool")
        run = runs.start_run(chunk_size=CHUNK)
        _wait(lambda: _done_chunks(run) >= 3, 60, "the first chunks")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        for pid in _pool_processes(first):
            os.kill(pid, signal.SIGKILL)
        # Redis restarted without persistence: every queued and unacknowledged message gone.
        redis.Redis.from_url(os.environ["CELERY_BROKER_URL"]).flushall()
        assert _done_chunks(run) < run.chunks_total
        second, _second_log = _start_worker(tmp_path, "second")
        time.sleep(2)
        assert RiskRun.objects.get(pk=run.pk).status == "running"  # nothing left to run
        # The beat's repair job, once the chunks are stale.
        settings.RISK_CHUNK_STALE_SECONDS = 0
        runs.repair_runs()
        _wait(lambda: RiskRun.objects.get(pk=run.pk).status == "done", 90, "the run to finish")
        _assert_complete(run, history)
    finally:
        _stop(first)
        if second is not None:
            _stop(second)
        print(first_log.read_text()[-2000:])
