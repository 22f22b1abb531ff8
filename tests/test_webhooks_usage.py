"""Usage events through an inbound webhook: the usage endpoint's batch, signed, counted once.

Daily counts are added, so a redelivered webhook must not count twice: the delivery id
(unique per source among accepted deliveries) is the guard, written in the same
transaction as the counts.
"""

import json
import threading
import time
from datetime import UTC, date, datetime
from unittest import mock

import pytest
import time_machine
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from api.models import WebhookDelivery, WebhookSource
from api.webhooks import views as webhook_views
from api.webhooks.signatures import signature
from customers.models import UsageDay

from .factories import CustomerFactory

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
Status = WebhookDelivery.Status


@pytest.fixture
def source(manager):
    return WebhookSource.objects.create(name="Product", act_as=manager)


@pytest.fixture
def shop_customer(manager):
    return CustomerFactory(external_id="K-1", email="ada@example.org", owner=manager)


def usage(*events) -> dict:
    return {"type": "usage", "data": {"events": list(events)}}


BATCH = usage(
    {"customer_external_id": "K-1", "event": "logged in", "count": 2},
    {"customer_email": "ADA@example.org", "event": "Visited  Pricing Page"},
    {"customer_external_id": "K-1", "event": "logged in", "at": "2026-02-27T09:00:00Z"},
)


def send(client, source, payload, *, delivery="d-1"):
    body = json.dumps(payload).encode()
    stamp = str(int(time.time()))
    return client.post(
        reverse("api:webhook", args=[source.pk]),
        body,
        content_type="application/json",
        headers={
            "X-CRM-Timestamp": stamp,
            "X-CRM-Delivery": delivery,
            "X-CRM-Signature": signature(source.secret, stamp, body),
        },
    )


def counts() -> dict[tuple[str, date, str], int]:
    rows = UsageDay.objects.values_list("customer__external_id", "day", "event", "count")
    return {(external_id, day, event): count for external_id, day, event, count in rows}


def statuses(source) -> list[str]:
    return list(source.deliveries.order_by("id").values_list("status", flat=True))


EXPECTED = {
    ("K-1", date(2026, 3, 1), "logged in"): 2,
    ("K-1", date(2026, 3, 1), "visited pricing page"): 1,
    ("K-1", date(2026, 2, 27), "logged in"): 1,
}


