"""The language switch in a real browser: with the keyboard only, and remembered."""

import pytest
from playwright.sync_api import expect

from accounts.models import Preferences

from .conftest import log_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_language_switch_works_with_the_keyboard_and_is_remembered(page, manager):
    """Given a manager in English, when they reach the switch with Tab, open it with
    Enter, go down to Deutsch with the arrows and press Enter, then the page reloads in
    German (same address) and the choice is kept with their account."""
    log_in(page, manager.username)
    page.goto("/customers/")
    toggle = page.get_by_test_id("language-switch").get_by_role("button", name="Language")
    toggle.focus()
    page.keyboard.press("Enter")
    german = page.get_by_test_id("language-switch").get_by_role("button", name="Deutsch")
    expect(german).to_be_visible()
    for _ in range(4):  # arrows move through the items; stop on Deutsch
        page.keyboard.press("ArrowDown")
        if german.evaluate("button => button === document.activeElement"):
            break
    expect(german).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "de")
    assert page.url.endswith("/customers/")
    assert Preferences.objects.get(user=manager).language == "de"
