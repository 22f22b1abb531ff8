"""The dashboard in a real browser: the charts are drawn from the page's own numbers,
the table under each chart opens, a figure leads to its customers, and at phone width
nothing but the wide tables scrolls sideways."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers import membership
from customers.models import Customer

from .conftest import log_in
from .factories import CustomerFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def last_month_history(owner) -> None:
    """Three customers gained last month, one of them lost again."""
    first_of_month = timezone.localdate().replace(day=1)
    joined = first_of_month - timedelta(days=20)
    for name in ("Ada Lovelace", "Grace Hopper"):
        CustomerFactory(
            name=name, owner=owner, status=Customer.Status.ACTIVE, customer_since=joined
        )
    CustomerFactory(
        name="Alan Turing",
        owner=owner,
        status=Customer.Status.CHURNED,
        customer_since=joined,
        churned_on=joined + timedelta(days=5),
    )
    membership.rebuild()


def test_the_dashboard_draws_its_charts_and_leads_to_the_customers_behind_a_figure(page, manager):
    last_month_history(manager)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, manager.username)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    expect(page.get_by_test_id("tile-gained").locator(".figure-value")).to_have_text("3")
    expect(page.get_by_test_id("tile-lost").locator(".figure-value")).to_have_text("1")
    # Lost ÷ gained: 1 of 3.
    expect(page.get_by_test_id("tile-rate_vs_gained").locator(".figure-value")).to_have_text(
        "33.3 %"
    )
    drawn = page.evaluate(
        "() => [...document.querySelectorAll('canvas[data-chart]')]"
        ".filter(c => window.Chart.getChart(c)).map(c => c.dataset.chart)"
    )
    assert "churn" in drawn
    assert errors == []

    churn = page.get_by_test_id("table-churn")
    churn.get_by_text("The numbers").click()
    expect(churn.get_by_role("table")).to_be_visible()

    page.get_by_test_id("tile-lost").get_by_role("link").click()
    expect(page.get_by_role("link", name="Alan Turing")).to_be_visible()
    expect(page.get_by_role("link", name="Ada Lovelace")).to_have_count(0)


def test_at_phone_width_the_page_itself_never_scrolls_sideways(page, manager):
    last_month_history(manager)
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, manager.username)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
