"""Outbound webhooks: rows written with their cause, posted signed to a real HTTP server.

Queuing (one row per subscribed active endpoint, in the cause's transaction), posting to
a server on loopback (the signature verifies with the inbound verifier), retries with
backoff and the same delivery id, timeouts, failing after the last attempt, the sweeper.
"""

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.db import transaction
from django.test import Client

from api.models import WebhookEndpoint, WebhookMessage
from api.outbound import delivery, queueing
from api.webhooks.signatures import verify
from customers.models import Customer
from retention.risk.events import levels_rose
from retention.risk.models import CustomerRisk
from surveys.responses import response_submit

from .factories import CustomerFactory, UserFactory
from .factories_surveys import invitation_with_token

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
Status = WebhookMessage.Status
CHURNED = WebhookEndpoint.Event.CUSTOMER_CHURNED


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) that records each POST and answers
    `status`, after `hang` seconds."""

    def __init__(self) -> None:
        self.requests: list[tuple] = []
        self.status = 200
        self.hang = 0.0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((self.headers, body))  # case-insensitive
                if receiver.hang:
                    time.sleep(receiver.hang)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def endpoint(url: str = "http://127.0.0.1:9/hook", **fields) -> WebhookEndpoint:
    fields.setdefault("events", [CHURNED])
    return WebhookEndpoint.objects.create(name="Billing", url=url, **fields)


def churn(customer: Customer) -> None:
    customer.status = Customer.Status.CHURNED
    customer.save()


def queued(url: str) -> WebhookMessage:
    """A churn message for a new customer, queued for an endpoint at `url`."""
    endpoint(url)
    churn(CustomerFactory(external_id="C-1"))
    return WebhookMessage.objects.get()


# --- Queuing -------------------------------------------------------------------------


def test_a_churn_writes_one_message_per_subscribed_active_endpoint():
    """Given two endpoints subscribed to churns, one subscribed to survey answers only and
    one inactive, when a customer's save changes the status to churned, then two messages
    are written (one each), with distinct delivery ids and the customer in the payload."""
    subscribed = [endpoint(), endpoint()]
    endpoint(events=[WebhookEndpoint.Event.SURVEY_ANSWERED])
    endpoint(active=False)
    customer = CustomerFactory(external_id="C-1")

    churn(customer)

    messages = list(WebhookMessage.objects.order_by("endpoint_id"))
    assert [m.endpoint_id for m in messages] == [e.pk for e in subscribed]
    assert all(m.event == CHURNED and m.status == Status.QUEUED for m in messages)
    assert len({m.delivery_id for m in messages}) == 2
    assert messages[0].payload["id"] == str(messages[0].delivery_id)
    assert messages[0].payload["data"]["external_id"] == "C-1"
    assert messages[0].payload["data"]["status"] == "churned"


def test_saving_a_churned_customer_again_writes_nothing_new():
    """Given a churn already posted, when the churned customer is saved again, then no
    second message is written (only a change to churned is an event)."""
    endpoint()
    customer = CustomerFactory()
    churn(customer)
    customer.name = "Renamed"
    customer.save()
    assert WebhookMessage.objects.count() == 1


def test_nothing_is_written_when_the_churn_rolls_back(django_capture_on_commit_callbacks):
    """Given a subscribed endpoint, when the transaction that churned the customer rolls
    back, then no message exists and no delivery was enqueued."""
    endpoint()
    customer = CustomerFactory()
    with (
        django_capture_on_commit_callbacks() as callbacks,
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        churn(customer)
        raise RuntimeError("the cause failed")
    assert WebhookMessage.objects.count() == 0
    assert callbacks == []


def test_delivery_is_enqueued_on_commit_and_posts(receiver, django_capture_on_commit_callbacks):
    """Given a subscribed endpoint, when the churn commits, then the task posts it once."""
    endpoint(receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        churn(CustomerFactory())
    assert len(receiver.requests) == 1
    assert WebhookMessage.objects.get().status == Status.SENT


# --- Posting -------------------------------------------------------------------------


def test_the_payload_arrives_signed_and_verifies(receiver):
    """Given a queued churn, when delivered, then the server gets the JSON payload with the
    X-CRM headers, the signature verifies with the inbound verifier, and the row is sent."""
    message = queued(receiver.url)

    outcome = delivery.deliver()

    assert outcome.sent == 1
    ((headers, body),) = receiver.requests
    assert headers["X-CRM-Delivery"] == str(message.delivery_id)
    assert headers["X-CRM-Event"] == CHURNED
    verify(
        message.endpoint.secret,
        timestamp=headers["X-CRM-Timestamp"],
        given=headers["X-CRM-Signature"],
        body=body,
    )
    assert json.loads(body) == message.payload
    message.refresh_from_db()
    assert (message.status, message.attempts, message.last_error) == (Status.SENT, 1, "")
    assert message.sent_at is not None


@pytest.mark.usefixtures("_frozen")
def test_a_500_schedules_a_retry_with_backoff_and_the_same_id(receiver):
    """Given a server answering 500, when delivered twice (the second after the first
    delay), then the row waits 1 minute then 5, and both requests carry the same id."""
    receiver.status = 500
    message = queued(receiver.url)

    delivery.deliver()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert message.next_attempt_at == NOW + timedelta(minutes=1)
    assert "500" in message.last_error
    assert delivery.deliver().sent == 0  # not due yet: nothing posted

    with time_machine.travel(NOW + timedelta(minutes=1), tick=False):
        delivery.deliver()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 2)
    assert message.next_attempt_at == NOW + timedelta(minutes=1 + 5)
    ids = [headers["X-CRM-Delivery"] for headers, _body in receiver.requests]
    assert ids == [str(message.delivery_id)] * 2


def test_a_hanging_server_times_out_and_is_retried(receiver, settings):
    """Given a server that answers after 2 s and a timeout of 0.3 s, when delivered, then
    the attempt ends in a timeout and the row is queued again for a minute later."""
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.hang = 2
    message = queued(receiver.url)

    started = time.monotonic()
    outcome = delivery.deliver()

    assert time.monotonic() - started < 1.5
    assert outcome.retrying == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.QUEUED, 1)
    assert "timed out" in message.last_error
    assert message.next_attempt_at > message.created_at + timedelta(seconds=50)


@pytest.mark.usefixtures("_frozen")
def test_after_the_last_attempt_the_message_is_failed(receiver, settings):
    """Given 3 attempts allowed and a server answering 503, when each retry comes due,
    then the third failure leaves the row failed (and nothing more is posted)."""
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.status = 503
    message = queued(receiver.url)
    for minutes in (0, 1, 1 + 5, 1 + 5 + 30):
        with time_machine.travel(NOW + timedelta(minutes=minutes), tick=False):
            delivery.deliver()
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.FAILED, 3)
    assert len(receiver.requests) == 3


def test_the_retry_schedule():
    """1 min, 5 min, 30 min, 2 h, 12 h, then 12 h again."""
    assert [delivery.retry_delay(n) for n in range(1, 7)] == [
        timedelta(minutes=1),
        timedelta(minutes=5),
        timedelta(minutes=30),
        timedelta(hours=2),
        timedelta(hours=12),
        timedelta(hours=12),
    ]


# --- The sweeper ---------------------------------------------------------------------


@pytest.mark.usefixtures("_frozen")
def test_the_sweeper_requeues_an_expired_lease_once(receiver):
    """Given a row claimed by a worker that died (its lease ran out), when the sweeper runs
    twice, then the first run re-queues it, the second finds nothing, and the next delivery
    posts it with the same id under a new claim."""
    message = queued(receiver.url)
    lease, ids = delivery.claim_batch()
    assert ids == [message.pk]

    later = NOW + timedelta(seconds=delivery.lease_seconds(delivery.BATCH_SIZE) + 1)
    with time_machine.travel(later, tick=False):
        assert delivery.release_expired_leases() == 1
        assert delivery.release_expired_leases() == 0
        assert delivery.deliver().sent == 1
    message.refresh_from_db()
    assert (message.status, message.attempts) == (Status.SENT, 2)
    assert receiver.requests[0][0]["X-CRM-Delivery"] == str(message.delivery_id)


@pytest.mark.usefixtures("_frozen")
def test_a_live_lease_is_not_swept_and_a_stale_claim_writes_nothing(receiver):
    """Given a claim whose lease has not run out, the sweeper leaves it; once it ran out
    and another worker claimed the row, the first worker's outcome changes nothing."""
    message = queued(receiver.url)
    first, _ids = delivery.claim_batch()
    assert delivery.release_expired_leases() == 0

    later = NOW + timedelta(seconds=delivery.lease_seconds(delivery.BATCH_SIZE) + 1)
    with time_machine.travel(later, tick=False):
        delivery.release_expired_leases()
        second, _ids = delivery.claim_batch()
        outcome = delivery.Outcome()
        delivery.send_claimed(first, [message.pk], outcome)
    assert (outcome.sent, receiver.requests) == (0, [])
    message.refresh_from_db()
    assert (message.status, message.lease_token) == (Status.SENDING, second.token)