@pytest.mark.django_db
class TestUsageWebhook:
    @pytest.fixture(autouse=True)
    def _frozen(self):
        with time_machine.travel(NOW, tick=False):
            yield

    def test_a_signed_delivery_adds_the_batch_to_the_daily_counts(
        self, client, source, shop_customer
    ):
        """Given a customer known by external id and email, when the product posts a signed
        usage batch, then its events are added to the daily counts as the usage endpoint
        adds them (names normalised, the day from `at`), and the delivery is logged."""
        response = send(client, source, BATCH)

        assert response.status_code == 200, response.content
        delivery = source.deliveries.get()
        assert response.json() == {
            "status": "accepted",
            "delivery": delivery.pk,
            "events": 3,
            "clicks": 4,
            "rows": 3,
        }
        assert (delivery.status, delivery.event_type) == (Status.ACCEPTED, "usage")
        assert counts() == EXPECTED

    def test_the_same_delivery_again_adds_nothing(self, client, source, shop_customer):
        """Given an accepted usage delivery, when the sender redelivers it (same delivery id:
        it saw no answer), then it is a duplicate and the counts stay exactly as they were."""
        send(client, source, BATCH)

        again = send(client, source, BATCH)

        assert again.status_code == 200
        assert again.json()["status"] == "duplicate"
        assert counts() == EXPECTED
        assert statuses(source) == ["accepted", "duplicate"]

    def test_a_new_delivery_id_is_new_usage_and_adds_again(self, client, source, shop_customer):
        """Counts have no id of their own: the same events under a new delivery id are new
        clicks (the sender's delivery id is the whole of the deduplication)."""
        send(client, source, BATCH, delivery="d-1")
        send(client, source, BATCH, delivery="d-2")

        assert counts() == {key: count * 2 for key, count in EXPECTED.items()}

    def test_a_copy_racing_the_first_is_rolled_back_whole(self, client, source, shop_customer):
        """Given two copies of one delivery that both passed the replay check (they arrived
        at the same moment), when the second writes its counts and then its accepted
        delivery row, the (source, delivery id) uniqueness refuses the row and the counts
        written before it are rolled back with it: counted once."""
        send(client, source, BATCH)

        with mock.patch.object(webhook_views, "_seen", return_value=False):
            racing = send(client, source, BATCH)

        assert racing.json()["status"] == "duplicate"
        assert counts() == EXPECTED
        assert statuses(source) == ["accepted", "duplicate"]

    @pytest.mark.parametrize(
        ("data", "field", "message"),
        [
            ({}, "data.events", "Send a non-empty list of events."),
            ({"events": []}, "data.events", "Send a non-empty list of events."),
            (
                {"events": [{"customer_external_id": "K-1", "event": "x"}, {"event": "x"}]},
                "data.events[1].customer_external_id",
                "Give customer_external_id or customer_email.",
            ),
            (
                {"events": [{"customer_external_id": "K-1", "event": "x", "count": 0}]},
                "data.events[0].count",
                "A whole number from 1 to 1000000.",
            ),
            (
                {"events": [{"customer_external_id": "K-1", "event": " "}]},
                "data.events[0].event",
                "An event needs a name.",
            ),
            (
                {"events": [{"customer_external_id": "K-1", "event": "x", "at": "yesterday"}]},
                "data.events[0].at",
                "Not an ISO 8601 date and time.",
            ),
            (
                {
                    "events": [
                        {"customer_external_id": "K-1", "event": "x"},
                        {"customer_external_id": "K-404", "event": "x"},
                    ]
                },
                "data.events[1].customer_external_id",
                "No customer with this value.",
            ),
        ],
    )
    def test_a_bad_batch_is_a_400_naming_the_field_and_writes_nothing(
        self, client, source, shop_customer, data, field, message
    ):
        """Given a batch with one bad line (the others good), when it is delivered, then
        the answer is a 400 naming the line and field, no count is written (all or
        nothing), and the delivery log says why."""
        response = send(client, source, {"type": "usage", "data": data})

        assert response.status_code == 400
        assert response.json()["field"] == field
        assert response.json()["error"] == message
        assert not UsageDay.objects.exists()
        delivery = source.deliveries.get()
        assert delivery.status == Status.REJECTED
        assert field in delivery.error

    def test_a_refused_delivery_can_be_sent_again_once_fixed(self, client, source, shop_customer):
        """A rejected delivery counted nothing, so its id is not used up: the sender may fix
        the batch and deliver it again under the same id."""
        bad = usage({"customer_external_id": "K-1", "event": "logged in", "count": -1})
        assert send(client, source, bad).status_code == 400

        response = send(client, source, usage({"customer_external_id": "K-1", "event": "x"}))

        assert response.json()["status"] == "accepted"
        assert counts() == {("K-1", date(2026, 3, 1), "x"): 1}

    def test_the_source_user_needs_a_role(self, client, roleless_user, shop_customer):
        """The usage endpoint's rule: the user the source acts as must have a staff role."""
        source = WebhookSource.objects.create(name="Product", act_as=roleless_user)

        response = send(client, source, BATCH)

        assert response.status_code == 403
        assert response.json()["field"] == "source"
        assert not UsageDay.objects.exists()

    def test_the_error_for_an_unknown_type_lists_usage(self, client, source):
        response = send(client, source, {"type": "clicks", "data": {}})

        assert response.status_code == 400
        assert "usage" in response.json()["error"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("attempt", range(3))
def test_two_copies_at_the_same_moment_count_once_on_postgresql(manager, attempt):
    """Given one delivery sent twice at the same instant (two connections), then exactly
    one is accepted and the counts are the batch's, once."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (make test): SQLite serialises every write anyway")
    source = WebhookSource.objects.create(name="Product", act_as=manager)
    CustomerFactory(external_id="K-1", email="ada@example.org", owner=manager)
    barrier = threading.Barrier(2)
    answers: list[str] = []

    def deliver() -> None:
        try:
            barrier.wait(timeout=10)
            answers.append(send(Client(), source, BATCH).json()["status"])
        finally:
            connections.close_all()

    with time_machine.travel(NOW, tick=False):
        threads = [threading.Thread(target=deliver) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)

    assert sorted(answers) == ["accepted", "duplicate"]
    assert counts() == EXPECTED
