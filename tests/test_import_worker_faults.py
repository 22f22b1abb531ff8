"""A real Celery worker (prefork, two pool processes, as docker-compose runs it) checks and
imports a CSV file, and the process doing it is killed with SIGKILL mid-step.

The killed task goes back to the queue (task_reject_on_worker_lost) and the other pool
process takes it at once, but the job is still held by the dead worker's lease, so that
message does nothing. The repair job (the beat's, called here every half second) waits
for the lease to run out, then queues the step again; the next worker starts it from
the first row. A check ends validated with the counts of a clean check; an import killed
mid-write leaves nothing written (its transaction died with it) and the next one writes
every row once. While the first import runs, far longer than its lease, its transaction
keeps the job locked and the repair job leaves it alone.

tests/slow_imports.py slows each row and each written batch, and says which process is
at it.
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from crm.celery import app
from customers import importing
from customers.models import Customer, ImportJob

from .test_import import make_job

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

LEASE_SECONDS = 2  # a step takes 3 s or more: kept by renewals (checks) or the lock (imports)
ROWS = 300
INVALID = {7, 150, 299}  # these rows have no valid email


def _content() -> str:
    rows = [
        f"Customer {n},{'not-an-email' if n in INVALID else f'c{n}@example.org'}"
        for n in range(ROWS)
    ]
    return "name,email\n" + "\n".join(rows) + "\n"


class Worker:
    def __init__(self, tmp_path: Path) -> None:
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        self.marks = tmp_path / "marks"
        self.marks.mkdir()
        self.log = tmp_path / "worker.log"
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "crm.settings_test",
            "DATABASE_URL": (
                f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            ),
            "IMPORT_LEASE_SECONDS": str(LEASE_SECONDS),
            "SLOW_IMPORT_MARKS": str(self.marks),
        }
        self.process = subprocess.Popen(  # noqa: S603 (our own worker, fixed arguments)
            [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool", "prefork",
             "--concurrency", "2", "--include", "tests.slow_imports", "-l", "info",
             "--without-gossip", "--without-mingle", "--without-heartbeat", "-n", "imports@%h"],
            cwd=ROOT, env=env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
        )  # fmt: skip

    def ready(self) -> bool:
        return " ready." in self.log.read_text()

    def at(self, phase: str) -> int | None:
        """The pid of the process that reached `phase` ("checking", "writing") first."""
        marks = sorted(self.marks.glob(f"{phase}-*"), key=lambda mark: mark.stat().st_mtime)
        return int(marks[0].name.split("-")[1]) if marks else None

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
        print(self.log.read_text()[-4000:])  # shown when the test fails


def _wait(condition, timeout: float, what: str, *, every: float = 0.1, then=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        if then is not None:
            then()
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def _status(job: ImportJob) -> str:
    return ImportJob.objects.values_list("status", flat=True).get(pk=job.pk)


def _repair() -> None:
    """The beat's repair job, often. (Its messages go to the test's broker on commit.)"""
    importing.repair_jobs()


@pytest.fixture
def worker(tmp_path, settings):
    if not os.environ.get("CELERY_BROKER_URL", "").startswith("redis://"):
        pytest.skip("needs the Redis that `make test` starts (CELERY_BROKER_URL=redis://...)")
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL that `make test` starts (two processes, row locks)")
    settings.IMPORT_MAX_ATTEMPTS = 3
    app.conf.task_always_eager = False
    app.control.purge()
    started = Worker(tmp_path)
    try:
        _wait(started.ready, 30, "the worker")
        yield started
    finally:
        started.stop()
        app.control.purge()
        app.conf.task_always_eager = True


def test_a_pool_process_killed_mid_check_is_repaired_and_the_file_ends_validated(worker, manager):
    job = make_job(manager, _content())
    importing.job_check_request(job=job, language="en")  # to the worker, at once
    checking = _wait(lambda: worker.at("checking"), 20, "the check to start")
    time.sleep(0.5)  # mid-check: it takes 3 s
    os.kill(checking, signal.SIGKILL)
    job.refresh_from_db()
    assert (job.status, job.attempts, job.total_rows) == ("validating", 1, 0)

    _wait(lambda: _status(job) == "validated", 30, "the check to finish", every=0.5, then=_repair)
    job.refresh_from_db()
    assert (job.total_rows, job.valid_rows, job.error_rows) == (ROWS, ROWS - 3, 3)
    assert sorted({error["row"] for error in job.errors}) == [n + 2 for n in sorted(INVALID)]
    # Two workers took it: the killed one and the one the repair job sent. The second kept
    # its 2-second lease through a 3-second check by renewing it.
    assert (job.attempts, job.lease_until, job.queued_at) == (2, None, None)
    assert worker.process.poll() is None  # the worker lived on, with a new pool process
    assert "WorkerLostError" in worker.log.read_text()


def test_a_pool_process_killed_mid_import_leaves_nothing_written_and_the_next_writes_all(
    worker, manager
):
    job = make_job(manager, _content(), mode=ImportJob.Mode.VALID_ROWS)
    importing.validate_import(job)  # here: quick
    importing.job_apply_request(job=job, language="en")
    writing = _wait(lambda: worker.at("writing"), 30, "the writing to start", then=_repair)
    time.sleep(1)  # several batches of 20 written, inside the import's transaction
    assert ImportJob.objects.get(pk=job.pk).attempts == 1  # locked: the repair job waited
    os.kill(writing, signal.SIGKILL)
    assert not Customer.objects.exists()  # what it wrote died with its transaction
    assert _status(job) == "importing"

    _wait(lambda: _status(job) == "done", 40, "the import to finish", every=0.5, then=_repair)
    job.refresh_from_db()
    assert (job.created_count, job.updated_count, job.attempts) == (ROWS - 3, 0, 2)
    assert Customer.objects.count() == ROWS - 3
