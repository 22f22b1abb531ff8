"""The at-risk queue as a work list in Chromium: compact at 1280 px, cards at 390 px, and
worked from the keyboard (README, "The at-risk queue as a work list")."""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from customers.models import Customer
from retention.models import CustomerRisk

from .conftest import log_in
from .factories import CompanyFactory, CustomerFactory

# Opening a row is an htmx request to the live server; on a loaded 2-core machine (the
# whole suite in a fresh clone) it took longer than Playwright's 5 s default. The option is
# global, for every browser test of the run: a longer wait only costs time when one fails.
expect.set_options(timeout=15_000)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots" / "queue"
SCREENSHOTS.mkdir(parents=True, exist_ok=True)
# A height the old page (every row with its own action bar) was far above: 5,000 px.
MAX_HEIGHT_1280 = 2500


def many_cases(owner=None, count=25) -> list[CustomerRisk]:
    """`count` open cases, each with three reasons and a long company name."""
    today = timezone.localdate()
    company = CompanyFactory(name="Northwind Traders International Holdings")
    risks = []
    for n in range(count):
        customer = CustomerFactory(
            name=f"Customer number {n:02d} with a long name",
            owner=owner,
            company=company,
            monthly_value=Decimal(100 + n),
        )
        risks.append(
            CustomerRisk.objects.create(
                customer=customer,
                score=60,
                level="medium",
                value=customer.monthly_value,
                expected_loss=Decimal(1000 - n),  # customer 00 first
                flags=[
                    {
                        "key": "complaints",
                        "strength": 0.8,
                        "contribution": 23,
                        "evidence": {"count": 2, "last": today.isoformat()},
                    },
                    {
                        "key": "service_requests",
                        "strength": 0.7,
                        "contribution": 12,
                        "evidence": {"count": 4},
                    },
                    {
                        "key": "renewal_no_contact",
                        "strength": 0.6,
                        "contribution": 5,
                        "evidence": {"renewal": "2099-01-01"},
                    },
                ],
                computed_for=today,
                level_since=today - timedelta(days=n),
            )
        )
    return risks


def page_size(page) -> dict:
    return page.evaluate(
        "() => ({height: document.documentElement.scrollHeight,"
        " width: document.documentElement.scrollWidth,"
        " viewport: document.documentElement.clientWidth})"
    )


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_twenty_five_cases_fit_in_a_short_page_at_1280_and_390(page, role, admin_user, manager):
    """Given 25 open cases, when an admin or an account manager opens the queue at 1280 px,
    then the page is under 2,500 px high; at 390 px nothing scrolls sideways."""
    user = admin_user if role == "admin" else manager
    many_cases(owner=manager)
    log_in(page, user.username)

    page.goto("/retention/queue/")
    expect(page.get_by_test_id("case")).to_have_count(25)
    wide = page_size(page)
    page.screenshot(path=str(SCREENSHOTS / f"queue-{role}-1280.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    expect(page.get_by_test_id("case")).to_have_count(25)
    narrow = page_size(page)
    first = page.get_by_test_id("case").first
    first.locator("[data-case-toggle]").click()
    expect(first.get_by_role("button", name="Resolve")).to_be_visible()
    opened = page_size(page)
    page.screenshot(path=str(SCREENSHOTS / f"queue-{role}-390-opened.png"), full_page=False)
    print(f"\nqueue page, 25 cases, {role}: 1280 px -> {wide}, 390 px -> {narrow}, opened {opened}")

    assert wide["height"] < MAX_HEIGHT_1280, wide
    assert wide["width"] <= wide["viewport"], wide
    assert narrow["width"] <= narrow["viewport"], narrow
    assert opened["width"] <= opened["viewport"], opened


def test_keyboard_opens_a_row_and_claims_it(page, manager):
    """Given unassigned cases, when an account manager presses j (next row), Enter (open)
    and c (claim), then that row opens with its actions, the customer is theirs, and a
    second row opened with o closes the first; typing "c" in a field claims nothing."""
    risks = many_cases(owner=None, count=3)
    first, second = risks[0].customer, risks[1].customer
    log_in(page, manager.username)
    page.goto("/retention/queue/?owner=none")
    expect(page.get_by_test_id("case")).to_have_count(3)

    page.keyboard.press("j")  # the first row
    toggle = page.locator(f"#case-{first.pk} [data-case-toggle]")
    expect(toggle).to_be_focused()
    page.keyboard.press("Enter")
    row = page.locator(f"#case-{first.pk}")
    expect(row.locator("[data-case-toggle]")).to_have_attribute("aria-expanded", "true")
    expect(row.get_by_role("button", name="Claim")).to_be_visible()
    # Typing in a field is typing, not a shortcut.
    row.get_by_label("Outreach subject").fill("")
    row.get_by_label("Outreach subject").press("c")
    expect(row.get_by_label("Outreach subject")).to_have_value("c")
    assert Customer.objects.get(pk=first.pk).owner is None
    row.get_by_label("Outreach subject").press("Escape")  # leaves the field

    page.keyboard.press("c")
    expect(row).to_contain_text(f"You now own {first.name}.")
    assert Customer.objects.get(pk=first.pk).owner == manager
    expect(page.locator("[data-case-actions]")).to_have_count(1)

    page.keyboard.press("j")
    page.keyboard.press("o")
    other = page.locator(f"#case-{second.pk}")
    expect(other.locator("[data-case-toggle]")).to_have_attribute("aria-expanded", "true")
    expect(page.locator("[data-case-actions]")).to_have_count(1)
    expect(row.locator("[data-case-toggle]")).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("?")
    expect(page.locator("#queue-shortcuts")).to_be_visible()
    expect(page.locator("#queue-shortcuts")).to_contain_text("Claim")


def test_resolving_a_case_opens_the_next_one(page, manager):
    """Given three cases of the manager, when the first is resolved as saved, then it
    leaves the list and the second opens, its first field focused."""
    risks = many_cases(owner=manager, count=3)
    first, second = risks[0].customer, risks[1].customer
    log_in(page, manager.username)
    page.goto("/retention/queue/")
    page.locator(f"#case-{first.pk} [data-case-toggle]").click()
    row = page.locator(f"#case-{first.pk}")
    row.get_by_label("Outcome").select_option("saved")
    row.get_by_role("button", name="Resolve").click()
    expect(row).to_contain_text("removed from the queue")
    nxt = page.locator(f"#case-{second.pk}")
    expect(nxt.locator("[data-case-toggle]")).to_have_attribute("aria-expanded", "true")
    expect(nxt.get_by_role("button", name="Resolve")).to_be_visible()
    assert CustomerRisk.objects.get(pk=first.pk).resolution == "saved"


def test_admin_assigns_two_cases_at_once(page, admin_user, manager):
    """Given three unassigned cases, when an admin ticks two and assigns them to an
    account manager, then both are that manager's and the third is still unassigned."""
    risks = many_cases(owner=None, count=3)
    log_in(page, admin_user.username)
    page.goto("/retention/queue/")
    bar = page.get_by_test_id("bulk-bar")
    for risk in risks[:2]:
        page.locator(f"#case-{risk.pk}").get_by_role("checkbox").check()
    bar.get_by_label("Assign to").select_option(str(manager.pk))
    bar.get_by_role("button", name="Assign selected").click()
    expect(page.locator("#messages")).to_contain_text("2 cases assigned")
    owners = [Customer.objects.get(pk=risk.pk).owner for risk in risks]
    assert owners == [manager, manager, None]
