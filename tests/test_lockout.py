"""Brute-force protection of the login (django-axes, accounts/lockout.py)."""

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth.backends import ModelBackend
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry

from .factories import UserFactory

LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"


@pytest.fixture(autouse=True)
def _axes_on(settings):
    """Axes is off in the test settings (Client.login() has no request); on here."""
    settings.AXES_ENABLED = True
    settings.AXES_FAILURE_LIMIT = 5
    settings.LOGIN_IP_FAILURE_LIMIT = 20
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


@pytest.fixture
def user(db):
    return UserFactory(username="lucy", password="right-password")


def attempt(client: Client, username: str, password: str, *, url: str = LOGIN, ip="10.0.0.1"):
    return client.post(url, {"username": username, "password": password}, REMOTE_ADDR=ip)


def test_four_wrong_passwords_then_the_right_one_logs_in(user, client):
    """Given 4 wrong passwords (one under the limit), when the right one comes, the user is in."""
    for _ in range(4):
        assert attempt(client, "lucy", "wrong").status_code == 200  # the form again
    response = attempt(client, "lucy", "right-password")
    assert response.status_code == 302
    assert client.get(reverse("accounts:account")).status_code == 200


def test_the_fifth_wrong_password_locks_and_the_right_one_is_then_refused(user, client):
    """Given 5 wrong passwords (exactly the limit), the 5th answers with the lockout page,
    and the right password after it is refused too: 429, with when to try again."""
    for _ in range(4):
        attempt(client, "lucy", "wrong")
    fifth = attempt(client, "lucy", "wrong")
    assert fifth.status_code == 429
    response = attempt(client, "lucy", "right-password")
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert 'data-testid="retry-at"' in response.content.decode()
    assert 800 <= int(response["Retry-After"]) <= 900  # about 15 minutes
    assert "_auth_user_id" not in client.session


def test_a_locked_login_does_not_hash_the_password(user, client):
    """Once locked, an attempt is refused before the password backend runs (no PBKDF2)."""
    for _ in range(5):
        attempt(client, "lucy", "wrong")
    with mock.patch.object(ModelBackend, "authenticate") as password_check:
        assert attempt(client, "lucy", "right-password").status_code == 429
    password_check.assert_not_called()


def test_a_right_password_forgives_only_that_users_failures(user, client):
    """After 4 wrong passwords and a right one, the count starts again for that user; but
    an insider logging in to their own account from the same address does not reset the
    count on someone else's (one more wrong password locks lucy)."""
    UserFactory(username="mallory", password="own-password")
    for _ in range(4):
        attempt(client, "lucy", "wrong")
    assert attempt(Client(), "mallory", "own-password").status_code == 302
    assert attempt(client, "lucy", "wrong").status_code == 429

    AccessAttempt.objects.all().delete()
    for _ in range(4):
        attempt(client, "lucy", "wrong")
    assert attempt(client, "lucy", "right-password").status_code == 302
    for _ in range(4):
        assert attempt(Client(), "lucy", "wrong").status_code == 200  # four more allowed


def test_the_lock_is_per_address_for_one_username(user, client):
    """A username locked from one address still logs in from another (its owner elsewhere)."""
    for _ in range(5):
        attempt(client, "lucy", "wrong", ip="10.0.0.1")
    assert attempt(Client(), "lucy", "right-password", ip="10.0.0.2").status_code == 302


def test_one_address_trying_many_usernames_is_locked(user, client, settings):
    """Given LOGIN_IP_FAILURE_LIMIT failures from one address over many usernames (each
    under its own limit), the address is locked, even for a right password."""
    settings.LOGIN_IP_FAILURE_LIMIT = 8
    for n in range(7):
        assert attempt(client, f"guess{n}", "wrong").status_code == 200
    assert attempt(client, "guess7", "wrong").status_code == 429  # the 8th
    assert attempt(client, "lucy", "right-password").status_code == 429
    assert attempt(Client(), "lucy", "right-password", ip="10.0.0.9").status_code == 302


def test_the_admin_login_is_protected_too(user, client):
    """The Django admin's login counts and locks like the app's own."""
    UserFactory(username="root", password="right-password", is_staff=True, is_superuser=True)
    for _ in range(5):
        attempt(client, "root", "wrong", url=ADMIN_LOGIN)
    response = attempt(client, "root", "right-password", url=ADMIN_LOGIN)
    assert response.status_code == 429
    # The failures on the admin login count for the app's login as well.
    assert attempt(client, "root", "right-password").status_code == 429


def test_the_lock_lifts_after_the_cool_off(user, client):
    """15 minutes after the last failure the right password works again; a minute before, not."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            attempt(client, "lucy", "wrong")
    with time_machine.travel(start + timedelta(minutes=14), tick=False):
        assert attempt(client, "lucy", "right-password").status_code == 429
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert attempt(client, "lucy", "right-password").status_code == 302


def test_an_attempt_while_locked_does_not_extend_the_lock(user, client):
    """Failures while locked do not push the time the page gave further away."""
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        for _ in range(5):
            attempt(client, "lucy", "wrong")
    with time_machine.travel(start + timedelta(minutes=10), tick=False):
        assert attempt(client, "lucy", "wrong").status_code == 429
    with time_machine.travel(start + timedelta(minutes=15, seconds=1), tick=False):
        assert attempt(client, "lucy", "right-password").status_code == 302


def test_the_lock_is_in_the_audit_log_once(user, client):
    """The failure that locks is logged (with the account as target); later ones are not."""
    for _ in range(7):
        attempt(client, "lucy", "wrong")
    entries = AuditEntry.objects.filter(action="account.login_locked")
    assert entries.count() == 1
    assert entries.get().target_id == str(user.pk)


def test_an_admin_unlocks_a_user_with_the_management_command(user, client):
    """`manage.py axes_reset_username lucy` lifts the lock at once."""
    for _ in range(5):
        attempt(client, "lucy", "wrong")
    call_command("axes_reset_username", "lucy")
    assert not AccessAttempt.objects.filter(username="lucy").exists()
    assert attempt(client, "lucy", "right-password").status_code == 302


def test_behind_the_proxy_the_forwarded_address_is_counted(user, settings):
    """With BEHIND_TLS_PROXY the last X-Forwarded-For entry is the client: two clients
    behind the proxy are counted apart."""
    settings.BEHIND_TLS_PROXY = True
    client = Client()
    for _ in range(5):
        client.post(
            LOGIN,
            {"username": "lucy", "password": "wrong"},
            REMOTE_ADDR="10.9.9.9",
            HTTP_X_FORWARDED_FOR="203.0.113.5",
        )
    assert AccessAttempt.objects.get(username="lucy").ip_address == "203.0.113.5"
    response = Client().post(
        LOGIN,
        {"username": "lucy", "password": "right-password"},
        REMOTE_ADDR="10.9.9.9",
        HTTP_X_FORWARDED_FOR="203.0.113.6",
    )
    assert response.status_code == 302
