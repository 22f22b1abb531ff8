"""The REST API does what the pages do: the same filters, forms, services and figures.

Pagination by cursor, filters, customer writes through the customer form, interactions
through the logging service (timeline, last contact, points), errors as JSON, the schema,
the docs page and the token page. Loyalty, risk, surveys and query counts:
tests/test_api_retention.py; who may do what: tests/test_api_permissions.py.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.authtoken.models import Token

from customers.models import Customer, Interaction, StatusChange
from retention.models import LoyaltySettings, PointsAccount, PointsEntry

from .factories import CustomerFactory, InteractionFactory, TagFactory
from .test_api_permissions import api

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
INTERACTIONS = "/api/v1/interactions/"


def ids(response) -> list[int]:
    return [row["id"] for row in response.json()["results"]]


# --- Pagination ---------------------------------------------------------------------------


def test_cursor_pages_walk_every_customer_once_in_id_order(manager):
    """Given 7 customers and pages of 3, following `next` gives 3, 3, 1 customers in id
    order, each once, and `previous` from the last page gives the middle one back."""
    made = [CustomerFactory().pk for _ in range(7)]
    client = api(manager)
    url, seen, pages = f"{CUSTOMERS}?page_size=3", [], []
    while url:
        response = client.get(url)
        assert response.status_code == 200
        pages.append(ids(response))
        seen += ids(response)
        last, url = response, response.json()["next"]
    assert [len(page) for page in pages] == [3, 3, 1]
    assert seen == sorted(made)
    previous = client.get(last.json()["previous"])
    assert ids(previous) == pages[1]


def test_page_size_is_capped_at_500_and_bad_sizes_fall_back(manager):
    Customer.objects.bulk_create(Customer(name=f"C{n:03d}") for n in range(501))
    client = api(manager)
    assert len(ids(client.get(f"{CUSTOMERS}?page_size=100000000000000000000"))) == 500
    assert len(ids(client.get(f"{CUSTOMERS}?page_size=abc"))) == 100
    assert len(ids(client.get(f"{CUSTOMERS}?page_size=-5"))) == 100
    assert len(ids(client.get(CUSTOMERS))) == 100


def test_a_cursor_that_was_not_given_out_is_a_404_not_a_500(manager):
    response = api(manager).get(f"{CUSTOMERS}?cursor=%C2%B2garbage")
    assert response.status_code == 404
    assert response.json() == {"detail": "Invalid cursor"}


# --- Filters: the customer list's own --------------------------------------------------


def test_customer_filters_are_the_lists(manager, other_manager):
    """q searches name, email and company; status, owner (me / none / an id), tag and
    archived filter as on the list; archived customers are left out by default."""
    vip = TagFactory(name="vip")
    mine = CustomerFactory(name="Grace Hopper", owner=manager, status="active", tags=[vip])
    theirs = CustomerFactory(name="Alan Turing", owner=other_manager, status="lead")
    nobodys = CustomerFactory(name="Edsger Dijkstra", owner=None, status="active")
    gone = CustomerFactory(name="Old One", owner=manager, archived_at=timezone.now())
    client = api(manager)

    def found(query: str) -> set[int]:
        response = client.get(f"{CUSTOMERS}?{query}")
        assert response.status_code == 200, response.json()
        return set(ids(response))

    assert found("") == {mine.pk, theirs.pk, nobodys.pk}
    assert found("q=hopper") == {mine.pk}
    assert found(f"q={theirs.company.name.lower()}") == {theirs.pk}
    assert found("status=active") == {mine.pk, nobodys.pk}
    assert found("owner=me") == {mine.pk}
    assert found("owner=none") == {nobodys.pk}
    assert found(f"owner={other_manager.pk}") == {theirs.pk}
    assert found(f"tag={vip.pk}") == {mine.pk}
    assert found("archived=only") == {gone.pk}
    assert found("archived=all") == {mine.pk, theirs.pk, nobodys.pk, gone.pk}


def test_a_bad_filter_value_is_a_field_error(manager):
    response = api(manager).get(f"{CUSTOMERS}?status=sleeping&tag=%C2%B2")
    assert response.status_code == 400
    assert set(response.json()) == {"status", "tag"}


def test_interaction_filters(manager, customer):
    other = CustomerFactory()
    now = timezone.now()
    old_call = InteractionFactory(customer=customer, occurred_at=now - timedelta(days=10))
    email = InteractionFactory(customer=customer, kind="email", occurred_at=now - timedelta(days=2))
    InteractionFactory(customer=other)
    client = api(manager)
    assert set(ids(client.get(f"{INTERACTIONS}?customer={customer.pk}"))) == {
        old_call.pk,
        email.pk,
    }
    assert ids(client.get(f"{INTERACTIONS}?customer={customer.pk}&kind=email")) == [email.pk]
    after = (now - timedelta(days=5)).isoformat().replace("+00:00", "Z")
    assert ids(client.get(f"{INTERACTIONS}?customer={customer.pk}&occurred_after={after}")) == [
        email.pk
    ]
    assert ids(client.get(f"{INTERACTIONS}?customer={customer.pk}&occurred_before={after}")) == [
        old_call.pk
    ]
    response = client.get(f"{INTERACTIONS}?customer=%C2%B2&occurred_after=yesterday")
    assert response.status_code == 400
    assert set(response.json()) == {"customer", "occurred_after"}


# --- Customers: written through the customer form ----------------------------------------


def test_creating_a_customer_works_as_the_form(manager):
    """Given a manager, when they create a customer with a company name and tags, then the
    company and tags exist, the email is lower-cased, the owner defaults to them (as the
    form's initial value), search text is filled and the first status is recorded."""
    response = api(manager).post(
        CUSTOMERS,
        {
            "name": "Katherine Johnson",
            "email": "KJ@Example.org",
            "company": "NASA",
            "tags": ["vip", "space"],
            "status": "active",
            "monthly_value": "120.00",
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert (body["company"], sorted(body["tags"]), body["email"]) == (
        "NASA",
        ["space", "vip"],
        "kj@example.org",
    )
    assert customer.owner == manager
    assert customer.search_text == "katherine johnson kj@example.org nasa"
    assert list(StatusChange.objects.filter(customer=customer).values_list("to_status", flat=True))
    assert body["monthly_value"] == "120.00"


def test_customer_form_errors_come_back_under_the_apis_field_names(manager, customer):
    client = api(manager)
    response = client.post(
        CUSTOMERS, {"name": "Twin", "email": "ADA@example.org", "owner": None}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "email": ["Another customer already has this email address: Ada Lovelace."]
    }
    response = client.post(CUSTOMERS, {"name": "Twin", "tags": ["x" * 51]}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["tags"]
    assert Customer.objects.count() == 1


@pytest.mark.parametrize(
    "body",
    [
        {"name": ["a", "list"]},
        {"name": "X", "monthly_value": "lots"},
        {"name": "X", "monthly_value": "-1"},
        {"name": "X", "owner": "²"},
        {"name": "X", "owner": 10**30},
        {"name": "X", "customer_since": "31/01/2024"},
        {"name": "X", "status": "sleeping"},
        {"name": "X", "tags": "vip"},
        {"name": "X", "marketing_consent": "perhaps"},
        {"name": ""},
        {},
    ],
)
def test_wrong_types_are_field_errors_never_a_500(manager, body):
    response = api(manager).post(CUSTOMERS, body, format="json")
    assert response.status_code == 400, response.content
    assert isinstance(response.json(), dict)
    assert not Customer.objects.exists()


def test_malformed_json_is_a_400(manager):
    response = api(manager).post(CUSTOMERS, data="{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON parse error" in response.json()["detail"]


def test_an_account_manager_cannot_hand_a_customer_to_someone_else(
    manager, other_manager, customer
):
    response = api(manager).patch(
        f"{CUSTOMERS}{customer.pk}/", {"owner": other_manager.pk}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["owner"]


def test_patch_changes_only_the_fields_sent(manager, customer):
    """Given a customer with tags, a company and a plan, when only the status is patched to
    churned, then the rest is kept, churned_on is today and the change is recorded."""
    customer.tags.set([TagFactory(name="vip")])
    before = {"plan": customer.plan, "company": customer.company_id, "email": customer.email}
    response = api(manager).patch(
        f"{CUSTOMERS}{customer.pk}/", {"status": "churned"}, format="json"
    )
    assert response.status_code == 200, response.json()
    customer.refresh_from_db()
    assert {"plan": customer.plan, "company": customer.company_id, "email": customer.email} == (
        before
    )
    assert response.json()["tags"] == ["vip"]
    assert customer.churned_on == timezone.localdate()
    assert StatusChange.objects.filter(
        customer=customer, from_status="active", to_status="churned"
    ).exists()


def test_archiving_hides_the_customer_from_the_list(manager, customer):
    client = api(manager)
    response = client.post(f"{CUSTOMERS}{customer.pk}/archive/")
    assert response.status_code == 200
    assert response.json()["archived_at"] is not None
    assert ids(client.get(CUSTOMERS)) == []
    assert client.get(f"{CUSTOMERS}{customer.pk}/").status_code == 200  # still found by id
    client.post(f"{CUSTOMERS}{customer.pk}/unarchive/")
    assert ids(client.get(CUSTOMERS)) == [customer.pk]


def test_an_unknown_company_id_is_a_404_and_a_duplicate_name_a_field_error(manager):
    client = api(manager)
    assert client.get("/api/v1/companies/%C2%B2/").status_code == 404
    assert client.post("/api/v1/companies/", {"name": "Acme"}, format="json").status_code == 201
    response = client.post("/api/v1/companies/", {"name": "Acme"}, format="json")
    assert response.status_code == 400 and list(response.json()) == ["name"]


# --- Interactions: logged through the page's service ---------------------------------------


def test_a_purchase_logged_through_the_api_shows_in_the_timeline_and_earns_points(
    staff_user, staff_client, customer
):
    """Given a customer, when staff log a purchase of 120.50 through the API, then it is on
    the customer page's timeline, their last contact is its moment, it was recorded by that
    user, and it earned 120 points (1 per unit, rounded down) as a purchase on the page."""
    LoyaltySettings.objects.update_or_create(
        pk=1, defaults={"purchases_since": timezone.localdate() - timedelta(days=30)}
    )
    moment = timezone.now().replace(microsecond=0) - timedelta(hours=2)
    response = api(staff_user).post(
        INTERACTIONS,
        {
            "customer": customer.pk,
            "kind": "purchase",
            "subject": "Order 1042",
            "amount": "120.50",
            "occurred_at": moment.isoformat(),
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    interaction = Interaction.objects.get(pk=response.json()["id"])
    assert interaction.recorded_by == staff_user
    customer.refresh_from_db()
    assert customer.last_interaction_at == moment
    page = staff_client.get(reverse("customers:detail", args=[customer.pk]))
    assert "Order 1042" in page.content.decode()
    assert PointsAccount.objects.get(customer=customer).balance == 120
    assert PointsEntry.objects.get().source_key == f"purchase:{interaction.pk}"


def test_external_ids_are_kept_and_unique(manager, customer):
    """A customer's and an interaction's external id are stored; a second customer or
    interaction with the same one is a field error naming it, and nothing is written."""
    client = api(manager)
    response = client.patch(f"{CUSTOMERS}{customer.pk}/", {"external_id": " K-1 "}, format="json")
    assert response.json()["external_id"] == "K-1"
    response = client.post(CUSTOMERS, {"name": "Other", "external_id": "K-1"}, format="json")
    assert response.status_code == 400
    assert response.json() == {
        "external_id": ["Another customer already has this external id: Ada Lovelace."]
    }
    order = {"customer": customer.pk, "kind": "call", "subject": "Hi", "external_id": "O-7"}
    assert client.post(INTERACTIONS, order, format="json").json()["external_id"] == "O-7"
    response = client.post(INTERACTIONS, order, format="json")
    assert response.status_code == 400 and list(response.json()) == ["external_id"]
    assert Interaction.objects.count() == 1


def test_a_refund_is_stored_negative(manager, customer):
    body = {"customer": customer.pk, "kind": "refund", "subject": "Returned", "amount": "12.99"}
    response = api(manager).post(INTERACTIONS, body, format="json")
    assert response.status_code == 201, response.json()
    stored = Interaction.objects.get()
    assert (stored.kind, abs(stored.amount)) == ("refund", Decimal("12.99"))
    assert Decimal(response.json()["amount"]) == stored.amount  # as the model's rule stores it


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "purchase", "subject": "No amount"}, "amount"),
        ({"kind": "call", "subject": "Call", "amount": "10"}, "amount"),
        (
            {"kind": "call", "subject": "Later", "occurred_at": "2999-01-01T00:00:00Z"},
            "occurred_at",
        ),
        ({"kind": "teleport", "subject": "Beam"}, "kind"),
        ({"kind": "purchase", "subject": "Abc", "amount": "abc"}, "amount"),
        ({"kind": "call", "subject": ""}, "subject"),
        ({"kind": "call", "subject": "x", "occurred_at": "soon"}, "occurred_at"),
    ],
)
def test_bad_interactions_are_field_errors_and_write_nothing(staff_user, customer, body, field):
    response = api(staff_user).post(INTERACTIONS, {"customer": customer.pk, **body}, format="json")
    assert response.status_code == 400, response.json()
    assert field in response.json()
    assert not Interaction.objects.exists()
    customer.refresh_from_db()
    assert customer.last_interaction_at is None


@pytest.mark.parametrize("customer_id", ["²", 999999, None, 10**30, "1.5"])
def test_an_unknown_customer_for_an_interaction_is_a_field_error(staff_user, customer_id):
    body = {"customer": customer_id, "kind": "call", "subject": "Hi"}
    response = api(staff_user).post(INTERACTIONS, body, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["customer"]


# --- Schema, docs page, token page -------------------------------------------------------


def test_the_schema_is_served_as_openapi(manager):
    response = api(manager).get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert "/api/v1/customers/{id}/archive/" in schema["paths"]
    assert "tokenAuth" in schema["components"]["securitySchemes"]


def test_the_schema_generates_without_warnings(capsys):
    from django.core.management import call_command

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")


def test_the_docs_page_serves_swagger_ui_from_static(manager_client):
    response = manager_client.get(reverse("api:docs"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "http://" not in html and "https://" not in html and "//cdn" not in html


def test_the_docs_page_needs_a_login_and_a_role(client, roleless_user):
    response = client.get(reverse("api:docs"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    client.force_login(roleless_user)
    assert client.get(reverse("api:docs")).status_code == 403


def test_the_token_page_shows_a_new_token_once_and_replaces_the_old(manager, manager_client):
    """Given a manager, when they create a token, it is shown once and works; when they
    create another, the first stops working; the page never shows a key again."""
    url = reverse("api:token")
    assert "You have no token yet." in manager_client.get(url).content.decode()
    first = manager_client.post(url)
    key = Token.objects.get(user=manager).key
    assert key in first.content.decode()
    assert first["Cache-Control"] == "no-store"
    assert key not in manager_client.get(url).content.decode()
    by_token = api()
    by_token.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    assert by_token.get(CUSTOMERS).status_code == 200
    manager_client.post(url)
    assert Token.objects.filter(user=manager).count() == 1
    assert by_token.get(CUSTOMERS).status_code == 401
