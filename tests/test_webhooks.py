"""Inbound webhooks: signed events from a shop written as interactions, as the API does.

The signature (HMAC-SHA256 of "<timestamp>.<body>"), the timestamp's tolerance, replays
by delivery id and by the record's external id, the refusals (each naming its field and
writing nothing but the delivery log), and the admin's delivery log.
"""

import json
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.urls import reverse

from api.models import WebhookDelivery, WebhookSource
from api.webhooks.signatures import signature
from customers.models import Customer, Interaction
from retention.models import LoyaltySettings, PointsAccount

from .factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
Status = WebhookDelivery.Status


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def source(manager):
    LoyaltySettings.objects.update_or_create(
        pk=1, defaults={"purchases_since": NOW.date() - timedelta(days=30)}
    )
    return WebhookSource.objects.create(name="Shop", act_as=manager)


def purchase(external_id="5531", customer=None, **data) -> dict:
    customer = customer or {"external_id": "K-1", "email": "ada@example.org"}
    return {
        "type": "purchase",
        "data": {
            "external_id": external_id,
            "customer": customer,
            "amount": "120.50",
            "occurred_at": "2026-03-01T10:00:00Z",
            **data,
        },
    }


def send(client, source, payload, *, delivery="d-1", timestamp=None, secret=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return client.post(
        reverse("api:webhook", args=[source.pk]),
        body,
        content_type="application/json",
        headers={
            "X-CRM-Timestamp": stamp,
            "X-CRM-Delivery": delivery,
            "X-CRM-Signature": signature(secret or source.secret, stamp, body),
        },
    )


def statuses(source) -> list[str]:
    return list(source.deliveries.order_by("id").values_list("status", flat=True))


def test_a_signed_purchase_is_logged_and_earns_points(client, source, customer, manager):
    """Given a known customer (by external id), when the shop posts a signed purchase of
    120.50 without a subject, then it is logged as the page logs it: recorded by the
    source's user, the import's subject, last contact moved, 120 points earned, and the
    delivery is accepted."""
    Customer.objects.filter(pk=customer.pk).update(external_id="K-1")
    response = send(client, source, purchase())
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "accepted"
    interaction = Interaction.objects.get(external_id="5531")
    assert interaction.customer == customer
    assert interaction.recorded_by == manager
    assert interaction.subject == "Purchase of 120.50 on 2026-03-01"
    assert interaction.amount == Decimal("120.50")
    customer.refresh_from_db()
    assert customer.last_interaction_at == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert PointsAccount.objects.get(customer=customer).balance == 120
    delivery = source.deliveries.get()
    assert (delivery.status, delivery.delivery_id, delivery.event_type, delivery.external_id) == (
        "accepted",
        "d-1",
        "purchase",
        "5531",
    )


def test_a_purchase_by_an_unknown_customer_creates_them(client, source, manager):
    """Given no customer K-9, a purchase for K-9 creates the customer (name and email from
    the payload, owned by the source's account manager, as the form does) and logs it."""
    payload = purchase(customer={"external_id": "K-9", "email": "new@example.org", "name": "Bo"})
    assert send(client, source, payload).status_code == 200
    created = Customer.objects.get(external_id="K-9")
    assert (created.name, created.email, created.owner) == ("Bo", "new@example.org", manager)
    assert created.interactions.count() == 1


def test_a_refund_for_an_unknown_customer_is_refused(client, source):
    """Only a purchase creates a customer: a refund for someone unknown is a 400 naming
    data.customer, and no customer is created."""
    payload = {"type": "refund", "data": {**purchase()["data"], "external_id": "R-1"}}
    response = send(client, source, payload)
    assert response.status_code == 400
    assert response.json()["field"] == "data.customer"
    assert not Customer.objects.exists()
    assert statuses(source) == ["rejected"]


def test_other_events_are_logged_with_their_kinds(client, source, customer):
    """A refund (stored negative), a cancellation, a renewal (a purchase) and a ticket
    (a complaint when asked) are each logged, matched by email, with made-up subjects
    where the event has none."""
    who = {"email": "ADA@example.org"}
    events = [
        {"type": "refund", "data": {"external_id": "r1", "customer": who, "amount": "20"}},
        {"type": "cancellation", "data": {"external_id": "c1", "customer": who}},
        {"type": "renewal", "data": {"external_id": "n1", "customer": who, "amount": "99"}},
        {
            "type": "ticket",
            "data": {"external_id": "t1", "customer": who, "kind": "complaint", "subject": "Late"},
        },
    ]
    for number, event in enumerate(events):
        assert send(client, source, event, delivery=f"d{number}").status_code == 200
    logged = {i.external_id: (i.kind, i.subject, i.amount) for i in customer.interactions.all()}
    assert logged == {
        "r1": ("refund", "Refund of 20.00 on 2026-03-01", Decimal("-20.00")),
        "c1": ("cancellation", "Cancellation on 2026-03-01", None),
        "n1": ("purchase", "Renewal of 99.00 on 2026-03-01", Decimal("99.00")),
        "t1": ("complaint", "Late", None),
    }


def test_a_replayed_delivery_is_a_duplicate_and_writes_nothing(client, source, customer):
    """Given an accepted delivery, the same delivery id again is a 200 "duplicate":
    still one interaction, the points earned once."""
    Customer.objects.filter(pk=customer.pk).update(external_id="K-1")
    send(client, source, purchase())
    response = send(client, source, purchase(external_id="other"))
    assert response.status_code == 200
    assert response.json()["status"] == "duplicate"
    assert Interaction.objects.count() == 1
    assert PointsAccount.objects.get(customer=customer).balance == 120
    assert statuses(source) == ["accepted", "duplicate"]


def test_the_same_record_under_a_new_delivery_id_is_a_duplicate(client, source, customer):
    """Given order 5531 logged, a new delivery carrying order 5531 is a 200 duplicate and
    writes nothing (no second interaction, no new customer)."""
    Customer.objects.filter(pk=customer.pk).update(external_id="K-1")
    send(client, source, purchase())
    payload = purchase(customer={"external_id": "K-NEW", "email": "x@example.org"})
    response = send(client, source, payload, delivery="d-2")
    assert response.json()["status"] == "duplicate"
    assert Interaction.objects.count() == 1
    assert not Customer.objects.filter(external_id="K-NEW").exists()
    assert statuses(source) == ["accepted", "duplicate"]


def test_a_wrong_or_missing_signature_is_a_401_and_writes_nothing(client, source, customer):
    """Signed with another secret, or not signed at all: 401, nothing written but the
    rejected deliveries."""
    response = send(client, source, purchase(), secret="not-the-secret")
    assert response.status_code == 401
    assert "signature" in response.json()["error"]
    unsigned = client.post(
        reverse("api:webhook", args=[source.pk]),
        purchase(),
        content_type="application/json",
        headers={"X-CRM-Timestamp": str(int(time.time())), "X-CRM-Delivery": "d-2"},
    )
    assert unsigned.status_code == 401
    assert not Interaction.objects.exists()
    assert statuses(source) == ["rejected", "rejected"]


def test_a_body_changed_after_signing_is_refused(client, source, customer):
    """The signature covers the body: the same headers with another amount are a 401."""
    stamp = str(int(time.time()))
    signed = json.dumps(purchase()).encode()
    response = client.post(
        reverse("api:webhook", args=[source.pk]),
        json.dumps(purchase(amount="9999")),
        content_type="application/json",
        headers={
            "X-CRM-Timestamp": stamp,
            "X-CRM-Delivery": "d-1",
            "X-CRM-Signature": signature(source.secret, stamp, signed),
        },
    )
    assert response.status_code == 401


@pytest.mark.parametrize(("age", "code"), [(301, 401), (299, 200), (-301, 401), (-299, 200)])
def test_the_timestamp_may_be_at_most_300_seconds_from_now(client, source, customer, age, code):
    """Signed 301 s ago (or ahead) is refused; 299 s is accepted."""
    timestamp = int(NOW.timestamp()) - age
    response = send(
        client, source, purchase(customer={"email": "ada@example.org"}), timestamp=timestamp
    )
    assert response.status_code == code
    assert Interaction.objects.count() == (1 if code == 200 else 0)


def test_the_tolerance_is_a_setting(client, source, customer, settings):
    settings.WEBHOOK_TOLERANCE_SECONDS = 10
    response = send(client, source, purchase(), timestamp=int(NOW.timestamp()) - 11)
    assert response.status_code == 401


def test_a_body_over_1_mb_is_a_413(client, source, customer):
    payload = purchase(body="x" * (1024 * 1024))
    response = send(client, source, payload)
    assert response.status_code == 413
    assert not Interaction.objects.exists()
    assert statuses(source) == ["rejected"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        (b"{not json", "body"),
        (b"[1, 2]", "body"),
        ({"type": "gift", "data": {}}, "type"),
        ({"type": "purchase"}, "data"),
        (
            {"type": "purchase", "data": {"customer": {"email": "ada@example.org"}}},
            "data.external_id",
        ),
        ({"type": "purchase", "data": {"external_id": "1"}}, "data.customer"),
        (
            {
                "type": "purchase",
                "data": {"external_id": "1", "customer": {"email": "ada@example.org"}},
            },
            "data.amount",
        ),
        (
            {
                "type": "purchase",
                "data": {
                    "external_id": "1",
                    "customer": {"email": "ada@example.org"},
                    "amount": "lots",
                },
            },
            "data.amount",
        ),
        (
            {
                "type": "ticket",
                "data": {"external_id": "1", "customer": {"email": "ada@example.org"}},
            },
            "data.subject",
        ),
        (
            {
                "type": "ticket",
                "data": {
                    "external_id": "1",
                    "customer": {"email": "ada@example.org"},
                    "subject": "Help",
                    "kind": "call",
                },
            },
            "data.kind",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(client, source, customer, payload, field):
    """Malformed JSON, an unknown event type, missing or invalid fields: a 400 whose
    `field` names what is wrong, nothing written but the rejected delivery."""
    raw = payload if isinstance(payload, bytes) else None
    response = send(client, source, payload, raw=raw)
    assert response.status_code == 400
    assert response.json()["field"] == field, response.json()
    assert not Interaction.objects.exists()
    assert statuses(source) == ["rejected"]


def test_a_missing_delivery_id_is_a_400(client, source, customer):
    response = send(client, source, purchase(), delivery="")
    assert response.status_code == 400
    assert response.json()["field"] == "X-CRM-Delivery"


def test_an_unknown_or_inactive_source_is_a_404(client, source, customer):
    """An id with no source: 404, nothing recorded; an inactive source: 404, recorded."""
    missing = WebhookSource(pk=source.pk + 1, secret=source.secret)
    assert send(client, missing, purchase()).status_code == 404
    assert not WebhookDelivery.objects.exists()
    WebhookSource.objects.filter(pk=source.pk).update(active=False)
    assert send(client, source, purchase()).status_code == 404
    assert statuses(source) == ["rejected"]
    assert not Interaction.objects.exists()


def test_the_source_user_needs_a_role(client, roleless_user, customer):
    source = WebhookSource.objects.create(name="Shop", act_as=roleless_user)
    response = send(client, source, purchase(customer={"email": "ada@example.org"}))
    assert response.status_code == 403
    assert not Interaction.objects.exists()


def test_get_is_not_allowed(client, source):
    assert client.get(reverse("api:webhook", args=[source.pk])).status_code == 405


def test_each_source_gets_its_own_secret(manager):
    one = WebhookSource.objects.create(name="A", act_as=manager)
    two = WebhookSource.objects.create(name="B", act_as=manager)
    assert one.secret != two.secret
    assert len(one.secret) >= 43


def test_the_deliveries_show_in_the_admin_newest_first(client, source, customer):
    """The admin's delivery log (for superusers, as API tokens) lists a source's
    deliveries with their status, newest first, filters by source and status, and
    cannot be edited; the admin role's users do not see the secrets."""
    admin_client = Client()
    admin_client.force_login(UserFactory(username="root", is_superuser=True, is_staff=True))
    send(client, source, purchase(), secret="wrong")
    with time_machine.travel(NOW + timedelta(seconds=5), tick=False):
        send(client, source, purchase(customer={"email": "ada@example.org"}))
    page = admin_client.get(reverse("admin:api_webhookdelivery_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert text.index("Accepted") < text.index("Rejected")
    filtered = admin_client.get(
        reverse("admin:api_webhookdelivery_changelist"),
        {"source__id__exact": source.pk, "status__exact": "rejected"},
    )
    assert list(filtered.context["cl"].result_list) == [source.deliveries.get(status="rejected")]
    assert admin_client.get(reverse("admin:api_webhookdelivery_add")).status_code == 403
    assert admin_client.get(reverse("admin:api_webhooksource_changelist")).status_code == 200


def test_the_admin_role_does_not_see_the_secrets(admin_client, source):
    assert admin_client.get(reverse("admin:api_webhooksource_changelist")).status_code == 403
