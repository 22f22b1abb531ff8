"""In a real browser: write a template with a live preview, then send it to a customer."""

import pytest
from django.core import mail
from playwright.sync_api import expect

from retention.models import OutgoingEmail

from .conftest import log_in
from .factories import CustomerFactory
from .outbox_helpers import without_starter_followups  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_write_a_template_preview_it_live_and_send_it(page, manager):
    customer = CustomerFactory(name="Ada Lovelace", owner=manager, marketing_consent=True)
    log_in(page, manager.username)

    page.get_by_role("button", name="More").or_(page.get_by_role("link", name="More")).click()
    page.get_by_role("link", name="Outbox").click()  # in the navigation's "More" menu
    page.get_by_role("link", name="Email templates").click()
    page.get_by_role("link", name="New template").click()
    page.get_by_label("Name").fill("Check-in")
    page.locator("#id_translations-0-subject").fill("How are things, {{ first_name }}?")
    page.locator("#id_translations-0-body_text").fill("Hi {{ first_name }}, all well?")
    page.get_by_label("Preview for customer (email or ID)").fill(customer.email)
    page.get_by_role("button", name="Preview").first.click()
    preview = page.get_by_test_id("preview")
    expect(preview).to_contain_text("Rendered for Ada Lovelace")
    expect(page.get_by_test_id("rendered-subject")).to_have_text("How are things, Ada?")
    # Typing updates the preview by itself.
    page.locator("#id_translations-0-subject").fill("Still with us, {{ first_name }}?")
    expect(page.get_by_test_id("rendered-subject")).to_have_text("Still with us, Ada?")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Template “Check-in” saved.")).to_be_visible()

    page.goto(customer.get_absolute_url())
    card = page.get_by_test_id("followups-card")
    card.get_by_role("button", name="Send follow-up").click()
    expect(page.get_by_text("Follow-up to Ada Lovelace queued.")).to_be_visible()
    email = OutgoingEmail.objects.get()
    assert email.status == "sent"
    assert mail.outbox[-1].subject == "Still with us, Ada?"
    page.reload()
    expect(page.locator(".timeline")).to_contain_text("Still with us, Ada?")
