"""Faults with real processes while survey invitations are sent.

A Celery worker with a prefork pool of two processes (as docker-compose runs it) and
a separate beat, on PostgreSQL and on a Redis of the test's own, sending to a
recording SMTP server on loopback (aiosmtpd). The server itself pulls the trigger, so
that each kill lands at a known moment of one email's sending:

- a pool process killed with SIGKILL while the server reads its email: its task goes
  back to the queue, the invitation waits for its lease, the sweeper sends it;
- a pool process killed after the server accepted its email, before the "250 OK"
  reached it: the one documented duplicate, exactly that email once more;
- the whole worker killed (its process group, as when a container dies), then a new
  worker: what the dead one held comes back through the sweeper;
- Redis crashed and restarted without persistence, with or without a worker running:
  the messages are gone, the rows in PostgreSQL are not, and the sweeper sends them.

Each test then waits for every invitation to arrive, and checks that repeats are only
where the README allows them (an email the server accepted from a worker that died
before marking it sent: at most one per killed process, each one of the invitations
"sending" at the kill, with the same Message-ID) and that every link in every email
opens its survey.
"""

import asyncio
import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from unittest import mock

import pytest
from django.db import connection

from crm.celery import app
from surveys import emails, invitations, tasks
from surveys.models import Survey, SurveyInvitation

from .factories import CustomerFactory
from .factories_surveys import SurveyFactory
from .smtp_server import MESSAGE_ID, Recorder, SMTPServer, free_port

ROOT = Path(__file__).resolve().parent.parent
pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

CONCURRENCY = 2
LEASE_SECONDS = 3
REQUEUE_AFTER_SECONDS = 3
SWEEP_SECONDS = 1
LINK = re.compile(rb"/surveys/answer/([\w-]+)/")


# --- Processes ---------------------------------------------------------------------


class Redis:
    """A redis-server of this test's own, without persistence (as MACHINE-NOTES starts it)."""

    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - fixed arguments
            [  # noqa: S607 - the Debian package's binary, found in PATH
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait(self._answers, 10, "redis-server to answer")

    def crash(self) -> None:
        """SIGKILL: what was queued is gone (no persistence)."""
        self.process.kill()
        self.process.wait(timeout=10)

    def _client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2)

    def _answers(self) -> bool:
        try:
            return self._client().ping()
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def queued(self) -> int:
        return self._client().llen("celery")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


class Processes:
    """The worker and beat processes a test starts, each in its own process group."""

    def __init__(self, tmp_path: Path, broker_url: str, smtp_port: int) -> None:
        db = connection.settings_dict
        password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
        self.tmp_path = tmp_path
        self.env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.outbox_worker_settings",
            "DATABASE_URL": (
                f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
            ),
            "CELERY_BROKER_URL": broker_url,
            "TEST_SMTP_PORT": str(smtp_port),
            "VAR_DIR": str(tmp_path / "var"),
            "EMAIL_TIMEOUT": "10",
            "SURVEY_LEASE_SECONDS": str(LEASE_SECONDS),
            "SURVEY_REQUEUE_AFTER_SECONDS": str(REQUEUE_AFTER_SECONDS),
            "SURVEY_SWEEP_SECONDS": str(SWEEP_SECONDS),
            # Redis would hand a dead worker's messages out again only after an hour:
            # what comes back in these tests comes back through the sweeper.
            "CELERY_VISIBILITY_TIMEOUT": "3600",
        }
        self.started: list[tuple[subprocess.Popen, Path]] = []

    def _start(self, name: str, *arguments: str) -> subprocess.Popen:
        log = self.tmp_path / f"{name}.log"
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            [sys.executable, "-m", "celery", "-A", "crm", *arguments, "-l", "info"],
            cwd=ROOT,
            env=self.env,
            stdout=log.open("w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the whole worker can be killed
        )
        self.started.append((process, log))
        return process

    def worker(self, name: str) -> subprocess.Popen:
        return self._start(
            name,
            "worker",
            "--pool",
            "prefork",
            "--concurrency",
            str(CONCURRENCY),
            "-n",
            f"{name}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        )

    def beat(self, name: str = "beat") -> subprocess.Popen:
        return self._start(name, "beat", "--schedule", str(self.tmp_path / "beat-schedule"))

    def log(self, process: subprocess.Popen) -> str:
        return next(log.read_text() for started, log in self.started if started is process)

    def stop_all(self) -> None:
        for process, log in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)
            print(f"--- {log.name}\n{log.read_text()}")  # shown when the test fails


