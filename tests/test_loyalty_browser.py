"""A customer opens their loyalty card from the emailed link and redeems a reward."""

import pytest
from playwright.sync_api import expect

from retention.loyalty import card, ledger
from retention.models import Coupon, Tier

from .factories import CustomerFactory, RewardFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_customer_redeems_a_reward_from_their_card(page):
    # Transactional tests flush the tiers the migration created.
    for name, threshold in [("Bronze", 0), ("Silver", 500), ("Gold", 2000)]:
        Tier.objects.get_or_create(name=name, threshold=threshold)
    customer = CustomerFactory(name="Ada Lovelace")
    ledger.points_earn(customer=customer, points=650, reason="Welcome", source_key="welcome")
    RewardFactory(name="Free shipping", kind="free_shipping", value=None, points_price=500)
    RewardFactory(name="Free month", kind="free_month", value=None, points_price=1000)

    page.goto(card.card_url(customer))
    expect(page.get_by_test_id("card-balance")).to_have_text("650")
    expect(page.get_by_test_id("card-tier")).to_have_text("Silver")
    expect(page.get_by_test_id("progress")).to_have_attribute("aria-valuenow", "10")
    expect(page.get_by_role("button", name="Redeem Free month")).to_be_disabled()

    page.get_by_role("button", name="Redeem Free shipping").click()

    coupon = Coupon.objects.get()
    expect(page.get_by_text("Done! Show this code to use your reward:")).to_be_visible()
    expect(page.get_by_test_id("coupon-code")).to_have_text(coupon.code)
    expect(page.get_by_test_id("card-balance")).to_have_text("150")
    expect(page.get_by_role("button", name="Redeem Free shipping")).to_be_disabled()

    # Reloading the page shows the code again and redeems nothing more.
    page.reload()
    expect(page.get_by_test_id("coupon-code")).to_have_text(coupon.code)
    assert Coupon.objects.count() == 1
    assert coupon.reward_name == "Free shipping"
