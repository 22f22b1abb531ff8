"""The REST API's access rules: token authentication, and the pages' roles over every
endpoint (no role: 403 everywhere; staff read and log; account managers change their
own customers; admins everything)."""

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from django.utils import timezone
from django.utils.html import escape
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from customers.models import Customer
from retention.loyalty import ledger
from retention.models import CustomerRisk, PointsEntry
from surveys.models import SurveyResponse

from .factories import CustomerFactory, InteractionFactory, RewardFactory
from .factories_surveys import invitation_with_token, nps_survey
from .test_permission_matrix import walk

pytestmark = pytest.mark.django_db

CHANGE_REFUSED = "Only this customer's account manager or an admin can change it."


def api(user=None) -> APIClient:
    """A client that sends `user`'s token (none for anonymous)."""
    client = APIClient()
    if user is not None:
        token, _created = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def objects(customer):
    """One of each object the endpoints read; ids for the detail URLs."""
    interaction = InteractionFactory(customer=customer)
    CustomerRisk.objects.create(
        customer=customer,
        score=40,
        level="medium",
        computed_for=timezone.localdate(),
        level_since=timezone.localdate(),
    )
    ledger.points_earn(customer=customer, points=50, reason="Bonus", source_key="t:1")
    survey = nps_survey()
    invitation, _token = invitation_with_token(survey, customer)
    response = SurveyResponse.objects.create(
        invitation=invitation,
        survey=survey,
        customer=customer,
        language="en",
        submitted_at=timezone.now(),
        nps_score=9,
    )
    return {
        "response": response,
        "customer": customer,
        "interaction": interaction,
        "survey": survey,
        "entry": PointsEntry.objects.get(),
        "reward": RewardFactory(points_price=10),
    }


def read_urls(objects) -> dict[str, str]:
    """Every named API route a GET reads, with a concrete URL."""
    customer = objects["customer"]
    return {
        "api:customer-list": reverse("api:customer-list"),
        "api:customer-detail": reverse("api:customer-detail", args=[customer.pk]),
        "api:company-list": reverse("api:company-list"),
        "api:company-detail": reverse("api:company-detail", args=[customer.company_id]),
        "api:interaction-list": reverse("api:interaction-list"),
        "api:interaction-detail": reverse(
            "api:interaction-detail", args=[objects["interaction"].pk]
        ),
        "api:risk-list": reverse("api:risk-list"),
        "api:risk-detail": reverse("api:risk-detail", args=[customer.pk]),
        "api:survey-list": reverse("api:survey-list"),
        "api:survey-detail": reverse("api:survey-detail", args=[objects["survey"].pk]),
        "api:survey-response-list": reverse("api:survey-response-list"),
        "api:survey-response-detail": reverse(
            "api:survey-response-detail", args=[objects["response"].pk]
        ),
        "api:points-account-list": reverse("api:points-account-list"),
        "api:points-account-detail": reverse("api:points-account-detail", args=[customer.pk]),
        "api:points-entry-list": reverse("api:points-entry-list"),
        "api:points-entry-detail": reverse("api:points-entry-detail", args=[objects["entry"].pk]),
        "api:reward-list": reverse("api:reward-list"),
        "api:reward-detail": reverse("api:reward-detail", args=[objects["reward"].pk]),
        "api:schema": reverse("api:schema"),
    }


def write_urls(objects) -> dict[str, str]:
    customer = objects["customer"]
    return {
        "api:customer-archive": reverse("api:customer-archive", args=[customer.pk]),
        "api:customer-unarchive": reverse("api:customer-unarchive", args=[customer.pk]),
        "api:points-account-adjust": reverse("api:points-account-adjust", args=[customer.pk]),
        "api:points-account-redeem": reverse("api:points-account-redeem", args=[customer.pk]),
        "api:usage": reverse("api:usage"),
    }


def test_the_matrix_covers_every_api_route(objects):
    """Every route under /api/ is in the matrix but the token and docs pages, which are
    staff pages with a login (tests/test_permission_matrix.py checks those)."""
    api_routes = {name for name, _route in walk(get_resolver()) if name.startswith("api:")}
    covered = set(read_urls(objects)) | set(write_urls(objects))
    # The inbound webhook takes no token but a signature: tests/test_webhooks.py.
    assert api_routes - {"api:docs", "api:token", "api:webhook"} == covered


# --- Authentication -------------------------------------------------------------------


def test_without_a_token_every_endpoint_is_401(objects):
    """Given no credentials, when any endpoint is called, then 401 and nothing is shown."""
    client = api()
    for name, url in {**read_urls(objects), **write_urls(objects)}.items():
        method = client.post if name in write_urls(objects) else client.get
        response = method(url)
        assert response.status_code == 401, name
        assert response["WWW-Authenticate"] == "Token", name


def test_a_wrong_token_is_401(objects):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    response = client.get(reverse("api:customer-list"))
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid token."}


