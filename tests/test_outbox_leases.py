"""Fenced outbox leases: a worker sends and marks only rows it still holds, keeps its
lease while it sends, retries database writes after a lost connection, and gives up on
an SMTP server that stopped answering after EMAIL_TIMEOUT.

(Real processes, real PostgreSQL: tests/test_outbox_worker.py.)"""

import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.db import OperationalError
from django.utils import timezone

from customers import leases as shared_leases
from retention.models import OutgoingEmail
from retention.outreach import leases, outbox, sending

from .factories import CustomerFactory
from .outbox_helpers import make_template, queue_email, without_starter_followups  # noqa: F401
from .smtp_server import Recorder, SMTPServer

pytestmark = pytest.mark.django_db
Status = OutgoingEmail.Status
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def template():
    return make_template(en=("Hello {{ first_name }}", "Dear {{ first_name }}"))


def _queue(template, count: int) -> list[OutgoingEmail]:
    return [
        queue_email(CustomerFactory(marketing_consent=True), template, key=f"k{n}")
        for n in range(count)
    ]


def _take_over(claim: leases.Claim, ids: list[int]) -> str:
    """What happens while a worker is stuck: its lease runs out, the sweeper puts the rows
    back, and another worker claims them (a new token)."""
    other = leases.new_token()
    OutgoingEmail.objects.filter(pk__in=ids).update(lease_token=other, attempts=2)
    return other


def test_each_claim_gets_its_own_token_on_its_rows(template):
    first, second = _queue(template, 2)
    claim = outbox.claim_batch(limit=1)
    other = outbox.claim_batch(limit=1)
    assert claim.token and other.token and claim.token != other.token
    tokens = dict(OutgoingEmail.objects.values_list("pk", "lease_token"))
    assert tokens == {first.pk: claim.token, second.pk: other.token}


def test_a_worker_whose_rows_were_claimed_again_sends_and_marks_none_of_them(template):
    emails = _queue(template, 3)
    stale = outbox.claim_batch()
    new_token = _take_over(stale, [emails[0].pk, emails[1].pk])
    outcome = sending.send_batch(stale)
    # Only the row still under the stale claim's token went out.
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [emails[2].message_id]
    assert outcome.sent == 1
    rows = {e.pk: e for e in OutgoingEmail.objects.all()}
    for email in emails[:2]:
        assert (rows[email.pk].status, rows[email.pk].lease_token) == (Status.SENDING, new_token)


def test_the_lease_is_checked_before_each_message_and_lost_rows_are_skipped(
    settings, template, monkeypatch
):
    """Half the lease has passed when the batch starts sending: the worker renews before
    the first message, and a row another worker took after the batch was loaded is not
    sent."""
    emails = _queue(template, 3)
    claim = outbox.claim_batch()
    taken = emails[1]
    load = sending._load

    def load_then_lose_one(claim):
        loaded = load(claim)
        _take_over(claim, [taken.pk])
        return loaded

    monkeypatch.setattr(sending, "_load", load_then_lose_one)
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS * 0.6)
    with time_machine.travel(later, tick=False):
        outcome = sending.send_batch(claim)
    sent_ids = {m.extra_headers["Message-ID"] for m in mail.outbox}
    assert sent_ids == {emails[0].message_id, emails[2].message_id}
    assert (outcome.sent, outcome.taken_over) == (2, 1)
    taken.refresh_from_db()
    assert taken.status == Status.SENDING  # the other worker's, untouched


def test_renewing_extends_the_lease_of_the_rows_still_held(settings, template):
    emails = _queue(template, 2)
    claim = outbox.claim_batch()
    first_lease = claim.lease_until
    _take_over(claim, [emails[0].pk])
    with time_machine.travel(timezone.now() + timedelta(seconds=100), tick=False):
        assert leases.renew(claim, claim.ids) == {emails[1].pk}
    assert claim.lease_until >= first_lease + timedelta(seconds=99)
    emails[1].refresh_from_db()
    assert emails[1].lease_until == claim.lease_until


def test_a_late_sent_after_the_sweeper_requeued_the_row_still_counts(settings, template):
    """A slow worker (not a dead one) whose lease ran out: the sweeper put its row back,
    nobody claimed it yet, and the server had accepted it: it is sent, not sent again."""
    (email,) = _queue(template, 1)
    claim = outbox.claim_batch()
    beyond = timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 1)
    assert outbox.release_expired_leases(now=beyond) == 1
    email.refresh_from_db()
    assert email.status == Status.QUEUED and email.lease_token == claim.token
    assert leases.mark_sent(claim, [email]) == 1
    email.refresh_from_db()
    assert email.status == Status.SENT


