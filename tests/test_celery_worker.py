"""A real Celery worker process, fed through the real Redis, runs an import end to end."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from crm.celery import app
from customers.models import Customer, ImportJob
from customers.tasks import apply_import_job, validate_import_job

from .factories import import_job

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CSV = (
    "name,email,status\nAda Lovelace,ada@example.org,active\nGrace Hopper,grace@example.org,lead\n"
)


def _wait_for(job: ImportJob, status: str, timeout: float = 60) -> ImportJob:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.status == status:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job stayed {job.status!r}, expected {status!r}")


@pytest.fixture
def worker(tmp_path):
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("needs the Redis that `make test` starts (CELERY_BROKER_URL=redis://...)")
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL that `make test` starts")
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings_test",
        # The worker must use the test database pytest-django created.
        "DATABASE_URL": f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
    }
    log = tmp_path / "worker.log"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "crm",
            "worker",
            "--pool",
            "solo",
            "-l",
            "info",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env=env,
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    app.conf.task_always_eager = False
    try:
        yield process
    finally:
        app.conf.task_always_eager = True
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        print(log.read_text())  # shown by pytest when the test fails


def test_worker_validates_then_applies_an_import(worker, admin_user):
    job = import_job(
        target=ImportJob.Target.CUSTOMERS, filename="two.csv", content=CSV, created_by=admin_user
    )
    validate_import_job.delay(job.pk)
    job = _wait_for(job, ImportJob.Status.VALIDATED)
    assert (job.total_rows, job.valid_rows, job.error_rows) == (2, 2, 0)
    assert not Customer.objects.exists()  # validation alone writes nothing

    apply_import_job.delay(job.pk)
    apply_import_job.delay(job.pk)  # a duplicate message must not import twice
    job = _wait_for(job, ImportJob.Status.DONE)
    assert job.created_count == 2
    time.sleep(1)  # give the duplicate message time to be processed
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "ada@example.org",
        "grace@example.org",
    ]


def test_worker_runs_the_chunked_nightly_risk_job(worker):
    from retention.models import CustomerRisk, RiskRun
    from retention.risk.runs import start_run

    from .factories import CustomerFactory, InteractionFactory

    customers = CustomerFactory.create_batch(7)
    InteractionFactory(customer=customers[0], kind="complaint", subject="Late delivery")
    run = start_run(chunk_size=3)
    assert run.chunks_total == 3
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.status == RiskRun.Status.DONE:
            break
        time.sleep(0.2)
    assert (run.status, run.chunks_done, run.customers_seen) == ("done", 3, 7)
    flagged = CustomerRisk.objects.get(customer=customers[0])
    assert [flag["key"] for flag in flagged.flags] == ["complaints"]
    assert CustomerRisk.objects.count() == 7
