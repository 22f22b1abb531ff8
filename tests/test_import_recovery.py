"""Import jobs survive a lost broker message and a dead worker: the step's state is on the
job's row (queued, claimed under a lease, renewed while checking, locked while
importing), and the repair job queues again from there what a lost message or a dead
worker left, until IMPORT_MAX_ATTEMPTS workers stopped on it.

A worker's death is a `Died` raised in the middle of the work: a BaseException, which
no `except Exception` catches, so nothing after it runs (tests/test_import_worker_faults.py
has the real SIGKILL)."""

import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone

from crm.celery import app
from customers import importing, tasks
from customers.importing import applying, checking, claims, repair, rows
from customers.models import Customer, ImportJob

from .test_import import make_job

pytestmark = pytest.mark.django_db
Status = ImportJob.Status

FILE = "name,email\nAda,ada@example.org\nBob,bob@example.org\nCy,not-an-email\n"
LEASE = timedelta(seconds=60)


class Died(BaseException):
    """What a SIGKILL looks like from inside: nothing after it runs."""


@pytest.fixture(autouse=True)
def timings(settings):
    settings.IMPORT_LEASE_SECONDS = 60
    settings.IMPORT_REQUEUE_AFTER_SECONDS = 300
    settings.IMPORT_MAX_ATTEMPTS = 3


def _queued(user, content: str = FILE, **kwargs) -> ImportJob:
    """An uploaded file whose check was asked for (its message is left to the test)."""
    job = make_job(user, content, **kwargs)
    importing.job_check_request(job=job, language="en")
    return job


def _waiting(user, content: str = FILE) -> ImportJob:
    """The same, written directly: in a transactional test the message would run at once."""
    job = make_job(user, content)
    ImportJob.objects.filter(pk=job.pk).update(queued_at=timezone.now(), language="en")
    return job


def _die_while_checking():
    return mock.patch.object(rows.CustomerRows, "check", side_effect=Died)


def _after_the_lease():
    return time_machine.travel(timezone.now() + LEASE + timedelta(seconds=1), tick=False)


def _enqueued():
    """The tasks a repair run hands to the broker (instead of running them)."""
    return (
        mock.patch.object(tasks.validate_import_job, "delay_on_commit"),
        mock.patch.object(tasks.apply_import_job, "delay_on_commit"),
    )


# --- Claiming --------------------------------------------------------------------------


def test_a_claim_takes_the_step_under_a_lease_and_a_second_message_does_nothing(manager):
    job = _queued(manager)
    with time_machine.travel(timezone.now(), tick=False):
        job, lease = importing.claim_step(job.pk, importing.CHECK)
        assert lease.lease_until == timezone.now() + LEASE

    assert (job.status, job.lease_token, job.lease_until, job.attempts) == (
        Status.VALIDATING,
        lease.token,
        lease.lease_until,
        1,
    )
    assert importing.claim_step(job.pk, importing.CHECK) is None  # held: not taken twice
    tasks.validate_import_job(job.pk)  # a repeated message
    job.refresh_from_db()
    assert (job.status, job.lease_token, job.attempts) == (Status.VALIDATING, lease.token, 1)


def test_a_finished_check_ends_the_step_on_the_row(manager):
    job = _queued(manager)
    tasks.validate_import_job(job.pk, "en")
    job.refresh_from_db()
    assert (job.status, job.valid_rows, job.error_rows, job.attempts) == (
        Status.VALIDATED,
        2,
        1,
        1,
    )
    assert (job.queued_at, job.lease_until, job.language) == (None, None, "en")


def test_the_lease_is_renewed_once_half_of_it_has_passed_and_only_then(
    manager, django_assert_num_queries
):
    job, lease = importing.claim_step(_queued(manager).pk, importing.CHECK)
    with django_assert_num_queries(0):
        importing.keep(job, lease, now=timezone.now() + timedelta(seconds=29))
    later = timezone.now() + timedelta(seconds=31)
    with django_assert_num_queries(1):
        importing.keep(job, lease, now=later)
    job.refresh_from_db()
    assert job.lease_until == lease.lease_until == later + LEASE


@pytest.mark.parametrize("what", ["cancelled", "taken by another worker"])
def test_a_check_that_lost_its_job_stops_at_the_next_renewal(manager, manager_client, what):
    job, lease = importing.claim_step(_queued(manager).pk, importing.CHECK)
    if what == "cancelled":
        manager_client.post(reverse("customers:import_cancel", args=[job.pk]))
    else:
        ImportJob.objects.filter(pk=job.pk).update(lease_token="another")
    with pytest.raises(importing.JobLost):
        importing.keep(job, lease, now=timezone.now() + timedelta(seconds=31))