def test_a_mark_from_a_stale_claim_changes_nothing(template):
    (email,) = _queue(template, 1)
    stale = outbox.claim_batch()
    _take_over(stale, [email.pk])
    assert leases.mark_sent(stale, [email]) == 0
    leases.finish(stale, email, Status.FAILED, "late")
    leases.requeue(stale, email, due=timezone.now(), error="late")
    leases.release(stale, [email], due=timezone.now(), error="late")
    email.refresh_from_db()
    assert (email.status, email.last_error, email.attempts) == (Status.SENDING, "", 2)


class _FakeConnection:
    in_atomic_block = False

    def __init__(self) -> None:
        self.closed = 0

    def close(self) -> None:
        self.closed += 1


def test_a_write_that_lost_its_connection_is_retried_on_a_new_one(monkeypatch):
    connection = _FakeConnection()
    monkeypatch.setattr(shared_leases, "db_connection", connection)
    monkeypatch.setattr(shared_leases, "RECONNECT_DELAYS", (0, 0, 0))
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return "done"

    assert leases.with_reconnect(flaky, "testing") == "done"
    assert (len(calls), connection.closed) == (3, 2)

    def down() -> None:
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        leases.with_reconnect(down, "testing")  # after the last delay the error stands


def test_inside_a_transaction_nothing_is_retried(monkeypatch):
    connection = _FakeConnection()
    connection.in_atomic_block = True
    monkeypatch.setattr(shared_leases, "db_connection", connection)
    calls = []

    def down() -> None:
        calls.append(1)
        raise OperationalError("gone")

    with pytest.raises(OperationalError):
        leases.with_reconnect(down, "testing")
    assert (len(calls), connection.closed) == (1, 0)


def test_a_server_that_stops_answering_fails_the_email_after_email_timeout(settings, template):
    """The server reads the message and never replies: the worker gives up after
    EMAIL_TIMEOUT, queues that email again and puts the untried rest back."""
    emails = _queue(template, 3)
    recorder = Recorder()
    recorder.hang.set()
    with SMTPServer(recorder) as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        settings.EMAIL_TIMEOUT = 1
        settings.OUTBOX_SMTP_CONNECTIONS = 1
        started = time.monotonic()
        outcome = outbox.deliver()
        took = time.monotonic() - started
    assert outcome.connection_failed and outcome.sent == 0
    assert took < 1 + sending.QUIT_TIMEOUT + 2
    assert len(recorder.hung) == 1 and recorder.messages == []
    rows = {e.pk: e for e in OutgoingEmail.objects.all()}
    hung = rows[emails[0].pk]
    assert hung.status == Status.QUEUED and "timed out" in hung.last_error
    assert all(rows[e.pk].status == Status.QUEUED for e in emails[1:])
    assert all(rows[e.pk].attempts == 0 for e in emails[1:])  # untried: not held against them


def _settings_in_a_subprocess(env: dict[str, str], code: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", f"import django; django.setup(); {code}"],
        cwd=ROOT,
        env={
            **{k: v for k, v in os.environ.items() if not k.startswith(("EMAIL_", "DKIM_"))},
            "DJANGO_SETTINGS_MODULE": "crm.settings",
            "SECRET_KEY": "x" * 50,
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_email_timeout_defaults_to_30_s_and_reaches_the_smtp_backend():
    code = (
        "from django.core.mail import get_connection; "
        "from django.conf import settings; "
        "print(settings.EMAIL_TIMEOUT, get_connection().timeout)"
    )
    default = _settings_in_a_subprocess({"EMAIL_URL": "smtp://mail.example.com:25"}, code)
    assert default.stdout.split() == ["30", "30"], default.stderr
    from_url = _settings_in_a_subprocess({"EMAIL_URL": "smtp://mail.example.com?timeout=7"}, code)
    assert from_url.stdout.split() == ["7", "7"], from_url.stderr
    from_env = _settings_in_a_subprocess(
        {"EMAIL_URL": "smtp://mail.example.com?timeout=7", "EMAIL_TIMEOUT": "12"}, code
    )
    assert from_env.stdout.split() == ["12", "12"], from_env.stderr
    unknown = _settings_in_a_subprocess({"EMAIL_URL": "smtp://mail.example.com?tiemout=7"}, code)
    assert unknown.returncode != 0 and "unknown options" in unknown.stderr
