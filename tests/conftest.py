"""Persona fixtures shared by every test: admin, two account managers, staff, no role."""

# locmem: for the tests that read `mail.backends.locmem.EmailBackend` as an attribute
# (tests/test_surveys_leases.py): a submodule is an attribute of its package only once
# imported, and which earlier test imported it depended on the test order.
import django.core.mail.backends.locmem  # noqa: F401
import pytest
from django.test import Client

from customers.access import ACCOUNT_MANAGER, ADMIN, STAFF

from .factories import CustomerFactory, UserFactory


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache (cached figures, rate-limit counters)."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture(autouse=True)
def _no_language_left_over():
    """Every test starts in the default language: a request's language (LocaleMiddleware,
    a user's stored choice) stays active in the thread after the response, and code a test
    then calls directly (an import, a task) would run in it."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def admin_user(db):
    return UserFactory(username="alice_admin", role=ADMIN, is_staff=True)


@pytest.fixture
def manager(db):
    return UserFactory(username="mike_manager", role=ACCOUNT_MANAGER)


@pytest.fixture
def other_manager(db):
    return UserFactory(username="olga_other", role=ACCOUNT_MANAGER)


@pytest.fixture
def staff_user(db):
    return UserFactory(username="sam_staff", role=STAFF)


@pytest.fixture
def roleless_user(db):
    return UserFactory(username="nora_norole")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def admin_client(admin_user):
    return _client_for(admin_user)


@pytest.fixture
def manager_client(manager):
    return _client_for(manager)


@pytest.fixture
def staff_client(staff_user):
    return _client_for(staff_user)


@pytest.fixture
def customer(manager):
    """A customer owned by `manager`."""
    return CustomerFactory(name="Ada Lovelace", email="ada@example.org", owner=manager)


@pytest.fixture
def others_customer(other_manager):
    """A customer owned by another account manager."""
    return CustomerFactory(name="Charles Babbage", email="charles@example.org", owner=other_manager)


# --- Browser tests: Playwright driving the system's Chromium -------------------

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser():
    import os
    import shutil

    from playwright.sync_api import sync_playwright

    path = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
    if not os.path.exists(path):
        pytest.fail(
            f"Chromium not found at {path}: `make test` installs it (apt-get install chromium)"
        )
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls
    # made by fixtures in the same thread are still synchronous and safe.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server, settings):
    settings.CUSTOMER_CARDS_LAZY = True  # as shipped: the cards load after the page
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def log_in(page, username: str, password: str = "password") -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
