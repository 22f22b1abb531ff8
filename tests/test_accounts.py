"""Accounts as users expect them: password change, reset by email, two-factor."""

import re
import time
from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client, TestCase
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import two_factor
from audit.models import AuditEntry
from retention.outreach import outbox
from retention.outreach.models import OutgoingEmail

from .factories import UserFactory

LOGIN = "/accounts/login/"


def log_in(client: Client, username: str, password: str = "password"):
    return client.post(LOGIN, {"username": username, "password": password})


# --- Password change ------------------------------------------------------------------


def test_the_navigation_links_to_the_account_page(manager_client):
    """The user's name in the navigation leads to their account page (password, 2FA)."""
    page = manager_client.get(reverse("home")).content.decode()
    assert f'href="{reverse("accounts:account")}"' in page
    account = manager_client.get(reverse("accounts:account")).content.decode()
    assert reverse("accounts:password_change") in account
    assert reverse("accounts:two_factor_setup") in account


def test_a_user_changes_their_password(manager, manager_client):
    """Given the old password and a new one twice, the password changes, the user stays
    logged in, sees a message, and the change is in the audit log."""
    response = manager_client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "password",
            "new_password1": "a-much-better-secret-9",
            "new_password2": "a-much-better-secret-9",
        },
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("accounts:account")
    assert "Your password was changed." in response.content.decode()
    manager.refresh_from_db()
    assert manager.check_password("a-much-better-secret-9")
    assert manager_client.get(reverse("home")).status_code == 200  # still logged in
    assert AuditEntry.objects.filter(action="account.password_changed", user=manager).exists()


def test_a_wrong_old_password_changes_nothing(manager, manager_client):
    response = manager_client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "nope",
            "new_password1": "x-9-long-enough",
            "new_password2": "x-9-long-enough",
        },
    )
    assert response.status_code == 200
    manager.refresh_from_db()
    assert manager.check_password("password")
    assert not AuditEntry.objects.filter(action="account.password_changed").exists()


def test_the_password_pages_need_a_login(client):
    assert client.get(reverse("accounts:password_change")).status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 302


# --- Password reset -------------------------------------------------------------------


@pytest.fixture
def lucy(db):
    return UserFactory(username="lucy", email="lucy@example.com")


def ask_reset(client: Client, email: str, ip: str = "10.0.0.1", *, run_task: bool = True):
    """POST the reset form; with `run_task`, its commit runs the lookup task (eager)."""
    if not run_task:
        return client.post(reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR=ip)
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(reverse("accounts:password_reset"), {"email": email}, REMOTE_ADDR=ip)


def sent_reset_link() -> str:
    outbox.deliver()
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    return re.search(r"https?://\S+/accounts/password/reset/\S+/", body).group(0)


def test_the_login_page_links_to_the_reset(client, db):
    assert reverse("accounts:password_reset") in client.get(LOGIN).content.decode()


def test_a_reset_email_goes_through_the_outbox_and_its_link_works_once(lucy, client):
    """Given a known address, a task queues a reset email in the outbox (a row, no
    customer) and the outbox's delivery task sends it; its link sets a new password once,
    and is then dead."""
    response = ask_reset(client, "Lucy@Example.com")
    assert response.status_code == 302 and response.url == reverse("accounts:password_reset_done")
    row = OutgoingEmail.objects.get()
    assert (row.kind, row.customer, row.recipient_user) == ("password_reset", None, lucy)
    # Sent by the outbox's delivery task, enqueued when the lookup task queued the row.
    link = sent_reset_link()
    message = mail.outbox[0]
    assert message.to == [f"{lucy.get_full_name()} <lucy@example.com>"]
    assert "List-Id" not in message.extra_headers
    row.refresh_from_db()
    assert row.status == "sent" and row.body_text.startswith("(Not kept")
    assert link not in row.body_text and link not in row.body_html  # the link is not kept

    path = link.split("://", 1)[1].split("/", 1)[1]
    form_page = client.get("/" + path, follow=True)
    assert form_page.status_code == 200 and form_page.context["validlink"]
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(
        set_url, {"new_password1": "brand-new-secret-7", "new_password2": "brand-new-secret-7"}
    )
    assert done.status_code == 302 and done.url == reverse("accounts:password_reset_complete")
    lucy.refresh_from_db()
    assert lucy.check_password("brand-new-secret-7")
    assert AuditEntry.objects.filter(action="account.password_reset", user=lucy).exists()

    again = Client().get("/" + path, follow=True)
    assert not again.context["validlink"]
    assert 'data-testid="bad-reset-link"' in again.content.decode()