def pool_processes(worker: subprocess.Popen) -> list[int]:
    children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children")
    return [int(pid) for pid in children.read_text().split()] if children.exists() else []


def client_process(port: int, candidates: list[int]) -> int | None:
    """Which of these processes holds the loopback TCP connection from local `port`."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):  # "localhost" may be either
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if int(fields[1].rsplit(":", 1)[1], 16) == port:
                    inodes.add(f"socket:[{fields[9]}]")
    for pid in candidates:
        with contextlib.suppress(OSError):  # the process or a descriptor went meanwhile
            if any(os.readlink(fd) in inodes for fd in Path(f"/proc/{pid}/fd").iterdir()):
                return pid
    return None


def kill_sender(worker: subprocess.Popen):
    """SIGKILL the pool process on the other end of an SMTP connection (by its port)."""

    def kill(client_port: int) -> int | None:
        # On a loaded machine the pool's list or the socket's descriptor can lag the
        # connection by a moment: look again for up to a second before giving up.
        deadline = time.monotonic() + 1.0
        pid = client_process(client_port, pool_processes(worker))
        while pid is None and time.monotonic() < deadline:
            time.sleep(0.05)
            pid = client_process(client_port, pool_processes(worker))
        if pid:
            os.kill(pid, signal.SIGKILL)
        return pid

    return kill


def kill_whole(worker: subprocess.Popen):
    """SIGKILL the worker's process group: master and pool at once, as a container dies."""

    def kill(_client_port: int) -> int:
        os.killpg(worker.pid, signal.SIGKILL)
        return worker.pid

    return kill


@dataclass
class KillingRecorder(Recorder):
    """A recording SMTP server that kills the worker sending the `kill_at`-th message,
    at a chosen moment: "before" the server accepted it (mid-send: the message is not
    recorded, nothing was delivered), or "after" (recorded, but the "250 OK" never
    reaches the worker: the window between accepting an email and marking it sent)."""

    kill_at: int = 0
    stage: str = "after"
    kill: Callable[[int], int | None] | None = None
    killed: list[tuple[str, int | None]] = field(default_factory=list)
    seen: int = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.seen += 1  # one event loop: no lock needed
        due = self.kill is not None and self.seen == self.kill_at
        if due and self.stage == "before":
            if self.delay:
                await asyncio.sleep(self.delay)
            match = MESSAGE_ID.search(envelope.content or b"")
            self.killed.append((match.group(1).decode(), self.kill(session.peer[1])))
            return "421 Closing the connection"  # nobody is left to read it
        reply = await super().handle_DATA(server, session, envelope)
        if due:
            self.killed.append((self.messages[-1][0], self.kill(session.peer[1])))
        return reply


