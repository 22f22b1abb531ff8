"""Loyalty pages: the points card, overview, rewards, coupons, and the customer's own card."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.links import make_token
from retention.loyalty import ledger, redemption
from retention.loyalty.card import card_url
from retention.models import Coupon, LoyaltySettings, PointsAccount, PointsEntry, Reward

from .factories import CustomerFactory, RewardFactory

pytestmark = pytest.mark.django_db


def give(customer, points: int, key: str) -> None:
    ledger.points_earn(customer=customer, points=points, reason=f"Bonus {key}", source_key=key)


def balance(customer) -> int:
    return PointsAccount.objects.get(customer=customer).balance


# --- The card on the customer page -------------------------------------------------------


def test_the_customer_page_shows_the_points_card(manager_client, customer):
    give(customer, 620, "welcome")
    ledger.award_feedback(customer=customer, response_id=1)
    redemption.reward_redeem(customer=customer, reward=RewardFactory(name="Free shipping"))
    html = manager_client.get(customer.get_absolute_url()).content.decode()
    assert 'data-testid="loyalty-card"' in html
    assert 'data-testid="points-balance">545<' in html  # 620 + 25 - 100
    assert 'data-testid="tier">Silver<' in html
    assert "Survey answered" in html
    assert "1355 more to Gold" in html
    assert "Free shipping" in html and "Mark used" in html
    assert "/retention/loyalty/card/" in html  # the signed link to send


def test_the_points_card_costs_a_fixed_number_of_queries(
    admin_client, customer, django_assert_max_num_queries
):
    give(customer, 5000, "start")
    url = customer.get_absolute_url()
    with django_assert_max_num_queries(60) as few:
        admin_client.get(url)
    reward = RewardFactory(points_price=1)
    for number in range(30):
        give(customer, 10, f"more-{number}")
        redemption.reward_redeem(customer=customer, reward=reward)
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(url)


def test_the_whole_history_is_paginated(staff_client, customer, django_assert_max_num_queries):
    for number in range(30):
        give(customer, 1, f"h{number}")
    url = reverse("retention:loyalty_history", args=[customer.pk])
    response = staff_client.get(url)
    assert len(response.context["page"].object_list) == 25
    assert staff_client.get(url, {"page": 2}).context["page"].object_list[0].reason == "Bonus h4"
    partial = staff_client.get(url, headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode()
    with django_assert_max_num_queries(20) as few:
        staff_client.get(url)
    for number in range(40):
        give(customer, 1, f"more{number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        staff_client.get(url)


def test_the_owner_adjusts_points_with_a_reason(manager_client, customer, manager):
    give(customer, 50, "start")
    url = reverse("retention:loyalty_adjust", args=[customer.pk])
    response = manager_client.post(url, {"points": "-20", "reason": "Refunded order"})
    assert response.status_code == 302
    assert balance(customer) == 30
    entry = PointsEntry.objects.filter(kind="adjust").get()
    assert (entry.points, entry.author, entry.reason) == (-20, manager, "Refunded order")


def test_an_adjustment_below_zero_shows_the_error_in_place_and_keeps_the_input(
    manager_client, customer
):
    give(customer, 50, "start")
    url = reverse("retention:loyalty_adjust", args=[customer.pk])
    response = manager_client.post(url, {"points": "-80", "reason": "Too much"})
    assert response.status_code == 422
    html = response.content.decode()
    assert "Not enough points: the balance is 50" in html
    assert 'value="Too much"' in html  # nothing typed is lost
    assert balance(customer) == 50
    # The same with htmx: only the card comes back.
    response = manager_client.post(
        url, {"points": "0", "reason": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 422
    html = response.content.decode()
    assert html.lstrip().startswith('<div class="card" id="loyalty-card"')
    assert "Enter a number of points other than 0." in html
    assert "This field is required." in html


def test_htmx_adjustment_returns_the_updated_card(manager_client, customer):
    url = reverse("retention:loyalty_adjust", args=[customer.pk])
    response = manager_client.post(
        url, {"points": "15", "reason": "Goodwill"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert 'data-testid="points-balance">15<' in response.content.decode()


def test_staff_and_other_managers_cannot_adjust(staff_client, client, other_manager, customer):
    url = reverse("retention:loyalty_adjust", args=[customer.pk])
    assert staff_client.post(url, {"points": "5", "reason": "x"}).status_code == 403
    client.force_login(other_manager)
    assert client.post(url, {"points": "5", "reason": "x"}).status_code == 403
    assert not PointsEntry.objects.exists()
    html = staff_client.get(customer.get_absolute_url()).content.decode()
    assert "Adjust points" not in html


def test_a_referral_is_recorded_from_the_customer_page(manager_client, customer):
    LoyaltySettings.objects.update_or_create(pk=1, defaults={"referral_bonus": 200})
    CustomerFactory(name="Grace Hopper", email="grace@example.org")
    url = reverse("retention:loyalty_referral", args=[customer.pk])
    assert manager_client.post(url, {"referred_email": "GRACE@example.org"}).status_code == 302
    assert balance(customer) == 200
    again = manager_client.post(url, {"referred_email": "grace@example.org"})
    assert again.status_code == 422
    assert "referral was already rewarded" in again.content.decode()
    unknown = manager_client.post(url, {"referred_email": "nobody@example.org"})
    assert "No customer has this email" in unknown.content.decode()
    assert balance(customer) == 200


# --- Overview, rewards, coupons ----------------------------------------------------------


def test_overview_shows_top_customers_and_monthly_points(
    staff_client, customer, django_assert_max_num_queries
):
    give(customer, 900, "big")
    redemption.reward_redeem(customer=customer, reward=RewardFactory(points_price=300))
    with django_assert_max_num_queries(30) as few:
        response = staff_client.get(reverse("retention:loyalty"))
    assert response.status_code == 200
    assert [account.customer for account in response.context["top"]] == [customer]
    this_month = response.context["months"][-1]
    assert (this_month["issued"], this_month["redeemed"]) == (900, 300)
    assert len(response.context["months"]) == 12
    assert response.context["chart"]["issued"][-1] == 900
    assert "chart.umd.min.js" in response.content.decode()
    for number in range(15):
        other = CustomerFactory()
        give(other, 10 + number, f"o{number}")
    with django_assert_max_num_queries(len(few.captured_queries)):
        staff_client.get(reverse("retention:loyalty"))


def test_the_navigation_links_to_loyalty(staff_client):
    html = staff_client.get(reverse("customers:list")).content.decode()
    assert f'href="{reverse("retention:loyalty")}"' in html


def test_admins_manage_the_catalogue_with_field_errors(admin_client):
    url = reverse("retention:loyalty_reward_create")
    response = admin_client.post(
        url, {"name": "Half off", "kind": "percent_off", "value": "150", "points_price": "500"}
    )
    assert response.status_code == 422
    assert "A percentage is at most 100." in response.content.decode()
    response = admin_client.post(
        url,
        {
            "name": "Free month",
            "kind": "free_month",
            "points_price": "800",
            "stock": "3",
            "active": "on",
        },
    )
    assert response.status_code == 302
    reward = Reward.objects.get()
    assert (reward.kind, reward.stock) == ("free_month", 3)
    edit = reverse("retention:loyalty_reward_edit", args=[reward.pk])
    admin_client.post(edit, {"name": "Free month", "kind": "free_month", "points_price": "900"})
    reward.refresh_from_db()
    assert (reward.points_price, reward.active) == (900, False)
    listing = admin_client.get(reverse("retention:loyalty_rewards"), {"q": "month"})
    assert list(listing.context["page"].object_list) == [reward]


def test_account_managers_cannot_manage_the_catalogue(manager_client):
    assert manager_client.get(reverse("retention:loyalty_rewards")).status_code == 403
    assert manager_client.post(reverse("retention:loyalty_reward_create"), {}).status_code == 403


def test_coupons_are_searchable_filterable_and_paginated(
    staff_client, customer, django_assert_max_num_queries
):
    give(customer, 10_000, "rich")
    reward = RewardFactory(points_price=10)
    coupons = [redemption.reward_redeem(customer=customer, reward=reward) for _ in range(3)]
    other = CustomerFactory(name="Zed Zebra")
    give(other, 100, "zed")
    zed_coupon = redemption.reward_redeem(customer=other, reward=reward)
    url = reverse("retention:loyalty_coupons")

    def listed(**params) -> list[Coupon]:
        return staff_client.get(url, params).context["coupons"]

    code = coupons[1].code
    assert listed(q=code.lower().replace("-", " ")) == [coupons[1]]
    assert listed(q="zebra") == [zed_coupon]
    redemption.coupon_mark_used(coupon=coupons[0], user=None)
    assert listed(status="used") == [coupons[0]]
    assert len(listed(status="valid")) == 3
    Coupon.objects.filter(pk=coupons[2].pk).update(expires_on=timezone.localdate() - timedelta(1))
    assert listed(status="expired") == [coupons[2]]
    with django_assert_max_num_queries(30) as few:
        staff_client.get(url)
    for _ in range(40):
        redemption.reward_redeem(customer=customer, reward=reward)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = staff_client.get(url, {"page": 2})
    assert response.context["page"].paginator.count == 44
    partial = staff_client.get(url, headers={"HX-Request": "true", "HX-Target": "coupon-results"})
    assert "<html" not in partial.content.decode()


def test_staff_mark_a_coupon_used_once(staff_client, customer):
    give(customer, 100, "start")
    coupon = redemption.reward_redeem(customer=customer, reward=RewardFactory(points_price=10))
    url = reverse("retention:loyalty_coupon_use", args=[coupon.pk])
    back = customer.get_absolute_url()
    response = staff_client.post(url, {"next": back}, follow=True)
    assert response.redirect_chain[-1][0] == back
    assert f"Coupon {coupon.code} marked used." in response.content.decode()
    response = staff_client.post(url, {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("retention:loyalty_coupons")
    assert "was already used" in response.content.decode()


# --- The customer's own card -------------------------------------------------------------


def card(customer) -> str:
    return card_url(customer)


def test_the_card_shows_balance_tier_progress_and_rewards(client, customer):
    give(customer, 750, "start")
    RewardFactory(name="Free shipping", kind="free_shipping", value=None, points_price=500)
    RewardFactory(name="Free month", kind="free_month", value=None, points_price=1000)
    RewardFactory(name="Gone", points_price=10, stock=0)
    response = client.get(card(customer))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="card-balance">750<' in html
    assert 'data-testid="card-tier">Silver<' in html
    assert "1,250 more points to reach Gold." in html
    assert 'aria-valuenow="16"' in html  # (750 - 500) / (2000 - 500)
    assert "Free shipping" in html and "Free month" in html and "Gone" not in html
    assert "250 more needed" in html
    assert "navbar" not in html  # customer-facing: no staff navigation


def test_the_card_renders_in_the_customers_language(client):
    customer = CustomerFactory(preferred_language="de")
    response = client.get(card(customer))
    assert '<html lang="de">' in response.content.decode()


def test_redeeming_on_the_card_shows_the_code_and_a_reload_does_not_redeem_again(client, customer):
    give(customer, 300, "start")
    reward = RewardFactory(name="10% off", points_price=200)
    url = card(customer)
    response = client.post(url, {"reward": reward.pk})
    assert response.status_code == 302
    coupon = Coupon.objects.get()
    page = client.get(response["Location"])
    assert coupon.code in page.content.decode()
    assert "Done! Show this code" in page.content.decode()
    assert balance(customer) == 100
    # Not enough left for a second one: a clear message, nothing written.
    response = client.post(url, {"reward": reward.pk})
    assert response.status_code == 422
    assert "Not enough points: 100 available, 200 needed." in response.content.decode()
    assert Coupon.objects.count() == 1


def test_the_card_needs_a_csrf_token_to_redeem(customer):
    give(customer, 300, "start")
    reward = RewardFactory(points_price=100)
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(card(customer), {"reward": reward.pk}).status_code == 403
    assert balance(customer) == 300


def test_bad_and_expired_card_links_get_the_friendly_page(client, customer):
    assert client.get(reverse("retention:loyalty_card", args=["nonsense"])).status_code == 404
    tampered = card(customer).replace(f"/{customer.pk}:", f"/{customer.pk + 1}:")
    assert client.get(tampered).status_code == 404
    onboarding_token = make_token("onboarding", customer.pk)  # another purpose's link
    response = client.get(reverse("retention:loyalty_card", args=[onboarding_token]))
    assert response.status_code == 404
    assert "This link does not work" in response.content.decode()
    url = card(customer)
    with time_machine.travel(timezone.now() + timedelta(days=365)):
        response = client.get(url)
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    archived = CustomerFactory(archived_at=timezone.now())
    assert client.get(card(archived)).status_code == 404


def test_the_card_costs_a_fixed_number_of_queries(client, customer, django_assert_max_num_queries):
    give(customer, 5000, "start")
    RewardFactory()
    with django_assert_max_num_queries(20) as few:
        client.get(card(customer))
    for number in range(10):
        RewardFactory(points_price=10 + number)
    for _ in range(10):
        redemption.reward_redeem(customer=customer, reward=Reward.objects.first())
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(card(customer))


def test_card_url_is_an_absolute_path_for_emails(customer):
    """The email placeholder gets a path; the mail builder prefixes the site's address."""
    url = card_url(customer)
    assert url.startswith("/retention/loyalty/card/")
    assert Client().get(url).context["customer"] == customer
