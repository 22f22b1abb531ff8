"""The account pages in a real browser at phone width (390 px), under the real CSP."""

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from .conftest import log_in
from .test_accounts import current_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}


def fits(page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"], page.url


def test_two_factor_from_setup_to_login_at_phone_width(page, manager):
    """At 390 px: the account page, the setup with its QR code, the backup codes, and the
    code step of the next login all fit the screen, and nothing is blocked by the CSP."""
    errors = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    page.set_viewport_size(PHONE)
    log_in(page, manager.username)
    page.goto("/accounts/")
    expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    fits(page)

    page.get_by_role("link", name="Set up two-factor authentication").click()
    qr = page.get_by_role("img", name="QR code with the secret for your authenticator app")
    expect(qr).to_be_visible()
    assert page.evaluate("(img) => img.naturalWidth > 0", qr.element_handle())  # it rendered
    fits(page)
    device = TOTPDevice.objects.get(user=manager, confirmed=False)
    page.get_by_label("Code from the app").fill(current_code(device))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", name="Your backup codes")).to_be_visible()
    fits(page)
    codes = page.get_by_test_id("backup-codes").inner_text().split()
    assert len(codes) == 10

    page.get_by_role("button", name="Toggle navigation").click()  # collapsed at 390 px
    page.get_by_role("button", name="Log out").click()
    log_in(page, manager.username)
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    fits(page)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    assert errors == []


def test_the_reset_and_lockout_pages_fit_a_phone(page, manager, settings):
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 2
    page.set_viewport_size(PHONE)
    page.goto("/accounts/login/")
    page.get_by_role("link", name="Forgot password?").click()
    expect(page.get_by_role("heading", name="Forgot your password?")).to_be_visible()
    fits(page)
    page.get_by_label("Email").fill(manager.email)
    page.get_by_role("button", name="Send me a reset link").click()
    expect(page.get_by_test_id("reset-sent")).to_be_visible()
    fits(page)
    for _ in range(2):
        log_in(page, manager.username, "wrong")
    expect(page.get_by_role("heading", name="Too many failed logins")).to_be_visible()
    expect(page.get_by_test_id("retry-at")).to_contain_text("Please try again after")
    fits(page)