def _wait(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# --- Fixtures and helpers ---------------------------------------------------------------


@pytest.fixture
def redis_server(tmp_path):
    if connection.vendor != "postgresql":
        pytest.skip("needs the PostgreSQL that `make test` starts (two processes, one database)")
    if shutil.which("redis-server") is None:
        pytest.skip("needs redis-server (scripts/with-services.sh installs it)")
    server = Redis(tmp_path)
    server.start()
    app.conf.task_always_eager = False
    try:
        yield server
    finally:
        app.conf.task_always_eager = True
        server.stop()


@contextmanager
def publishing_to(broker_url: str):
    """Delivery tasks the test process enqueues go to this Redis (the app's own producer
    pool points at the one `make test` started)."""
    deliver = tasks.deliver_invitations
    with app.connection_for_write(broker_url) as broker:
        for queue in app.amqp.queues.values():
            queue(broker.default_channel).declare()

        class Publisher:
            def delay(self, *args, **kwargs):
                return deliver.apply_async(args, kwargs, connection=broker)

        with mock.patch.object(tasks, "deliver_invitations", Publisher()):
            yield


def invite(count: int) -> dict[str, SurveyInvitation]:
    """`count` invitations, each written in its own transaction (one delivery task each,
    so both pool processes send); by the Message-ID their email will carry."""
    # Transactional tests start from empty tables: no shipped survey, so make one.
    survey = SurveyFactory(kind=Survey.Kind.NPS, title="Would you recommend us?")
    created = [
        invitations.invitation_create(survey=survey, customer=customer, trigger="manual")
        for customer in CustomerFactory.create_batch(count)
    ]
    return {emails.message_id(invitation, reminder=False): invitation for invitation in created}


def all_sent(count: int):
    return lambda: SurveyInvitation.objects.filter(status="sent").count() == count


def sending_message_ids() -> set[str]:
    rows = SurveyInvitation.objects.filter(status="sending")
    return {emails.message_id(invitation, reminder=False) for invitation in rows}


def check_delivered(recorder: Recorder, expected: dict, *, in_flight: set[str]) -> set[str]:
    """Every invitation reached the server, repeats only among those in flight at the
    fault, every link in every email opens its survey; returns the repeated ones."""
    received = Counter(recorder.message_ids)
    assert set(received) == set(expected), "an invitation never reached the SMTP server"
    assert SurveyInvitation.objects.exclude(status="sent").count() == 0
    repeated = {message_id for message_id, count in received.items() if count > 1}
    assert all(count <= 2 for count in received.values())
    assert repeated <= in_flight
    for message_id, _recipients, raw in recorder.messages:
        token = LINK.search(raw).group(1).decode()
        assert invitations.find_invitation(token).pk == expected[message_id].pk
    return repeated


# --- The faults -------------------------------------------------------------------------


def test_a_pool_process_killed_mid_send_loses_no_invitation(redis_server, tmp_path):
    """Killed while the server reads its email, before accepting it: the task goes back
    to the queue, the invitation waits for its lease, the sweeper sends it; no repeat."""
    recorder = KillingRecorder(delay=0.1, kill_at=6, stage="before")
    with SMTPServer(recorder) as server:
        processes = Processes(tmp_path, redis_server.url, server.port)
        try:
            worker = processes.worker("first")
            recorder.kill = kill_sender(worker)
            processes.beat()
            with publishing_to(redis_server.url):
                expected = invite(30)
            [(killed, pid)] = _wait(lambda: recorder.killed, 40, "the kill")
            assert pid, "the process sending the sixth email should have been found"
            assert killed in sending_message_ids()  # its worker died holding it

            _wait(all_sent(len(expected)), 40, "every invitation to be sent")
            # The kill hit a running task, which went back to the queue; the worker
            # lived on. (It notices its lost process late: the sweeper was faster.)
            _wait(lambda: "WorkerLostError" in processes.log(worker), 30, "the lost task")
            assert worker.poll() is None
            time.sleep(0.5)  # anything still arriving would be a late duplicate
        finally:
            processes.stop_all()
    assert not check_delivered(recorder, expected, in_flight=set())


def test_a_pool_process_killed_after_the_server_accepted_sends_exactly_that_one_again(
    redis_server, tmp_path
):
    """The documented duplicate, made to happen: the repeat has the same Message-ID and
    a new link, and the first email's link still opens the survey."""
    recorder = KillingRecorder(delay=0.05, kill_at=5, stage="after")
    with SMTPServer(recorder) as server:
        processes = Processes(tmp_path, redis_server.url, server.port)
        try:
            worker = processes.worker("first")
            recorder.kill = kill_sender(worker)
            processes.beat()
            _wait(lambda: len(pool_processes(worker)) == CONCURRENCY, 20, "the pool")
            with publishing_to(redis_server.url):
                expected = invite(20)
            [(accepted, pid)] = _wait(lambda: recorder.killed, 40, "the kill")
            assert pid, "the process sending the fifth email should have been found"
            _wait(all_sent(len(expected)), 40, "every invitation to be sent")
            time.sleep(0.5)
        finally:
            processes.stop_all()
    repeated = check_delivered(recorder, expected, in_flight={accepted})
    assert repeated == {accepted}  # exactly the one accepted before the kill, once more


def test_the_whole_worker_killed_mid_send_then_a_new_one_loses_no_invitation(
    redis_server, tmp_path
):
    """Master and pool killed at once: what it held (invitations "sending", messages it
    had taken from Redis) comes back through the sweeper for the next worker."""
    recorder = KillingRecorder(delay=0.1, kill_at=6, stage="before")
    with SMTPServer(recorder) as server:
        processes = Processes(tmp_path, redis_server.url, server.port)
        try:
            first = processes.worker("first")
            recorder.kill = kill_whole(first)
            processes.beat()
            with publishing_to(redis_server.url):
                expected = invite(30)
            [(killed, _pid)] = _wait(lambda: recorder.killed, 40, "the kill")
            first.wait(timeout=10)
            in_flight = sending_message_ids()  # exact: nobody is left to change them
            assert killed in in_flight

            processes.worker("second")
            _wait(all_sent(len(expected)), 45, "every invitation to be sent")
            time.sleep(0.5)
        finally:
            processes.stop_all()
    repeated = check_delivered(recorder, expected, in_flight=in_flight)
    assert len(repeated) <= CONCURRENCY  # one per pool process of the killed worker
    print(f"in flight at the kill: {len(in_flight)}, repeated: {len(repeated)}")


def test_a_redis_restart_without_persistence_loses_no_pending_invitation(redis_server, tmp_path):
    recorder = Recorder()
    with SMTPServer(recorder) as server:
        processes = Processes(tmp_path, redis_server.url, server.port)
        try:
            with publishing_to(redis_server.url):
                expected = invite(20)
            assert redis_server.queued() == 20  # the delivery tasks, waiting for a worker

            redis_server.crash()
            redis_server.start()
            assert redis_server.queued() == 0  # gone with Redis
            assert SurveyInvitation.objects.filter(status="pending").count() == 20

            processes.worker("after-the-crash")
            processes.beat()
            _wait(all_sent(len(expected)), 40, "the sweeper to have every invitation sent")
            time.sleep(0.5)
        finally:
            processes.stop_all()
    assert not check_delivered(recorder, expected, in_flight=set())


def test_a_redis_restart_under_a_running_worker_loses_no_invitation(redis_server, tmp_path):
    """The worker and beat reconnect; the lost messages come back from PostgreSQL
    through the sweeper. Now and then the worker dies of the lost broker instead
    (kombu's Redis transport, restoring unacked messages on a closed connection:
    "Unrecoverable error: AttributeError ... 'hostname'"); docker-compose restarts it,
    and so does this test. Nothing the worker held is lost either way."""
    recorder = Recorder(delay=0.1)
    with SMTPServer(recorder) as server:
        processes = Processes(tmp_path, redis_server.url, server.port)
        try:
            running = {"worker": processes.worker("survivor"), "beat": processes.beat()}
            with publishing_to(redis_server.url):
                expected = invite(30)
            _wait(lambda: len(recorder.messages) >= 4, 40, "the first emails")

            redis_server.crash()
            in_flight = sending_message_ids()
            assert SurveyInvitation.objects.filter(status="pending").exists()
            time.sleep(1)
            redis_server.start()

            def delivered_restarting_the_dead() -> bool:
                for role, process in list(running.items()):
                    if process.poll() is not None:  # the restart policy's job
                        print(f"{role} exited with {process.returncode}: restarted")
                        name = f"{role}-restarted-{len(processes.started)}"
                        start = processes.worker if role == "worker" else processes.beat
                        running[role] = start(name)
                return all_sent(len(expected))()

            _wait(delivered_restarting_the_dead, 45, "every invitation to be sent")
            time.sleep(0.5)
        finally:
            processes.stop_all()
    repeated = check_delivered(recorder, expected, in_flight=in_flight)
    assert len(repeated) <= CONCURRENCY  # only if a worker died of it, mid-send