def test_a_risk_rise_writes_one_message_per_risen_customer():
    """Given an endpoint subscribed to risk rises, when a chunk reports two rises, then two
    messages carry each customer and its new level; a churn-only endpoint gets none."""
    endpoint(events=[WebhookEndpoint.Event.RISK_LEVEL_ROSE])
    endpoint()
    first, second = CustomerFactory(external_id="A"), CustomerFactory(external_id="B")

    levels_rose.send(
        sender=CustomerRisk, rises=[(first.pk, "high"), (second.pk, "medium")], as_of=NOW.date()
    )

    payloads = [m.payload for m in WebhookMessage.objects.order_by("id")]
    assert [
        (p["event"], p["data"]["customer"]["external_id"], p["data"]["level"]) for p in payloads
    ] == [
        ("risk.level_rose", "A", "high"),
        ("risk.level_rose", "B", "medium"),
    ]
    assert payloads[0]["data"]["as_of"] == "2026-03-01"


def test_a_survey_answer_writes_a_message_with_the_score():
    """Given an endpoint subscribed to survey answers, when a customer answers an NPS
    survey with 9, then one message carries the survey, the response and the score."""
    endpoint(events=[WebhookEndpoint.Event.SURVEY_ANSWERED])
    invitation, _token = invitation_with_token()
    score = next(q for q in invitation.survey.questions.all() if q.kind == "scale_0_10")

    response = response_submit(invitation=invitation, answers={score: 9}, language="en")

    data = WebhookMessage.objects.get().payload["data"]
    assert data["response"]["id"] == response.pk
    assert data["response"]["nps_score"] == 9
    assert data["survey"] == {"id": invitation.survey_id, "name": "Quarterly NPS"}
    assert data["customer"]["id"] == invitation.customer_id