def test_a_slow_worker_writes_nothing_once_another_took_the_job(manager):
    job, _lease = importing.claim_step(_queued(manager).pk, importing.CHECK)
    ImportJob.objects.filter(pk=job.pk).update(lease_token="another", attempts=2)
    importing.validate_import(job)
    job.refresh_from_db()
    assert (job.status, job.total_rows, job.lease_token) == (Status.VALIDATING, 0, "another")


# --- The repair job: a dead worker -----------------------------------------------------


def test_a_worker_dying_mid_check_is_repaired_and_the_file_checked_from_the_start(
    manager, django_capture_on_commit_callbacks
):
    job = _queued(manager)
    with _die_while_checking(), pytest.raises(Died):
        tasks.validate_import_job(job.pk, "en")
    job.refresh_from_db()
    assert (job.status, job.attempts, job.total_rows) == (Status.VALIDATING, 1, 0)
    assert job.lease_until > timezone.now()  # still "held" by the dead worker

    assert not importing.repair_jobs()  # its lease still runs: maybe it is only slow
    with _after_the_lease(), django_capture_on_commit_callbacks(execute=True) as enqueued:
        assert importing.repair_jobs() == repair.Repaired(requeued=1)
    assert len(enqueued) == 1
    job.refresh_from_db()
    assert (job.status, job.total_rows, job.valid_rows, job.error_rows) == (
        Status.VALIDATED,
        3,
        2,
        1,
    )
    assert (job.attempts, job.lease_until, job.queued_at) == (2, None, None)


def test_an_expired_lease_is_queued_again_once_not_at_every_run(manager):
    job = _queued(manager)
    importing.claim_step(job.pk, importing.CHECK)
    check, apply = _enqueued()
    with _after_the_lease(), check as enqueued, apply:
        first = importing.repair_jobs()
        second = importing.repair_jobs()  # the step waits for its new message
    assert (first, second) == (repair.Repaired(requeued=1), repair.Repaired())
    enqueued.assert_called_once_with(job.pk, "en")
    job.refresh_from_db()
    assert (job.lease_until, job.attempts) == (None, 1)


def test_after_the_last_attempt_the_job_fails_with_a_message_the_page_shows(
    manager, manager_client
):
    gave_up, tries_again = _queued(manager), _queued(manager)
    ImportJob.objects.filter(pk=gave_up.pk).update(attempts=2)
    ImportJob.objects.filter(pk=tries_again.pk).update(attempts=1)
    for job in (gave_up, tries_again):
        importing.claim_step(job.pk, importing.CHECK)  # the third and the second worker
    check, apply = _enqueued()
    with _after_the_lease(), check as enqueued, apply:
        assert importing.repair_jobs() == repair.Repaired(requeued=1, failed=1)
    enqueued.assert_called_once_with(tries_again.pk, "en")

    gave_up.refresh_from_db()
    assert (gave_up.status, gave_up.queued_at, gave_up.lease_until) == (Status.FAILED, None, None)
    assert gave_up.finished_at is not None
    message = (
        "The background worker stopped while checking this file, 3 times; nothing was "
        "imported. Upload it again, in smaller parts if it is large."
    )
    assert gave_up.failure == message
    page = manager_client.get(gave_up.get_absolute_url()).content.decode()
    assert message in page and 'data-testid="job-failure"' in page
    assert "hx-trigger" not in page


def test_a_finished_job_is_never_touched(manager):
    long_ago = timezone.now() - timedelta(days=3)
    for status in (Status.DONE, Status.FAILED, Status.CANCELLED, Status.VALIDATED):
        job = make_job(manager, FILE)
        # Left-overs that would look abandoned on a running job: an old lease, an old time.
        ImportJob.objects.filter(pk=job.pk).update(
            status=status, lease_token="old", lease_until=long_ago, created_at=long_ago
        )
    before = list(ImportJob.objects.order_by("pk").values())
    check, apply = _enqueued()
    with check as checks, apply as applies:
        assert importing.repair_jobs() == repair.Repaired()
    assert list(ImportJob.objects.order_by("pk").values()) == before
    checks.assert_not_called()
    applies.assert_not_called()


