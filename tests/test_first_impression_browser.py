"""The first-impression fixes of issue 19 in Chromium: long names wrap, lists become
cards on a 390 px phone, the NPS chart keeps its height, the customer page puts the form
and timeline before the cards on a phone, the admin's navigation fits one line at 1280 px.

Screenshots go to test-artifacts/first-impression/ (ignored by git) for a person to look at.
"""

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from surveys.models import SurveyResponse

from .conftest import log_in
from .factories import CustomerFactory, InteractionFactory
from .factories_surveys import invitation_with_token, nps_survey

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "first-impression"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
LONG_NAME = "W" * 200  # a name without a single space
LONG_EMAIL = "a" * 60 + "@" + "b" * 60 + ".example.org"

OVERFLOW = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def shot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def open_as_admin(page, admin_user, viewport: dict) -> None:
    page.set_viewport_size(viewport)
    log_in(page, admin_user.username)


@pytest.fixture
def long_named(manager):
    customer = CustomerFactory(
        name=LONG_NAME, email=LONG_EMAIL, owner=manager, status=Customer.Status.AT_RISK
    )
    InteractionFactory(customer=customer, subject="S" * 180, body="B" * 400)
    return customer


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1280", "390"])
def test_a_long_name_wraps_on_the_list_and_the_customer_page(
    page, admin_user, long_named, viewport
):
    """Given a customer named with 200 letters and no space, a long email and subject,
    when the list and the customer page open at 1280 and 390 px, then neither is wider
    than the window (before: 2,426 px at 1280)."""
    open_as_admin(page, admin_user, viewport)
    width = viewport["width"]
    page.goto(reverse("customers:list"))
    assert page.evaluate(OVERFLOW) == 0
    shot(page, f"list-long-name-{width}")
    page.goto(long_named.get_absolute_url())
    page.get_by_test_id("risk-card").wait_for()  # the lazy cards are in
    assert page.evaluate(OVERFLOW) == 0
    shot(page, f"customer-long-name-{width}")


def test_customer_list_is_cards_on_a_phone(page, admin_user, manager):
    """Given customers, when the list opens at 390 px, then each row is a card (its cells
    one under the other, each headed by its column) and nothing scrolls sideways."""
    for number in range(5):
        CustomerFactory(name=f"Customer {number}", owner=manager)
    open_as_admin(page, admin_user, PHONE)
    page.goto(reverse("customers:list"))
    table = page.get_by_test_id("customer-table")
    assert table.evaluate("t => getComputedStyle(t.querySelector('tbody tr')).display") == "grid"
    assert page.evaluate(OVERFLOW) == 0
    # The table's own box fits as well (a .table-responsive would hide a wider one).
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth")
    label = table.locator("td[data-label]").first.evaluate(
        "td => getComputedStyle(td, '::before').content"
    )
    assert label.strip('"') == "Company"
    shot(page, "list-390")


def test_nps_results_on_a_phone(page, admin_user):
    """Given NPS answers over three months, when the results open at 390 px, then the
    chart is at least 200 px high (before: 40 px) and the table becomes cards."""
    survey = nps_survey()
    start = timezone.make_aware(datetime(2026, 1, 10, 12))
    for month, scores in enumerate([(10, 9, 3), (8, 7, 10), (6, 9, 9)]):
        for score in scores:
            invitation, _token = invitation_with_token(survey)
            SurveyResponse.objects.create(
                invitation=invitation,
                survey=survey,
                customer=invitation.customer,
                language="en",
                submitted_at=start + timedelta(days=31 * month),
                nps_score=score,
            )
    open_as_admin(page, admin_user, PHONE)
    page.goto(reverse("surveys:results", args=[survey.pk]))
    chart = page.locator("#nps-trend-chart")
    chart.wait_for()
    assert chart.bounding_box()["height"] >= 200
    assert (
        page.get_by_test_id("nps-table").evaluate(
            "t => getComputedStyle(t.querySelector('tbody tr')).display"
        )
        == "grid"
    )
    assert page.evaluate(OVERFLOW) == 0
    shot(page, "nps-results-390")


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["390", "1280"])
def test_customer_page_puts_the_work_first_on_a_phone(page, admin_user, customer, viewport):
    """Given a customer page, when it opens on a phone, then the interaction form and the
    timeline come right after the profile, before the cards; on a desktop the cards sit
    beside them, left, under the profile."""
    open_as_admin(page, admin_user, viewport)
    page.goto(customer.get_absolute_url())
    page.get_by_test_id("risk-card").wait_for()
    profile = page.get_by_test_id("profile-card").bounding_box()
    work = page.get_by_test_id("customer-work").bounding_box()
    cards = page.get_by_test_id("customer-cards").bounding_box()
    if viewport is PHONE:
        assert profile["y"] < work["y"] < cards["y"]
    else:
        assert cards["x"] == profile["x"] < work["x"]
        assert cards["y"] > profile["y"] and work["y"] == profile["y"]
    assert page.evaluate(OVERFLOW) == 0
    shot(page, f"customer-{viewport['width']}")


@pytest.mark.parametrize("language", ["en", "de", "tr", "zh-hant"])
def test_admin_navigation_fits_one_line_at_1280(page, admin_user, live_server, language):
    """Given the admin (who sees every menu item), when any page opens at 1280 px in any
    language, then the navigation bar is one line and nothing overflows: import,
    duplicates, the outbox, the API and the administration pages are under "More"."""
    open_as_admin(page, admin_user, DESKTOP)
    page.context.add_cookies(
        [{"name": "django_language", "value": language, "url": live_server.url}]
    )
    page.goto(reverse("customers:list"))
    assert page.locator("html").get_attribute("lang") == language
    shot(page, f"nav-1280-{language}")
    assert page.evaluate(OVERFLOW) == 0
    tops = page.locator("#main-nav .navbar-nav > .nav-item").evaluate_all(
        "items => items.map(item => Math.round(item.getBoundingClientRect().top))"
    )
    assert len(set(tops)) == 1, tops
    height = page.locator("nav.navbar").evaluate("nav => nav.getBoundingClientRect().height")
    assert height < 70
    if language == "en":
        page.get_by_test_id("nav-more").get_by_role("button").click()
        page.get_by_role("link", name="Outbox").click()
        page.wait_for_url("**/outbox/**")