def test_an_expired_link_gets_the_friendly_page(lucy, client, settings):
    """A link older than PASSWORD_RESET_TIMEOUT is refused with the "no longer works" page."""
    settings.PASSWORD_RESET_TIMEOUT = 3600
    ask_reset(client, "lucy@example.com")
    link = sent_reset_link()
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    with time_machine.travel(timezone.now() + timedelta(seconds=3599), tick=False):
        assert Client().get(path, follow=True).context["validlink"]
    with time_machine.travel(timezone.now() + timedelta(seconds=3601), tick=False):
        response = Client().get(path, follow=True)
    assert response.status_code == 200 and not response.context["validlink"]
    assert "This link no longer works" in response.content.decode()


def test_an_unknown_address_gets_the_same_answer_and_queues_nothing(lucy, client):
    """No account enumeration: same redirect, same page, nothing in the outbox."""
    known = ask_reset(client, "lucy@example.com")
    unknown = ask_reset(Client(), "nobody@example.com")
    assert (unknown.status_code, unknown.url) == (known.status_code, known.url)
    assert OutgoingEmail.objects.count() == 1  # lucy's only
    page = client.get(unknown.url).content.decode()
    assert 'data-testid="reset-sent"' in page


def test_the_known_and_unknown_answers_take_about_the_same_time(lucy, settings):
    """Timing: the page does the same work for both (the lookup is the worker's): the
    medians of 15 requests each are within 3 ms."""
    settings.PASSWORD_RESET_PER_HOUR = 100

    def median(email: str) -> float:
        times = []
        for n in range(15):
            client = Client()
            start = time.perf_counter()
            ask_reset(client, email, ip=f"10.1.{n}.1", run_task=False)
            times.append(time.perf_counter() - start)
        return sorted(times)[len(times) // 2]

    known, unknown = median("lucy@example.com"), median("nobody@example.com")
    assert abs(known - unknown) < 0.003


def test_at_most_three_reset_emails_per_account_per_hour(lucy, settings):
    """The 4th request within the hour for one account queues nothing (same page)."""
    settings.PASSWORD_RESET_PER_HOUR = 3
    for n in range(4):
        response = ask_reset(Client(), "lucy@example.com", ip=f"10.2.{n}.1")
        assert response.status_code == 302
    assert OutgoingEmail.objects.count() == 3


def test_one_address_asking_too_often_gets_429(lucy, settings):
    """Over PASSWORD_RESET_PER_IP_PER_HOUR requests from one address: 429, nothing queued."""
    settings.PASSWORD_RESET_PER_IP_PER_HOUR = 2
    settings.PASSWORD_RESET_PER_HOUR = 10
    assert ask_reset(Client(), "a@example.com").status_code == 302
    assert ask_reset(Client(), "b@example.com").status_code == 302
    response = ask_reset(Client(), "lucy@example.com")
    assert response.status_code == 429
    assert OutgoingEmail.objects.count() == 0


def test_the_outbox_pages_do_not_show_reset_emails(lucy, admin_client):
    """Staff reading the Outbox never see a reset email (its preview would be a live link)."""
    ask_reset(Client(), "lucy@example.com")
    row = OutgoingEmail.objects.get()
    assert admin_client.get(reverse("retention:outbox_detail", args=[row.pk])).status_code == 404
    assert "lucy@example.com" not in admin_client.get(reverse("retention:outbox")).content.decode()


# --- Two-factor -----------------------------------------------------------------------


def current_code(device: TOTPDevice, *, at: float | None = None) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = at or time.time()
    return f"{totp.token():0{device.digits}d}"


def enable_two_factor(client: Client, user) -> tuple[TOTPDevice, list[str]]:
    page = client.get(reverse("accounts:two_factor_setup"))
    assert page.status_code == 200
    assert page.context["qr_code"].startswith("data:image/svg+xml;base64,")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    response = client.post(reverse("accounts:two_factor_setup"), {"code": current_code(device)})
    assert response.status_code == 302
    codes_page = client.get(response.url)
    codes = codes_page.context["codes"]
    return TOTPDevice.objects.get(pk=device.pk), codes


def test_two_factor_is_turned_on_with_a_code_and_shows_backup_codes_once(manager, manager_client):
    """Scan, confirm with a code: two-factor is on, 10 backup codes are shown once, logged."""
    device, codes = enable_two_factor(manager_client, manager)
    assert device.confirmed and len(codes) == 10
    assert StaticToken.objects.filter(device__user=manager).count() == 10
    assert manager_client.get(reverse("accounts:two_factor_backup_codes")).status_code == 302
    assert AuditEntry.objects.filter(action="account.two_factor_enabled", user=manager).exists()
    assert manager_client.get(reverse("home")).status_code == 200  # this session is verified


def test_a_wrong_confirmation_code_leaves_two_factor_off(manager, manager_client):
    manager_client.get(reverse("accounts:two_factor_setup"))
    response = manager_client.post(reverse("accounts:two_factor_setup"), {"code": "000000"})
    assert response.status_code == 422
    assert not two_factor.has_device(manager)


@pytest.fixture
def with_two_factor(manager, manager_client):
    device, codes = enable_two_factor(manager_client, manager)
    return device, codes


def test_the_login_asks_for_the_code_after_the_password(manager, with_two_factor):
    """Password right: every page (the admin too) sends to the code page until a code is given."""
    device, _codes = with_two_factor
    client = Client()
    assert log_in(client, "mike_manager").status_code == 302
    response = client.get(reverse("customers:list"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("accounts:two_factor_verify"))
    assert client.get("/admin/").url.startswith(reverse("accounts:two_factor_verify"))
    wrong = client.post(reverse("accounts:two_factor_verify"), {"code": "123456"})
    assert wrong.status_code == 422
    # The app's code for the next 30-second step: a code is accepted only once.
    code = current_code(device, at=time.time() + 30)
    with time_machine.travel(timezone.now() + timedelta(seconds=30), tick=False):
        ok = client.post(
            reverse("accounts:two_factor_verify") + "?next=/customers/", {"code": code}
        )
    assert ok.status_code == 302 and ok.url == "/customers/"
    assert client.get(reverse("customers:list")).status_code == 200


def test_a_backup_code_works_once(manager, with_two_factor):
    _device, codes = with_two_factor
    first = Client()
    log_in(first, "mike_manager")
    assert first.post(reverse("accounts:two_factor_verify"), {"code": codes[0]}).status_code == 302
    assert first.get(reverse("customers:list")).status_code == 200
    second = Client()
    log_in(second, "mike_manager")
    assert second.post(reverse("accounts:two_factor_verify"), {"code": codes[0]}).status_code == 422
    assert second.get(reverse("customers:list")).status_code == 302


def test_two_factor_is_turned_off_with_a_code(manager, manager_client, with_two_factor):
    """Off with a valid code (here a backup code): devices gone, logged; a wrong code keeps it."""
    _device, codes = with_two_factor
    manager_client.post(reverse("accounts:two_factor_disable"), {"code": "nope"})
    assert two_factor.has_device(manager)
    # After a wrong code each device waits a moment (django-otp's throttle: 1 s, 2 s, 4 s...).
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        manager_client.post(reverse("accounts:two_factor_disable"), {"code": codes[1]})
    assert not two_factor.has_device(manager)
    assert not StaticToken.objects.filter(device__user=manager).exists()
    assert AuditEntry.objects.filter(action="account.two_factor_disabled", user=manager).exists()
    client = Client()
    log_in(client, "mike_manager")
    assert client.get(reverse("customers:list")).status_code == 200  # no code asked


def test_required_two_factor_sends_an_admin_to_the_setup(admin_client, manager_client, settings):
    """REQUIRE_2FA_FOR_ADMINS: an admin without a device is sent to the setup from any page
    (the Django admin too); an account manager goes on as before."""
    settings.REQUIRE_2FA_FOR_ADMINS = True
    for url in (reverse("home"), reverse("customers:list"), "/admin/"):
        response = admin_client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("accounts:two_factor_setup")), url
    assert admin_client.get(reverse("accounts:two_factor_setup")).status_code == 200
    assert manager_client.get(reverse("customers:list")).status_code == 200


def test_with_two_factor_required_an_admin_who_set_it_up_goes_on(
    admin_user, admin_client, settings
):
    settings.REQUIRE_2FA_FOR_ADMINS = True
    enable_two_factor(admin_client, admin_user)
    assert admin_client.get(reverse("customers:list")).status_code == 200
    admin_client.post(reverse("accounts:two_factor_disable"), {"code": "x"})
    assert two_factor.has_device(admin_user)  # admins must keep it


def test_a_roleless_user_with_no_device_is_not_asked(db):
    user = get_user_model().objects.create_user("plain", password="password")
    client = Client()
    client.force_login(user)
    assert client.get(reverse("accounts:account")).status_code == 200