def test_a_token_of_a_deactivated_user_is_401(manager):
    client = api(manager)
    manager.is_active = False
    manager.save()
    assert client.get(reverse("api:customer-list")).status_code == 401


def test_a_user_without_a_role_gets_403_everywhere(roleless_user, objects):
    """Given a valid token of a user with no role, every endpoint answers 403 with the
    pages' reason, reads and writes alike."""
    client = api(roleless_user)
    urls = {**read_urls(objects), **write_urls(objects)}
    for name, url in urls.items():
        method = client.post if name in write_urls(objects) else client.get
        response = method(url, {}, format="json")
        assert response.status_code == 403, name
        reason = "Your account has no role in this CRM yet; ask an admin."
        assert reason in response.content.decode(), name
    for url in (reverse("api:customer-list"), reverse("api:interaction-list")):
        assert client.post(url, {"name": "X"}, format="json").status_code == 403


# --- Reading ----------------------------------------------------------------------------


SURVEY_ROUTES = {
    "api:survey-list",
    "api:survey-detail",
    "api:survey-response-list",
    "api:survey-response-detail",
}


@pytest.mark.parametrize("persona", ["staff_user", "manager", "other_manager", "admin_user"])
def test_every_role_reads_what_its_pages_show(request, persona, objects):
    """Every role reads customers, interactions, risk and loyalty; survey results are for
    the roles the survey pages let in (account managers and admins), as on the pages."""
    user = request.getfixturevalue(persona)
    client = api(user)
    for name, url in read_urls(objects).items():
        expected = 403 if persona == "staff_user" and name in SURVEY_ROUTES else 200
        assert client.get(url).status_code == expected, (persona, name)


# --- Changing customers -----------------------------------------------------------------


def patch(client, customer, **data):
    return client.patch(reverse("api:customer-detail", args=[customer.pk]), data, format="json")


def test_staff_cannot_create_or_change_customers(staff_user, customer):
    client = api(staff_user)
    response = client.post(reverse("api:customer-list"), {"name": "New"}, format="json")
    assert response.status_code == 403
    assert response.json()["detail"] == "Your role does not allow this."
    response = patch(client, customer, name="Renamed")
    assert response.status_code == 403
    assert response.json()["detail"] == CHANGE_REFUSED
    archive = reverse("api:customer-archive", args=[customer.pk])
    assert client.post(archive).status_code == 403
    customer.refresh_from_db()
    assert (customer.name, customer.archived_at) == ("Ada Lovelace", None)


def test_an_account_manager_cannot_change_another_managers_customer(manager, others_customer):
    """Refused as the edit page refuses it: 403 with the same reason, nothing changed."""
    client = api(manager)
    response = patch(client, others_customer, name="Mine now")
    assert response.status_code == 403
    assert response.json() == {"detail": CHANGE_REFUSED}
    page = Client()
    page.force_login(manager)
    edit = page.get(reverse("customers:edit", args=[others_customer.pk]))
    assert edit.status_code == 403 and escape(CHANGE_REFUSED) in edit.content.decode()
    adjust = reverse("api:points-account-adjust", args=[others_customer.pk])
    response = client.post(adjust, {"points": 10, "reason": "x"}, format="json")
    assert response.status_code == 403
    others_customer.refresh_from_db()
    assert others_customer.name == "Charles Babbage"
    assert not PointsEntry.objects.exists()


def test_an_account_manager_changes_own_and_unassigned_customers(manager, customer):
    client = api(manager)
    assert patch(client, customer, plan="Pro").status_code == 200
    unassigned = CustomerFactory(owner=None)
    assert patch(client, unassigned, plan="Pro").status_code == 200
    assert Customer.objects.filter(plan="Pro").count() == 2


def test_an_admin_changes_anyones_customer(admin_user, others_customer):
    response = patch(api(admin_user), others_customer, monthly_value="99.50")
    assert response.status_code == 200
    others_customer.refresh_from_db()
    assert others_customer.monthly_value == Decimal("99.50")


def test_an_unknown_customer_is_404_for_every_role(manager):
    client = api(manager)
    for url in (
        reverse("api:customer-detail", args=[999999]),
        "/api/v1/customers/%C2%B2/",  # "²"
        "/api/v1/customers/1.5/",
        "/api/v1/customers/99999999999999999999999/",
    ):
        assert client.get(url).status_code == 404, url
        assert patch(client, Customer(pk=999999), name="x").status_code == 404


# --- Interactions, companies -----------------------------------------------------------


def test_staff_log_interactions_on_any_customer(staff_user, others_customer):
    response = api(staff_user).post(
        reverse("api:interaction-list"),
        {"customer": others_customer.pk, "kind": "call", "subject": "Hello"},
        format="json",
    )
    assert response.status_code == 201


def test_staff_cannot_create_companies_but_managers_can(staff_user, manager):
    url = reverse("api:company-list")
    response = api(staff_user).post(url, {"name": "Acme"}, format="json")
    assert response.status_code == 403
    assert api(manager).post(url, {"name": "Acme"}, format="json").status_code == 201
