"""The outbox: claiming, sending over one connection, retries, failures, the sweeper,
and what a sent email leaves behind (timeline, opens, the unopened-emails signal)."""

import smtplib
from datetime import timedelta

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from customers.timeline import timeline_page
from retention.models import CustomerRisk, EmailUnsubscribe, OutgoingEmail
from retention.outreach import outbox, sending
from retention.risk import scoring

from .factories import CustomerFactory
from .outbox_helpers import make_template, queue_email, without_starter_followups  # noqa: F401
from .smtp_server import Recorder, SMTPServer

pytestmark = pytest.mark.django_db
Status = OutgoingEmail.Status


@pytest.fixture
def template():
    return make_template(en=("Hello {{ first_name }}", "Dear {{ first_name }}"))


@pytest.fixture
def consenting(manager):
    return CustomerFactory(name="Ada Lovelace", owner=manager, marketing_consent=True)


class FlakyConnection:
    """A mail connection whose send_messages raises the given errors, then succeeds."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.sent = []

    def open(self) -> bool:
        return True

    def close(self) -> None:
        pass

    def send_messages(self, messages) -> int:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.extend(messages)
        return len(messages)


def test_a_queued_email_is_claimed_and_sent_with_its_headers(consenting, template):
    email = queue_email(consenting, template)
    claim = outbox.claim_batch()
    assert claim.ids == [email.pk]
    assert outbox.claim_batch().ids == []  # claimed rows are not claimed again
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.SENDING, 1)
    assert email.lease_until > timezone.now()
    assert email.lease_token == claim.token
    result = sending.send_batch(claim)
    assert result.sent == 1
    sent = mail.outbox[0]
    assert sent.subject == "Hello Ada"
    assert sent.extra_headers["Message-ID"] == email.message_id
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "/one-click/" in sent.extra_headers["List-Unsubscribe"]
    assert sent.alternatives[0].mimetype == "text/html"
    email.refresh_from_db()
    assert email.status == Status.SENT and email.sent_at is not None
    assert email.subject == "Hello Ada" and "Dear Ada" in email.body_text  # what was sent


def test_only_due_rows_are_claimed(consenting, template):
    later = queue_email(consenting, template, next_attempt_at=timezone.now() + timedelta(hours=1))
    assert outbox.claim_batch().ids == []
    assert outbox.claim_batch(now=later.next_attempt_at).ids == [later.pk]


def test_a_temporary_smtp_error_retries_with_backoff_then_fails_after_the_limit(
    settings, consenting, template
):
    settings.OUTBOX_MAX_ATTEMPTS = 3
    email = queue_email(consenting, template)
    busy = smtplib.SMTPDataError(451, b"Try again later")
    delays = []
    for attempt in (1, 2, 3):
        now = timezone.now()
        claim = outbox.claim_batch(now=email.next_attempt_at)
        assert claim.ids == [email.pk]
        sending.send_batch(claim, connection=FlakyConnection(busy))
        email.refresh_from_db()
        assert email.attempts == attempt
        assert "Try again later" in email.last_error
        if attempt < 3:
            assert email.status == Status.QUEUED
            delays.append(email.next_attempt_at - now)
    assert email.status == Status.FAILED  # the third failure is the last
    assert delays[1] > delays[0] >= timedelta(seconds=59)


def test_a_permanent_smtp_error_fails_at_once_and_the_rest_go_on(consenting, template, manager):
    other = CustomerFactory(marketing_consent=True, owner=manager)
    bad = queue_email(consenting, template)
    good = queue_email(other, template)
    refused = smtplib.SMTPRecipientsRefused({consenting.email: (550, b"No such user")})
    connection = FlakyConnection(refused)
    sending.send_batch(outbox.claim_batch(), connection=connection)
    bad.refresh_from_db()
    good.refresh_from_db()
    assert (bad.status, bad.attempts) == (Status.FAILED, 1)
    assert "No such user" in bad.last_error
    assert good.status == Status.SENT
    assert len(connection.sent) == 1


def test_a_broken_connection_puts_the_untried_rest_back(consenting, template, manager):
    first = queue_email(consenting, template)
    rest = [queue_email(CustomerFactory(marketing_consent=True), template) for _ in range(2)]
    result = sending.send_batch(
        outbox.claim_batch(), connection=FlakyConnection(smtplib.SMTPServerDisconnected("gone"))
    )
    assert result.connection_failed
    first.refresh_from_db()
    assert (first.status, first.attempts) == (Status.QUEUED, 1)
    for email in rest:
        email.refresh_from_db()
        assert (email.status, email.attempts) == (Status.QUEUED, 0)  # not held against them
        assert email.next_attempt_at > timezone.now()


def test_an_unreachable_server_leaves_every_row_queued(settings, consenting, template):
    email = queue_email(consenting, template)
    with SMTPServer() as server:
        port = server.port
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    result = outbox.deliver()
    assert result.connection_failed and result.sent == 0
    email.refresh_from_db()
    assert email.status == Status.QUEUED and email.last_error


def test_staff_retry_queues_a_failed_email_again(consenting, template):
    email = queue_email(consenting, template, status=Status.FAILED, attempts=5, last_error="x")
    outbox.email_retry(email=email)
    email.refresh_from_db()
    assert (email.status, email.attempts) == (Status.QUEUED, 0)


def test_the_sweeper_requeues_rows_whose_worker_died(settings, consenting, template):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    email = queue_email(consenting, template)
    outbox.claim_batch()  # a worker claims it, then dies
    assert outbox.release_expired_leases() == 0  # the lease still runs
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 1)
    assert outbox.release_expired_leases(now=later) == 1
    email.refresh_from_db()
    assert email.status == Status.QUEUED
    outbox.claim_batch(now=later)  # the second worker dies too: attempts reach the limit
    outbox.release_expired_leases(now=later + timedelta(seconds=settings.OUTBOX_LEASE_SECONDS + 1))
    email.refresh_from_db()
    assert email.status == Status.FAILED and "stopped while sending" in email.last_error


def test_consent_withdrawn_or_unsubscribed_after_queuing_cancels_at_send(
    consenting, template, manager
):
    withdrawn = queue_email(consenting, template)
    consenting.marketing_consent = False
    consenting.save()
    other = CustomerFactory(marketing_consent=True)
    unsubscribed = queue_email(other, template)
    EmailUnsubscribe.objects.create(customer=other, source="staff")
    outbox.deliver()
    assert mail.outbox == []
    for email in (withdrawn, unsubscribed):
        email.refresh_from_db()
        assert email.status == Status.CANCELLED and email.last_error


def test_queuing_twice_with_the_same_key_writes_one_row(
    consenting, template, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        first = outbox.email_queue(
            customer=consenting, kind="manual", key="k1", to_email="a@b.c", template=template
        )
        second = outbox.email_queue(
            customer=consenting, kind="manual", key="k1", to_email="a@b.c", template=template
        )
    assert first is not None and second is None
    assert len(callbacks) == 1  # delivery enqueued once, after commit
    assert len(mail.outbox) == 1


def test_sent_follow_ups_appear_in_the_customer_timeline(consenting, template):
    email = queue_email(consenting, template)
    outbox.deliver()
    OutgoingEmail.objects.filter(pk=email.pk).update(opened_at=timezone.now())
    entries = [e for e in timeline_page(consenting, cursor=None, size=10).entries]
    mine = [e for e in entries if e.source == "email"]
    assert [(e.title, e.pk) for e in mine] == [("Hello Ada", email.pk)]
    assert "opened" in mine[0].detail


def test_many_emails_go_over_a_few_reused_smtp_connections(settings, template):
    customers = CustomerFactory.create_batch(25, marketing_consent=True)
    for customer in customers:
        queue_email(customer, template)
    recorder = Recorder()
    with SMTPServer(recorder) as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        settings.OUTBOX_BATCH_SIZE = 10
        result = outbox.deliver()
    assert result.sent == 25
    assert sorted(recorder.message_ids) == sorted(
        OutgoingEmail.objects.values_list("message_id", flat=True)
    )
    by_id = dict(OutgoingEmail.objects.values_list("message_id", "to_email"))
    assert all(rcpt == [by_id[message_id]] for message_id, rcpt, _raw in recorder.messages)
    assert len({c.email for c in customers}) == 25


@override_settings(EMAIL_OPEN_TRACKING=True)
def test_the_open_pixel_records_the_first_open(client, consenting, template):
    from retention.outreach.rendering import open_pixel_url

    email = queue_email(consenting, template)
    url = open_pixel_url(email.pk).split("127.0.0.1:8000", 1)[1]
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    email.refresh_from_db()
    first = email.opened_at
    assert first is not None
    client.get(url)
    email.refresh_from_db()
    assert email.opened_at == first
    assert client.get("/retention/o/forged.gif").status_code == 200  # never an error page


@override_settings(EMAIL_OPEN_TRACKING=False)
def test_no_open_is_recorded_when_tracking_is_off(client, consenting, template):
    from retention.outreach.rendering import open_pixel_url

    email = queue_email(consenting, template)
    client.get(open_pixel_url(email.pk).split("127.0.0.1:8000", 1)[1])
    email.refresh_from_db()
    assert email.opened_at is None


def _sent(customer, template, days_ago: int, opened: bool = False) -> None:
    when = timezone.now() - timedelta(days=days_ago)
    queue_email(
        customer,
        template,
        status=Status.SENT,
        sent_at=when,
        opened_at=when + timedelta(hours=1) if opened else None,
    )


@override_settings(EMAIL_OPEN_TRACKING=True)
def test_unopened_follow_ups_feed_the_churn_risk_score(template):
    ignoring = CustomerFactory(marketing_consent=True)
    reading = CustomerFactory(marketing_consent=True)
    quiet = CustomerFactory(marketing_consent=True)
    for days in (10, 20):
        _sent(ignoring, template, days)
        _sent(reading, template, days, opened=days == 10)
    _sent(quiet, template, 1)  # too recent to count
    scoring.compute_all(timezone.localdate())
    flags = {r.customer_id: [f["key"] for f in r.flags] for r in CustomerRisk.objects.all()}
    assert "unopened_emails" in flags[ignoring.pk]
    assert "unopened_emails" not in flags[reading.pk]
    assert "unopened_emails" not in flags.get(quiet.pk, [])


@override_settings(EMAIL_OPEN_TRACKING=False)
def test_without_tracking_the_unopened_signal_has_no_data(template):
    customer = CustomerFactory(marketing_consent=True)
    for days in (10, 20):
        _sent(customer, template, days)
    scoring.compute_all(timezone.localdate())
    assert "unopened_emails" not in [f["key"] for f in CustomerRisk.objects.get().flags]


def test_a_line_break_in_an_address_fails_that_email_over_smtp(settings, template):
    recorder = Recorder()
    injected = CustomerFactory(marketing_consent=True)
    OutgoingEmail.objects.create(
        customer=injected,
        kind="manual",
        template=template,
        to_email="eve@example.org\r\nRCPT TO:<victim@example.com>",
        idempotency_key="inject",
    )
    fine = queue_email(CustomerFactory(marketing_consent=True), template)
    with SMTPServer(recorder) as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        outbox.deliver()
    bad = OutgoingEmail.objects.get(idempotency_key="inject")
    assert bad.status == Status.FAILED
    fine.refresh_from_db()
    assert fine.status == Status.SENT
    assert [rcpt for _id, rcpt, _raw in recorder.messages] == [[fine.to_email]]


@override_settings(EMAIL_OPEN_TRACKING=True)
def test_what_the_smtp_server_receives_parses_back_to_the_email(settings, template):
    """The SMTP path writes the MIME bytes itself: a mail program must read them back."""
    from email import message_from_bytes, policy

    from retention.models import EmailTemplateTranslation

    EmailTemplateTranslation.objects.create(
        template=template,
        language="de",
        subject="Grüße, {{ first_name }} – schön, dass Sie da sind",
        body_text="Hallo {{ first_name }},\n\n" + "Straße " * 40 + "\n.\nEnde {{ signature }}",
    )
    customer = CustomerFactory(
        name="Jürgen\r\nBcc: victim@example.com Groß",
        marketing_consent=True,
        preferred_language="de",
    )
    email = queue_email(customer, template)
    recorder = Recorder()
    with SMTPServer(recorder) as server:
        for name, value in server.settings().items():
            setattr(settings, name, value)
        assert outbox.deliver().sent == 1
    ((message_id, rcpt, raw),) = recorder.messages
    parsed = message_from_bytes(raw, policy=policy.default)
    assert rcpt == [customer.email] and message_id == email.message_id
    assert parsed["Subject"] == "Grüße, Jürgen – schön, dass Sie da sind"
    assert parsed["To"].addresses[0].display_name == "Jürgen Bcc: victim@example.com Groß"
    assert parsed["To"].addresses[0].addr_spec == customer.email
    assert parsed["Bcc"] is None
    assert parsed["Message-ID"] == email.message_id
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed["List-Unsubscribe"].startswith("<http")
    text = parsed.get_body(("plain",)).get_content().replace("\r\n", "\n")
    html = parsed.get_body(("html",)).get_content()
    assert text.startswith("Hallo Jürgen,\n\n" + "Straße " * 40)
    assert "\n.\nEnde" in text  # a line with a lone dot survives SMTP's dot-stuffing
    assert "Hallo Jürgen" in html and "/retention/o/" in html
    email.refresh_from_db()
    assert email.subject == parsed["Subject"]