@pytest.mark.parametrize("mode", [ImportJob.Mode.ALL_OR_NOTHING, ImportJob.Mode.VALID_ROWS])
def test_a_worker_dying_mid_import_leaves_nothing_written_and_the_next_starts_over(
    manager, monkeypatch, django_capture_on_commit_callbacks, mode
):
    """Killed after the first batches were written: the transaction takes them with it,
    in both modes, and the next worker writes every row once (none of them "updated")."""
    rows = [f"Customer {n},c{n}@example.org" for n in range(7)]
    if mode == ImportJob.Mode.VALID_ROWS:
        rows.append("Bad,not-an-email")  # skipped
    job = make_job(manager, "name,email\n" + "\n".join(rows) + "\n", mode=mode)
    importing.validate_import(job)
    with django_capture_on_commit_callbacks(execute=False):
        assert importing.job_apply_request(job=job, language="en")
    monkeypatch.setattr(checking, "BLOCK_ROWS", 2)
    write_block = applying._Writer.__call__
    written = []

    def die_after_two_blocks(self, results, outcome):
        write_block(self, results, outcome)
        written.extend(results)
        if len(written) >= 4:
            raise Died

    with mock.patch.object(applying._Writer, "__call__", die_after_two_blocks), pytest.raises(Died):
        tasks.apply_import_job(job.pk)
    assert len(written) == 4  # two blocks were written before the worker died
    assert not Customer.objects.exists()  # the first four rows were rolled back
    job.refresh_from_db()
    assert (job.status, job.attempts, job.created_count) == (Status.IMPORTING, 1, 0)

    with _after_the_lease(), django_capture_on_commit_callbacks(execute=True):
        assert importing.repair_jobs() == repair.Repaired(requeued=1)
    job.refresh_from_db()
    assert (job.status, job.created_count, job.updated_count, job.attempts) == (
        Status.DONE,
        7,
        0,
        2,
    )
    assert Customer.objects.count() == 7
    assert (job.queued_at, job.lease_until) == (None, None)


# --- The repair job: a lost message ------------------------------------------------------


def test_a_lost_check_message_is_queued_again_at_no_attempts_cost(
    manager, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):  # Redis lost it
        job = _queued(manager)
    with django_capture_on_commit_callbacks(execute=True):
        assert not importing.repair_jobs()  # too early: it may still be on its way
    later = timezone.now() + timedelta(seconds=301)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert importing.repair_jobs() == repair.Repaired(lost=1)
    job.refresh_from_db()
    assert (job.status, job.valid_rows, job.attempts) == (Status.VALIDATED, 2, 1)


def test_a_lost_import_message_is_queued_again_and_the_page_waits_meanwhile(
    manager, manager_client, django_capture_on_commit_callbacks
):
    job = make_job(manager, "name,email\nAda,ada@example.org\n")
    importing.validate_import(job)
    with django_capture_on_commit_callbacks(execute=False):  # the message is lost
        manager_client.post(reverse("customers:import_apply", args=[job.pk]))
    cache.clear()  # the page needs no cache to know the import waits
    page = manager_client.get(job.get_absolute_url()).content.decode()
    assert "Waiting for the importer…" in page and 'hx-trigger="every 1s"' in page
    assert "Import 1 row" not in page  # asked for already

    later = timezone.now() + timedelta(seconds=301)
    with time_machine.travel(later), django_capture_on_commit_callbacks(execute=True):
        assert importing.repair_jobs() == repair.Repaired(lost=1)
    job.refresh_from_db()
    assert (job.status, job.created_count) == (Status.DONE, 1)


def test_an_import_asked_for_twice_is_queued_once(manager, django_capture_on_commit_callbacks):
    job = make_job(manager, "name,email\nAda,ada@example.org\n")
    importing.validate_import(job)
    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        assert importing.job_apply_request(job=job, language="en")
        assert not importing.job_apply_request(job=job, language="en")
    assert len(enqueued) == 1


# --- What the page says, from the row ---------------------------------------------------


def _progress_text(client, job: ImportJob) -> str:
    url = reverse("customers:import_progress", args=[job.pk])
    return client.get(url, headers={"HX-Request": "true"}).content.decode()


def test_the_progress_bar_tells_waiting_running_and_abandoned_steps_apart_without_the_cache(
    manager, manager_client
):
    job = _queued(manager)
    cache.clear()
    assert "Waiting for the importer…" in _progress_text(manager_client, job)

    importing.claim_step(job.pk, importing.CHECK)
    assert "Checking rows…" in _progress_text(manager_client, job)

    with _after_the_lease():
        assert "is not answering" in _progress_text(manager_client, job)
        importing.repair_jobs()
        text = _progress_text(manager_client, job)
    assert "stopped; waiting for another…" in text and "(attempt 2 of 3)" in text

    importing.claim_step(job.pk, importing.CHECK)
    text = _progress_text(manager_client, job)
    assert "Checking rows…" in text and "(attempt 2 of 3)" in text


