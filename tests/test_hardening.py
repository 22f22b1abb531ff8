"""Review findings (issue 17): digits that are not ASCII, huge ids, `next` to other sites,
archiving a customer a merge removed. Each test sits on the edge the finding was about."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from customers import access, services
from customers.links import make_token
from customers.models import Customer
from customers.params import MAX_ID, parse_id, safe_next
from retention.loyalty import card, ledger, redemption
from retention.models import CustomerRisk
from retention.onboarding import checklists

from .factories import ChecklistTemplateFactory, CustomerFactory, RewardFactory
from .outbox_helpers import make_template

pytestmark = pytest.mark.django_db
HOSTILE_DIGITS = ["²", "①", "٣", "١٢", "𝟙"]


# --- parse_id ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", 1),
        ("42", 42),
        (str(MAX_ID), MAX_ID),  # exactly on the limit: PostgreSQL's bigint holds it
        (str(MAX_ID + 1), None),
        ("99999999999999999999999", None),
        ("0", None),
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("1 ", None),
        ("1e9", None),
        ("1.0", None),
        ("", None),
        (None, None),
        *[(digit, None) for digit in HOSTILE_DIGITS],
    ],
)
def test_parse_id_takes_ascii_digits_within_bigint_only(text, expected):
    """Given text from a request, when read as an id, then only 1..2**63-1 in ASCII digits
    is an id: "²".isdigit() is True but int("²") raises, int("٣") is 3."""
    assert parse_id(text) == expected


# --- Item 2: the pages that answered 500 ------------------------------------------------


@pytest.mark.parametrize("value", [*HOSTILE_DIGITS, "99999999999999999999999"])
def test_the_loyalty_card_ignores_an_issued_id_that_is_no_number(client, value):
    """Given the customer's card link, when `?issued=²` is added, then the card opens
    (200) without a highlighted coupon instead of a server error."""
    customer = CustomerFactory()
    response = client.get(card.card_url(customer), {"issued": value})
    assert response.status_code == 200
    assert response.context["issued_id"] is None


def test_the_loyalty_card_still_highlights_a_real_issued_coupon(client):
    customer = CustomerFactory()
    response = client.get(card.card_url(customer), {"issued": "7"})
    assert response.context["issued_id"] == 7


@pytest.mark.parametrize("value", [*HOSTILE_DIGITS, "99999999999999999999999", "0", "-1"])
def test_the_onboarding_page_refuses_a_step_that_is_no_number(client, value):
    """Given a customer's onboarding link, when the form posts `step=²`, then the friendly
    bad-link page answers (404) and no step is done."""
    customer = CustomerFactory(status=Customer.Status.ONBOARDING)
    checklist = checklists.checklist_start(customer=customer, template=ChecklistTemplateFactory())
    url = reverse("onboarding_public", args=[make_token(checklists.LINK_PURPOSE, customer.pk)])
    response = client.post(url, {"step": value})
    assert response.status_code == 404
    assert not checklist.steps.filter(completed_at__isnull=False).exists()


@pytest.mark.parametrize("value", [*HOSTILE_DIGITS, "99999999999999999999999"])
def test_the_email_template_preview_finds_no_customer_for_an_id_that_is_no_number(
    manager_client, value
):
    """Given the template form, when the preview is asked for customer "²", then it says
    no customer was found instead of a server error."""
    CustomerFactory(email="ada@example.org")
    data = {
        "language": "en",
        "subject": "Hi",
        "body_text": "Hello {{ first_name }}",
        "body_html": "",
        "preview_customer": value,
    }
    response = manager_client.post(reverse("retention:email_template_preview"), data)
    assert response.status_code == 200
    assert "No customer found" in response.content.decode()


def test_the_email_template_preview_still_finds_a_customer_by_id(manager_client):
    customer = CustomerFactory(name="Ada Lovelace")
    data = {"language": "en", "subject": "Hi", "body_text": "Hello", "body_html": ""}
    response = manager_client.post(
        reverse("retention:email_template_preview"), {**data, "preview_customer": customer.pk}
    )
    assert "Rendered for Ada Lovelace" in response.content.decode()


@pytest.mark.parametrize("pk", ["99999999999999999999", str(MAX_ID + 1), str(MAX_ID)])
def test_a_huge_customer_id_in_the_address_is_404(admin_client, pk):
    """Given an id past PostgreSQL's bigint in the address, when the page is opened, then
    it is a 404 like any unknown customer (not an overflow in the database)."""
    assert admin_client.get(f"/customers/{pk}/").status_code == 404
    assert admin_client.post(f"/customers/{pk}/archive/").status_code == 404


# --- Item 4: next -------------------------------------------------------------------------


def _request(host="crm.example.com", secure=False, **post):
    request = RequestFactory().post("/", post, HTTP_HOST=host, secure=secure)
    return request


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/",
        "///evil.example/",
        "\\\\evil.example/",
        "/\\evil.example/",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,hi",
        "http://crm.example.com/customers/",  # our host, but http on an https request
        "²",  # a bare word: redirect() would look it up as a view name (a 500)
        "12",
        "",
    ],
)
def test_safe_next_refuses_other_sites_and_schemes(target):
    """Given a `next` pointing elsewhere (or nowhere), then the default is used."""
    request = _request(secure=True, next=target)
    assert safe_next(request, "/default/") == "/default/"


@pytest.mark.parametrize(
    "target", ["/customers/", "/customers/?page=2#list", "https://crm.example.com/customers/"]
)
def test_safe_next_keeps_an_address_on_this_site(target):
    request = _request(secure=True, next=target)
    assert safe_next(request, "/default/") == target


def _open_case(owner) -> CustomerRisk:
    customer = CustomerFactory(owner=owner)
    today = timezone.localdate()
    return CustomerRisk.objects.create(
        customer=customer,
        score=50,
        level="medium",
        base=10,
        value=Decimal("100"),
        expected_loss=Decimal("50"),
        flags=[],
        computed_for=today,
        level_since=today - timedelta(days=4),
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("https://evil.example/", "/retention/queue/?owner=me&open={pk}#case-{pk}"),
        ("//evil.example/", "/retention/queue/?owner=me&open={pk}#case-{pk}"),
        ("javascript:alert(1)", "/retention/queue/?owner=me&open={pk}#case-{pk}"),
        ("/customers/", "/customers/"),
        (
            "/retention/queue/?level=high",
            "/retention/queue/?level=high&owner=me&open={pk}#case-{pk}",
        ),
    ],
)
def test_the_queue_row_actions_return_only_to_this_site(manager_client, manager, target, expected):
    """Given a row action posted with `next`, when it is done, then the redirect goes to
    `next` only if it stays on this site, else to the queue (never a 500 or another host);
    on the queue, the row acted on is open."""
    case = _open_case(manager)
    response = manager_client.post(
        reverse("retention:case_action", args=[case.customer.pk, "claim"]), {"next": target}
    )
    assert response.status_code == 302
    assert response["Location"] == expected.format(pk=case.customer.pk)


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("//evil.example/", "/retention/loyalty/coupons/"),
        ("https://evil.example/x", "/retention/loyalty/coupons/"),
        ("javascript:alert(1)", "/retention/loyalty/coupons/"),
        ("/customers/", "/customers/"),
    ],
)
def test_marking_a_coupon_used_returns_only_to_this_site(manager_client, target, expected):
    customer = CustomerFactory()
    reward = RewardFactory(points_price=10)
    ledger.points_adjust(customer=customer, points=10, reason="gift", author=None)
    coupon = redemption.reward_redeem(customer=customer, reward=reward)
    response = manager_client.post(
        reverse("retention:loyalty_coupon_use", args=[coupon.pk]), {"next": target}
    )
    assert response["Location"] == expected


@pytest.mark.parametrize(
    ("target", "expected"), [("//evil.example/", None), ("/customers/", "/customers/")]
)
def test_sending_a_follow_up_returns_only_to_this_site(
    manager_client, manager, settings, target, expected
):
    settings.FOLLOWUP_QUIET_HOURS_START = settings.FOLLOWUP_QUIET_HOURS_END = 0
    customer = CustomerFactory(owner=manager, marketing_consent=True)
    template = make_template("Next test")
    url = reverse("retention:send_followup", args=[customer.pk])
    response = manager_client.post(url, {"template": template.pk, "next": target})
    assert response.status_code == 302, response.content.decode()[:500]
    assert response["Location"] == (expected or customer.get_absolute_url())


# --- Item 5: archiving a customer a merge removed ----------------------------------------


def test_archiving_a_customer_merged_away_meanwhile_is_404(admin_client, admin_user, monkeypatch):
    """Given the archive button pressed while a merge removes that customer (after the
    page's access check, before the write), then the answer is a 404 and the survivor is
    untouched, not a server error."""
    survivor = CustomerFactory(name="Kept")
    duplicate = CustomerFactory(name="Merged away")
    real_check = access.get_customer_for_user

    def check_then_merge(user, pk, **kwargs):
        customer = real_check(user, pk, **kwargs)
        services.customer_merge(survivor=survivor, duplicate=customer, merged_by=admin_user)
        return customer

    monkeypatch.setattr(access, "get_customer_for_user", check_then_merge)
    response = admin_client.post(reverse("customers:archive", args=[duplicate.pk]))
    assert response.status_code == 404
    survivor.refresh_from_db()
    assert survivor.archived_at is None
    assert not Customer.objects.filter(pk=duplicate.pk).exists()


def test_archiving_after_a_merge_removed_the_customer_is_404(admin_client, admin_user):
    """Given a customer page left open while a merge removed it, when Archive is pressed,
    then it is a 404."""
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    services.customer_merge(survivor=survivor, duplicate=duplicate, merged_by=admin_user)
    assert admin_client.post(reverse("customers:archive", args=[duplicate.pk])).status_code == 404
    assert admin_client.post(reverse("customers:unarchive", args=[duplicate.pk])).status_code == 404