def test_queuing_takes_the_same_queries_for_one_rise_or_many(django_assert_max_num_queries):
    """Given two subscribed endpoints, when 50 customers' levels rose, then 100 rows are
    written with a fixed number of queries."""
    endpoint(events=[WebhookEndpoint.Event.RISK_LEVEL_ROSE])
    endpoint(events=[WebhookEndpoint.Event.RISK_LEVEL_ROSE])
    customers = CustomerFactory.create_batch(50)
    # Endpoints, customers, savepoint, the insert (in SQLite-sized batches), release.
    with django_assert_max_num_queries(6):
        queueing.queue_risk_rises([(c.pk, "high") for c in customers], NOW.date())
    assert WebhookMessage.objects.count() == 100


def test_a_url_that_is_not_http_is_not_posted(settings):
    """Given an endpoint whose URL is file://, when delivered, then nothing is opened and
    the attempt is recorded as an error to retry."""
    message = queued("file:///etc/passwd")
    delivery.deliver()
    message.refresh_from_db()
    assert (message.status, message.last_error) == (
        Status.QUEUED,
        "Only http and https URLs are posted to.",
    )


def test_an_outcome_after_a_takeover_changes_nothing(monkeypatch):
    """Given a worker whose row another worker claimed while it was posting (its lease ran
    out), when its post returns, then its outcome is not written over the other claim."""
    message = queued("http://127.0.0.1:9/hook")
    lease, ids = delivery.claim_batch()

    def post_while_taken_over(message, **kwargs) -> str:
        WebhookMessage.objects.filter(pk=message.pk).update(lease_token="other")
        return ""

    monkeypatch.setattr(delivery, "post", post_while_taken_over)
    outcome = delivery.Outcome()
    delivery.send_claimed(lease, ids, outcome)

    assert (outcome.sent, outcome.taken_over) == (0, 1)
    message.refresh_from_db()
    assert (message.status, message.sent_at) == (Status.SENDING, None)


def test_the_admin_lists_messages_read_only_and_adds_endpoints(admin_client):
    """Given a queued message, the Django admin lists it for superusers (no adding) and adds
    an endpoint with its events chosen from the fixed list; the admin role's users do not
    see the endpoints (their secrets), as with inbound sources."""
    message = queued("http://127.0.0.1:9/hook")
    assert admin_client.get("/admin/api/webhookendpoint/").status_code == 403
    admin_client = Client()
    admin_client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    listing = admin_client.get("/admin/api/webhookmessage/")
    assert listing.status_code == 200
    assert str(message.delivery_id) in listing.content.decode()
    assert admin_client.get("/admin/api/webhookmessage/add/").status_code == 403

    added = admin_client.post(
        "/admin/api/webhookendpoint/add/",
        {
            "name": "Shop",
            "url": "https://shop.example.org/hooks",
            "secret": "s3cret",
            "events": ["survey.answered", "customer.churned"],
            "active": "on",
        },
    )
    assert added.status_code == 302
    shop = WebhookEndpoint.objects.get(name="Shop")
    assert shop.events == ["survey.answered", "customer.churned"]