# --- Two sweepers, a live import: row locks (PostgreSQL) ----------------------------------


def _in_a_thread(target) -> threading.Thread:
    def run() -> None:
        try:
            target()
        finally:
            connection.close()  # this thread's own connection

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def postgresql():
    if connection.vendor != "postgresql":
        pytest.skip("row locks (SKIP LOCKED) need PostgreSQL")


@pytest.mark.django_db(transaction=True)
def test_two_repair_runs_at_once_queue_an_abandoned_job_once(manager, postgresql):
    job = _waiting(manager)
    importing.claim_step(job.pk, importing.CHECK)
    took, go = threading.Event(), threading.Event()
    take = repair._take

    def take_then_wait(condition):
        taken = take(condition)
        if threading.current_thread() is not threading.main_thread() and not took.is_set():
            took.set()  # the first run holds the job's row locked...
            go.wait(10)
        return taken

    results = {}
    check, apply = _enqueued()
    with (
        _after_the_lease(),
        check as enqueued,
        apply,
        mock.patch.object(repair, "_take", take_then_wait),
    ):
        first = _in_a_thread(lambda: results.update(first=importing.repair_jobs()))
        assert took.wait(10)
        results["second"] = importing.repair_jobs()  # ...while the second one runs
        go.set()
        first.join(10)
    assert results == {"first": repair.Repaired(requeued=1), "second": repair.Repaired()}
    enqueued.assert_called_once_with(job.pk, "en")


@pytest.mark.django_db(transaction=True)
def test_a_long_import_keeps_its_job_locked_and_the_repair_job_leaves_it(manager, postgresql):
    """Its lease ran out long ago, but its transaction (and so its worker) is alive."""
    job = make_job(manager, "name,email\nAda,ada@example.org\n")
    importing.validate_import(job)
    job, _lease = importing.claim_step(job.pk, importing.APPLY)
    locked, done = threading.Event(), threading.Event()

    def importing_for_a_long_time() -> None:
        with transaction.atomic():
            claims.lock(job)
            locked.set()
            done.wait(10)

    worker = _in_a_thread(importing_for_a_long_time)
    assert locked.wait(10)
    check, apply = _enqueued()
    try:
        with _after_the_lease(), check, apply as enqueued:
            assert importing.repair_jobs() == repair.Repaired()
        enqueued.assert_not_called()
    finally:
        done.set()
        worker.join(10)
    check, apply = _enqueued()
    with _after_the_lease(), check, apply as enqueued:  # its worker died: now it is repaired
        assert importing.repair_jobs() == repair.Repaired(requeued=1)
    enqueued.assert_called_once_with(job.pk, None)


# --- Cost and wiring ---------------------------------------------------------------------


def _abandoned_jobs(user, count: int) -> None:
    for n in range(count):
        job = _queued(user)
        ImportJob.objects.filter(pk=job.pk).update(attempts=n % 3)
        importing.claim_step(job.pk, importing.CHECK)
    for _n in range(count):
        job = make_job(user, FILE)
        importing.validate_import(job)
        importing.claim_step(job.pk, importing.APPLY)


@pytest.mark.parametrize("count", [3, 12])
def test_a_repair_run_takes_a_fixed_number_of_queries(
    manager, django_assert_max_num_queries, count
):
    _abandoned_jobs(manager, count)
    check, apply = _enqueued()
    with _after_the_lease(), check, apply, django_assert_max_num_queries(9):
        repaired = importing.repair_jobs()
    assert repaired.requeued + repaired.failed == 2 * count


def test_the_repair_job_is_on_the_beat_schedule_and_its_tasks_are_redelivered(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["repair-import-jobs"]
    assert entry["task"] == tasks.repair_import_jobs.name == "customers.tasks.repair_import_jobs"
    assert entry["schedule"] == settings.IMPORT_REPAIR_SECONDS
    assert tasks.repair_import_jobs.name in app.tasks
    # A task killed with its pool process goes back to the queue (and finds the step held).
    for task in (tasks.validate_import_job, tasks.apply_import_job):
        assert task.acks_late and task.reject_on_worker_lost
