"""A staff member's everyday flow in a real browser: list → detail → log a call."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in
from .factories import CustomerFactory, InteractionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_find_a_customer_open_it_and_log_a_call(page, manager):
    customer = CustomerFactory(name="Ada Lovelace", owner=manager)
    InteractionFactory(
        customer=customer, subject="Welcome call", occurred_at=timezone.now() - timedelta(days=2)
    )
    CustomerFactory.create_batch(3, owner=manager)

    log_in(page, manager.username)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()  # the home page
    page.get_by_role("navigation").get_by_role("link", name="Customers", exact=True).click()
    expect(page.get_by_role("heading", name="Customers")).to_be_visible()

    # Live search (htmx) narrows the list as the user types.
    page.get_by_label("Search").fill("lovelace")
    expect(page.get_by_test_id("result-count")).to_have_text("1 customer")
    page.get_by_role("link", name="Ada Lovelace").click()

    expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
    expect(page.locator(".timeline")).to_contain_text("Welcome call")

    # A bad submission (a purchase without an amount) shows the error in place
    # and keeps what was typed.
    page.get_by_label("Kind").select_option("purchase")
    page.get_by_label("Subject").fill("Invoice question")
    page.get_by_label("Details").fill("Asked about the invoice")
    page.get_by_role("button", name="Log interaction").click()
    expect(page.locator("#interaction-form")).to_contain_text("A purchase needs an amount.")
    expect(page.get_by_label("Details")).to_have_value("Asked about the invoice")
    assert not customer.interactions.filter(subject="Invoice question").exists()

    page.get_by_label("Kind").select_option("call")
    page.get_by_role("button", name="Log interaction").click()
    first_entry = page.locator(".timeline .timeline-entry").first
    expect(first_entry).to_contain_text("Invoice question")
    expect(first_entry).to_contain_text("Asked about the invoice")
    expect(page.get_by_label("Subject")).to_have_value("")
    assert customer.interactions.filter(subject="Invoice question").exists()


def test_anonymous_visitor_lands_on_login(page):
    page.goto("/customers/")
    expect(page.get_by_role("heading", name="Log in to the CRM")).to_be_visible()


def test_work_the_at_risk_queue(page, manager):
    from retention.models import CustomerRisk

    today = timezone.localdate()
    cases = {}
    for name, score in [("Snoozy Ltd", 80), ("Callme Co", 60), ("Goner Inc", 40)]:
        customer = CustomerFactory(name=name, owner=manager)
        cases[name] = CustomerRisk.objects.create(
            customer=customer,
            score=score,
            level="high" if score >= 60 else "medium",
            flags=[
                {
                    "key": "complaints",
                    "weight": 25,
                    "contribution": float(score),
                    "evidence": {"count": 2, "window": 90},
                }
            ],
            computed_for=today,
            level_since=today,
        )
    log_in(page, manager.username)
    page.get_by_role("link", name="At-risk queue").click()
    expect(page.get_by_test_id("case")).to_have_count(3)

    # One row opened at a time: its actions appear under it.
    snoozy = page.locator(f"#case-{cases['Snoozy Ltd'].customer_id}")
    snoozy.get_by_role("link", name="Open").click()
    snoozy.get_by_role("button", name="Snooze").click()
    expect(snoozy).to_contain_text("removed from the queue")

    # The next case opens by itself.
    callme = page.locator(f"#case-{cases['Callme Co'].customer_id}")
    callme.get_by_label("Outreach subject").fill("Called about the late delivery")
    callme.get_by_role("button", name="Log outreach").click()
    expect(callme).to_contain_text("Outreach logged for Callme Co")
    expect(callme).to_contain_text("Last outreach")

    goner = page.locator(f"#case-{cases['Goner Inc'].customer_id}")
    goner.get_by_role("link", name="Open").click()
    goner.get_by_label("Outcome").select_option("lost")
    goner.get_by_label("Reason").fill("Moved to a competitor")
    goner.get_by_role("button", name="Resolve").click()
    expect(goner).to_contain_text("removed from the queue")

    page.reload()
    expect(page.get_by_test_id("case")).to_have_count(1)
    assert cases["Goner Inc"].customer.interactions.count() == 0
    cases["Goner Inc"].customer.refresh_from_db()
    assert cases["Goner Inc"].customer.status == "churned"
    assert (
        cases["Callme Co"].customer.interactions.get().subject == "Called about the late delivery"
    )


def test_onboarding_steps_move_the_progress_bar(page, manager):
    """Staff tick a step on the customer page; the customer ticks theirs via the link."""
    from retention.onboarding.checklists import checklist_start

    from .factories import ChecklistTemplateFactory

    customer = CustomerFactory(name="Olga Onboard", owner=manager, status="onboarding")
    checklist_start(customer=customer, template=ChecklistTemplateFactory(name="Getting started"))

    log_in(page, manager.username)
    page.goto(customer.get_absolute_url())
    card = page.get_by_test_id("onboarding-card")
    bar = card.get_by_role("progressbar")
    expect(bar).to_have_attribute("aria-valuenow", "0")
    card.get_by_test_id("step").filter(has_text="Welcome call").get_by_role(
        "button", name="Done"
    ).click()
    expect(bar).to_have_attribute("aria-valuenow", "50")
    expect(card.get_by_test_id("progress-text")).to_contain_text("1 of 2 required steps done")
    link = card.get_by_label("The customer's own progress page", exact=False).input_value()

    # The customer, without logging in, ticks the step that is theirs.
    page.context.clear_cookies()
    page.goto(link)
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "50")
    page.get_by_test_id("public-step").filter(has_text="Upload your logo").get_by_role(
        "button", name="Mark as done"
    ).click()
    expect(page.get_by_role("status")).to_contain_text("Upload your logo")
    expect(page.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.get_by_text("You have completed your onboarding")).to_be_visible()
