"""The Content-Security-Policy in a real browser: the main pages load with no violation,
and what used to be inline (the survey results' period filter, progress bar widths,
confirm dialogs, copy buttons) and htmx's live search still work.

A violation is caught two ways: Chromium's console message ("Refused to ...") and the
page's `securitypolicyviolation` event, reported to the test through a binding that an
init script installs before any of the page's own scripts run.
"""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from .conftest import log_in
from .factories import CustomerFactory, InteractionFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

REPORTER = """
document.addEventListener("securitypolicyviolation", (event) => {
  const what = event.blockedURI || "inline";
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolation(`${event.violatedDirective} blocked ${what} at ${where}`);
});
"""


@pytest.fixture
def violations(page):
    """Every CSP violation the page reports, console or event, in order."""
    found: list[str] = []
    page.expose_function("__cspViolation", lambda text: found.append(f"{page.url}: {text}"))
    page.add_init_script(REPORTER)

    def on_console(message) -> None:
        text = message.text
        if "Refused to" in text or "Content Security Policy" in text:
            found.append(f"{page.url}: console: {text}")

    page.on("console", on_console)
    return found


def settle(page) -> None:
    page.wait_for_load_state("networkidle")


@pytest.fixture
def shop(manager):
    """A customer with a half-done onboarding (a progress bar), a complaint and usage."""
    from retention.onboarding.checklists import checklist_start, step_complete

    from .factories import ChecklistTemplateFactory

    customer = CustomerFactory(name="Ada Lovelace", owner=manager, status="onboarding")
    CustomerFactory(name="Charles Babbage", owner=manager)
    InteractionFactory(
        customer=customer, subject="Welcome call", occurred_at=timezone.now() - timedelta(days=2)
    )
    checklist = checklist_start(customer=customer, template=ChecklistTemplateFactory())
    step_complete(step=checklist.steps.order_by("position").first(), user=manager)
    return customer


def test_the_staff_pages_load_without_a_violation(page, violations, manager, shop):
    """Given a manager, when they open the dashboard, the customer list (searching with
    htmx), a customer page (its cards load with htmx, with charts and a progress bar),
    the queue and the import page, then no policy violation is reported and the
    interactive parts work."""
    log_in(page, manager.username)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    settle(page)

    page.goto("/customers/")
    page.get_by_label("Search").fill("lovelace")
    expect(page.get_by_test_id("result-count")).to_have_text("1 customer")

    page.get_by_role("link", name="Ada Lovelace").click()
    card = page.get_by_test_id("onboarding-card")
    bar = card.get_by_role("progressbar").locator(".progress-bar")
    expect(bar).to_have_attribute("data-width", "50")
    # The width comes from data-width, set by static/js/ui.js, not from a style="".
    assert bar.evaluate("element => element.style.width") == "50%"
    settle(page)

    page.goto("/retention/queue/")
    settle(page)
    page.goto("/customers/import/")
    settle(page)

    assert not violations, "\n".join(violations)


def test_a_confirm_dialog_still_asks_and_cancel_sends_nothing(page, violations, manager, shop):
    """The archive button's confirmation (was an inline onsubmit): Cancel keeps the
    customer; OK archives them."""
    log_in(page, manager.username)
    page.goto(shop.get_absolute_url())
    page.once("dialog", lambda dialog: dialog.dismiss())
    page.get_by_role("button", name="Archive").click()
    settle(page)
    shop.refresh_from_db()
    assert shop.archived_at is None

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Archive").click()
    settle(page)
    shop.refresh_from_db()
    assert shop.archived_at is not None
    assert not violations, "\n".join(violations)


def test_the_survey_results_filter_still_submits(page, violations, admin_user):
    """The NPS period select (was an inline onchange) reloads the page with the period."""
    from .factories_surveys import nps_survey

    survey = nps_survey()
    log_in(page, admin_user.username)
    page.goto(f"/surveys/{survey.pk}/")
    select = page.get_by_label("Per")
    other = [
        value
        for value in select.locator("option").evaluate_all(
            "options => options.filter(o => !o.selected).map(o => o.value)"
        )
    ][0]
    select.select_option(other)
    page.wait_for_url(f"**period={other}**")
    expect(page.get_by_label("Per")).to_have_value(other)
    settle(page)
    assert not violations, "\n".join(violations)


def test_the_admin_and_the_api_docs_load_without_a_violation(page, violations, admin_user):
    """The Django admin (its scripts are files) and the Swagger UI page (its start-up
    script from ?script, its styles from files): no exception to the policy needed."""
    log_in(page, admin_user.username)
    page.goto("/admin/")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto("/admin/customers/customer/")
    settle(page)

    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("CRM API")
    expect(page.locator(".opblock").first).to_be_visible()
    settle(page)
    assert not violations, "\n".join(violations)


def test_the_email_preview_shows_its_styles_without_a_violation(page, violations, admin_user):
    """The outbox detail page's sandboxed preview: the email's inline style attributes
    apply (the page's one exception: style-src-attr), and nothing is reported."""
    from retention.models import OutgoingEmail

    email = OutgoingEmail.objects.create(
        customer=CustomerFactory(name="Grace Hopper"),
        kind="manual",
        to_email="grace@example.org",
        idempotency_key="k",
        subject="Hello",
        body_text="Hello Grace",
        body_html='<p style="color: #c00">Hello Grace</p>',
    )
    log_in(page, admin_user.username)
    page.goto(f"/retention/outbox/{email.pk}/")
    settle(page)
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_every_page_a_role_can_open_has_no_violation(page, violations, role):
    """Every URL of the permission matrix that `role` may GET (a 200 in its table) and
    that is a page (not a CSV or JSON download), opened in turn: no violation anywhere.
    New pages are swept by default, as they join the matrix."""
    from .test_permission_matrix import EXPECTED, NAMES, expected_status, make_world, url_for

    world = make_world()
    user = world["users"][role]
    user.set_password("password")
    user.save()
    log_in(page, user.username)
    opened = []
    for name in NAMES:
        if name not in EXPECTED or expected_status(name, role, "GET") != "200":
            continue
        url = url_for(name, world)
        head = page.request.get(url)
        if not head.headers.get("content-type", "").startswith("text/html"):
            continue
        page.goto(url)
        settle(page)
        opened.append(name)
    assert len(opened) > 30, opened
    assert not violations, "\n".join(violations)


def test_the_customer_facing_pages_have_no_violation(page, violations, shop):
    """The pages customers reach by link: onboarding progress, loyalty card, survey."""
    from retention.loyalty.card import card_url
    from retention.onboarding.checklists import public_link

    from .factories_surveys import invitation_with_token, nps_survey

    _invitation, token = invitation_with_token(nps_survey(), shop)
    for url in (public_link(shop), card_url(shop), f"/surveys/answer/{token}/"):
        page.goto(url)
        settle(page)
        expect(page.locator("main")).to_be_visible()
    assert not violations, "\n".join(violations)
