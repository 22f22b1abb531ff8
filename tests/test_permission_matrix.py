"""Every URL pattern x every role x GET and POST: the status each role gets, and for a
refused POST, that nothing changed.

The URLs come from walking the URL resolver (included patterns too), so a new URL is
covered by default: its name missing from EXPECTED fails the test, telling the developer
to add it. Each pattern's kwargs come from real objects made once for the module (a
customer of the manager, one of the other manager, an import job of the manager...);
every test runs in a savepoint rolled back afterwards, so an allowed POST (an archive, a
delete) does not change what the next test sees.

Reading a row of EXPECTED: five cells, one per role in ROLES order (anonymous, staff,
the customer's account manager, another account manager, admin), each "GET/POST".
L is a redirect to the login page, 302 any other redirect. The objects in a URL belong
to the account manager ("manager"): "other" shows what an account manager gets for
someone else's customer (every role sees every customer; changing is refused, 403).
A POST sends the row's `data` (a valid form, for the writes that matter most: editing a
customer, logging an interaction, adjusting points, a referral), else nothing: for an
allowed form that is a 200 (or 422) with the errors, never a 500.
"""

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.sessions.models import Session
from django.db import connection, transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from customers.access import ACCOUNT_MANAGER, ADMIN, STAFF

ROLES = ("anonymous", "staff", "manager", "other", "admin")
METHODS = ("GET", "POST")


# --- What is not in the matrix, and why ----------------------------------------------
# Customer-facing pages reached through a signed token (no login): a made-up token is
# the friendly "bad link" page for everyone. Their own tests check real and tampered
# tokens: tests/test_outbox_public.py (unsubscribe, open pixel), tests/test_surveys_public.py
# (answer), tests/test_loyalty_pages.py (card), tests/test_onboarding.py (onboarding).
TOKEN_URLS = {
    "onboarding_public",
    "surveys:answer",
    "retention:loyalty_card",
    "retention:unsubscribe",
    "retention:unsubscribe_one_click",
    "retention:email_open",
}
# Signed inbound webhooks (no login, the body's HMAC is the authentication):
# tests/test_webhooks.py and tests/test_webhooks_usage.py.
WEBHOOK_URLS = {"api:webhook"}
# The REST API (token auth, 401/403/404 in JSON, no login redirect) has its own matrix
# over every endpoint and role: tests/test_api_permissions.py. Its two pages for people
# (the docs and the token page) are staff pages, in EXPECTED.
API_PREFIX = "api/v1/"
API_URLS = {"api:schema"}
# Django's admin: its own permission checks (is_staff, then the model permissions);
# test_the_django_admin_is_for_staff_accounts_only below checks its index and every
# changelist for each role.
ADMIN_NAMESPACE = "admin"


# --- The expected statuses ------------------------------------------------------------
@dataclass(frozen=True)
class Row:
    expect: str  # five "GET/POST" cells, in ROLES order
    kwargs: tuple[tuple[str, str], ...] = ()  # URL kwarg -> "@object" or a literal
    data: tuple[tuple[str, str], ...] = ()  # the POST's fields (default: an empty POST)


def row(expect: str, data: dict[str, str] | None = None, **kwargs: str) -> Row:
    cells = expect.split()
    assert len(cells) == len(ROLES) and all(cell.count("/") == 1 for cell in cells), expect
    return Row(expect, tuple(kwargs.items()), tuple((data or {}).items()))


# A valid POST for the writes that matter most: a refusal must then hold for a form that
# would have gone through (an empty POST is refused by the form anyway).
CUSTOMER_EDIT = {
    "name": "Overwritten",
    "status": "active",
    "preferred_language": "en",
    "monthly_value": "0",
}
INTERACTION = {
    "kind": "call",
    "direction": "outbound",
    "subject": "Planted",
    "occurred_at": "2026-01-05T10:00",
}


EXPECTED: dict[str, Row] = {
    "home": row("L/L 200/405 200/405 200/405 200/405"),
    "dashboard:table_csv": row("L/L 200/405 200/405 200/405 200/405", key="churn"),
    "healthz": row("200/200 200/200 200/200 200/200 200/200"),
    "livez": row("200/200 200/200 200/200 200/200 200/200"),
    "favicon": row("301/301 301/301 301/301 301/301 301/301"),
    "login": row("200/200 200/200 200/200 200/200 200/200"),
    "logout": row("405/L 405/L 405/L 405/L 405/L"),
    "set_language": row("302/302 302/302 302/302 302/302 302/302"),
    "customers:list": row("L/L 200/405 200/405 200/405 200/405"),
    "customers:create": row("L/L 403/403 200/422 200/422 200/422"),
    "customers:detail": row("L/L 200/405 200/405 200/405 200/405", pk="@customer"),
    "customers:edit": row(
        "L/L 403/403 200/302 403/403 200/302", data=CUSTOMER_EDIT, pk="@customer"
    ),
    "customers:archive": row("405/L 405/403 405/302 405/403 405/302", pk="@customer"),
    "customers:unarchive": row("405/L 405/403 405/302 405/403 405/302", pk="@customer"),
    "customers:timeline": row("L/L 200/405 200/405 200/405 200/405", pk="@customer"),
    "customers:panel": row("L/L 200/405 200/405 200/405 200/405", pk="@customer", name="risk"),
    "customers:log_interaction": row(
        "L/L 405/302 405/302 405/302 405/302", data=INTERACTION, pk="@customer"
    ),
    "customers:resolve_interaction": row(
        "L/L 405/403 405/302 405/403 405/302", pk="@customer", interaction_pk="@ticket"
    ),
    "customers:reopen_interaction": row(
        "L/L 405/403 405/302 405/403 405/302", pk="@customer", interaction_pk="@ticket"
    ),
    "customers:import": row("L/L 403/403 200/422 200/422 200/422"),
    "customers:import_detail": row("L/L 403/403 200/405 404/405 200/405", pk="@job"),
    "customers:import_progress": row("L/L 403/403 302/405 404/405 302/405", pk="@job"),
    "customers:import_apply": row("L/L 403/403 405/302 405/404 405/302", pk="@job"),
    "customers:import_cancel": row("L/L 403/403 405/302 405/404 405/302", pk="@job"),
    # @job is being checked, not waiting for its columns: the mapping page sends it on.
    "customers:import_mapping": row("L/L 403/403 302/302 404/404 302/302", pk="@job"),
    "customers:import_mapping_change": row("L/L 403/403 405/302 405/404 405/302", pk="@job"),
    "customers:export_customers": row("L/L 403/403 200/405 200/405 200/405"),
    "customers:export_interactions": row("L/L 403/403 200/405 200/405 200/405"),
    "customers:duplicates": row("L/L 403/403 403/403 403/403 200/405"),
    "customers:merge": row(
        "L/L 403/403 403/403 403/403 200/422", first="@customer", second="@others_customer"
    ),
    # GDPR (privacy/): admins only; the export is a POST answered with the zip.
    "privacy:customer_export": row("L/L 403/403 403/403 403/403 405/200", pk="@customer"),
    "privacy:customer_erase": row("L/L 403/403 403/403 403/403 200/422", pk="@customer"),
    "retention:queue": row("L/L 403/403 200/405 200/405 200/405"),
    "retention:case_action": row(
        "L/L 403/403 405/302 405/403 405/302", customer_id="@customer", action="claim"
    ),
    # One case's row, opened (htmx; a plain GET redirects to the queue with it open).
    "retention:case": row("L/L 403/403 302/405 403/405 302/405", customer_id="@customer"),
    # Bulk claim / assign: admins only (an empty POST: "choose at least one case").
    "retention:queue_bulk": row("L/L 403/403 405/403 405/403 405/302"),
    "retention:recompute": row("L/L 405/403 405/403 405/403 405/302"),
    "retention:run": row("L/L 403/405 403/405 403/405 200/405", pk="@run"),
    "retention:notifications": row("L/L 200/302 200/302 200/302 200/302"),
    "retention:risk_model": row("L/L 403/403 403/403 403/403 200/405"),
    "retention:risk_calibrate": row("L/L 403/403 403/403 403/403 405/302"),
    "retention:risk_calibration": row("L/L 403/403 403/403 403/403 302/405", pk="@weight_set"),
    "retention:risk_weights_apply": row("L/L 403/403 403/403 403/403 200/302", pk="@weight_set"),
    "retention:risk_backtests": row("L/L 403/403 403/403 403/403 200/422"),
    "retention:risk_backtest": row("L/L 403/403 403/403 403/403 200/405", pk="@backtest"),
    "retention:risk_backtest_csv": row("L/L 403/403 403/403 403/403 404/405", pk="@backtest"),
    "retention:onboarding": row("L/L 200/405 200/405 200/405 200/405"),
    "retention:template_list": row("L/L 200/405 200/405 200/405 200/405"),
    "retention:template_create": row("L/L 403/403 200/422 200/422 200/422"),
    "retention:template_edit": row("L/L 403/403 200/422 200/422 200/422", pk="@template"),
    "retention:template_delete": row("L/L 403/403 403/403 403/403 405/302", pk="@template"),
    "retention:checklist_start": row(
        "L/L 405/403 405/403 405/302 405/302", customer_id="@others_customer"
    ),
    "retention:checklist_cancel": row("L/L 405/403 405/302 405/403 405/302", pk="@checklist"),
    "retention:step_action": row("L/L 405/403 405/302 405/403 405/302", pk="@step", action="done"),
    "retention:loyalty": row("L/L 200/405 200/405 200/405 200/405"),
    "retention:loyalty_rewards": row("L/L 403/403 403/403 403/403 200/405"),
    "retention:loyalty_reward_create": row("L/L 403/403 403/403 403/403 200/422"),
    "retention:loyalty_reward_edit": row("L/L 403/403 403/403 403/403 200/422", pk="@reward"),
    "retention:loyalty_coupons": row("L/L 200/405 200/405 200/405 200/405"),
    "retention:loyalty_coupon_use": row("L/L 405/302 405/302 405/302 405/302", pk="@coupon"),
    "retention:loyalty_history": row("L/L 200/405 200/405 200/405 200/405", pk="@customer"),
    "retention:loyalty_adjust": row(
        "L/L 405/403 405/302 405/403 405/302",
        data={"points": "5", "reason": "Planted"},
        pk="@customer",
    ),
    "retention:loyalty_referral": row(
        "L/L 405/403 405/302 405/403 405/302",
        data={"referred_email": "bob@example.org"},
        pk="@customer",
    ),
    "retention:outbox": row("L/L 200/405 200/405 200/405 200/405"),
    "retention:outbox_detail": row("L/L 200/405 200/405 200/405 200/405", pk="@email"),
    "retention:outbox_retry": row("L/L 403/403 405/302 405/302 405/302", pk="@email"),
    "retention:email_templates": row("L/L 200/405 200/405 200/405 200/405"),
    "retention:email_template_create": row("L/L 403/403 200/422 200/422 200/422"),
    "retention:email_template_edit": row(
        "L/L 403/403 200/422 200/422 200/422", pk="@email_template"
    ),
    "retention:email_template_preview": row("L/L 405/200 405/200 405/200 405/200"),
    "retention:rules": row("L/L 200/405 200/405 200/405 200/405"),
    "retention:rule_create": row("L/L 403/403 200/422 200/422 200/422"),
    "retention:rule_edit": row("L/L 403/403 200/422 200/422 200/422", pk="@rule"),
    "retention:send_followup": row("L/L 403/403 200/422 403/403 200/422", customer_id="@customer"),
    "retention:signature": row("L/L 200/302 200/302 200/302 200/302"),
    "surveys:list": row("L/L 403/403 200/405 200/405 200/405"),
    "surveys:create": row("L/L 403/403 200/422 200/422 200/422"),
    "surveys:results": row("L/L 403/403 200/405 200/405 200/405", pk="@survey"),
    "surveys:edit": row("L/L 403/403 200/422 200/422 200/422", pk="@survey"),
    "surveys:translate": row("L/L 403/403 200/302 200/302 200/302", pk="@survey", language="de"),
    "surveys:answers": row("L/L 403/403 200/405 200/405 200/405", pk="@survey"),
    "surveys:export": row("L/L 403/403 200/405 200/405 200/405", pk="@survey"),
    "surveys:invitations": row("L/L 403/403 200/405 200/405 200/405", pk="@survey"),
    "surveys:send_segment": row("L/L 403/403 403/403 403/403 200/200", pk="@survey"),
    "surveys:send_customer": row(
        "L/L 403/403 405/302 405/403 405/302", customer_id="@customer", mode="link"
    ),
    "accounts:account": row("L/L 200/405 200/405 200/405 200/405"),
    "accounts:password_change": row("L/L 200/200 200/200 200/200 200/200"),
    "accounts:password_reset": row("200/200 200/200 200/200 200/200 200/200"),
    "accounts:password_reset_done": row("200/405 200/405 200/405 200/405 200/405"),
    "accounts:password_reset_complete": row("200/405 200/405 200/405 200/405 200/405"),
    "accounts:password_reset_confirm": row(
        "200/200 200/200 200/200 200/200 200/200", uidb64="MQ", token="not-a-token"
    ),
    "accounts:two_factor_setup": row("L/L 200/302 200/302 200/302 200/302"),
    "accounts:two_factor_backup_codes": row("L/L 302/405 302/405 302/405 302/405"),
    "accounts:two_factor_disable": row("L/L 405/302 405/302 405/302 405/302"),
    "accounts:two_factor_verify": row("L/L 302/302 302/302 302/302 302/302"),
    "audit:log": row("L/L 403/403 403/403 403/403 200/405"),
    "api:docs": row("L/L 200/405 200/405 200/405 200/405"),
    "api:token": row("L/L 200/200 200/200 200/200 200/200"),
}


def expected_status(name: str, role: str, method: str) -> str:
    cell = EXPECTED[name].expect.split()[ROLES.index(role)]
    return cell.split("/")[METHODS.index(method)]


# --- The URLs, from the resolver --------------------------------------------------------
def walk(resolver: URLResolver, namespace: str = "", prefix: str = ""):
    """(name, route) of every named pattern, included ones too."""
    for pattern in resolver.url_patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from walk(pattern, inner, route)
        elif isinstance(pattern, URLPattern):
            yield (f"{namespace}{pattern.name}" if pattern.name else "", route)


def matrix_names() -> list[str]:
    names = set()
    for name, route in walk(get_resolver()):
        if not name or name.startswith(f"{ADMIN_NAMESPACE}:"):
            continue  # unnamed: test_every_url_is_in_the_table says so
        if route.startswith(API_PREFIX) or name in API_URLS | TOKEN_URLS | WEBHOOK_URLS:
            continue
        names.add(name)
    return sorted(names)


NAMES = matrix_names()


def test_every_url_is_in_the_table():
    """A URL pattern without a name cannot be listed, and a named one missing from the
    table is not checked: both fail here, saying what to do."""
    unnamed = [
        route
        for name, route in walk(get_resolver())
        if not name and not route.startswith(f"{ADMIN_NAMESPACE}/")
    ]
    assert not unnamed, f"Name these URL patterns (the matrix is keyed by name): {unnamed}"
    missing = sorted(set(NAMES) - set(EXPECTED))
    assert not missing, (
        f"URL names missing from tests/test_permission_matrix.py EXPECTED: {missing}. Add a "
        "row for each: the status every role gets on GET and on POST, and its kwargs."
    )
    stale = sorted(set(EXPECTED) - set(NAMES))
    assert not stale, f"EXPECTED lists URL names that no longer exist: {stale}"


# --- The world: made once for the module -------------------------------------------------
def make_world() -> dict:
    """Users of every role and one object of every kind a URL takes (also used by the
    browser sweep of tests/test_csp_browser.py)."""
    from retention.loyalty import ledger, redemption
    from retention.models import (
        Backtest,
        CustomerRisk,
        EmailTemplate,
        FollowUpRule,
        OutgoingEmail,
        RiskConfig,
        RiskRun,
        WeightSet,
    )
    from retention.onboarding.checklists import checklist_start

    from .factories import (
        ChecklistTemplateFactory,
        CustomerFactory,
        InteractionFactory,
        RewardFactory,
        UserFactory,
        import_job,
    )
    from .factories_surveys import nps_survey

    users = {
        "staff": UserFactory(username="matrix_staff", role=STAFF),
        "manager": UserFactory(username="matrix_manager", role=ACCOUNT_MANAGER),
        "other": UserFactory(username="matrix_other", role=ACCOUNT_MANAGER),
        "admin": UserFactory(username="matrix_admin", role=ADMIN, is_staff=True),
    }
    # Settings rows made on first read (a form page reads them): made here, so a
    # refused POST that reads them is not seen as a write.
    RiskConfig.load()
    customer = CustomerFactory(owner=users["manager"], email="ada@example.org")
    others_customer = CustomerFactory(owner=users["other"], email="bob@example.org")
    # In the at-risk queue, so the queue's row actions have a case to act on.
    CustomerRisk.objects.create(
        customer=customer,
        score=70,
        level="high",
        flags=[],
        computed_for=timezone.localdate(),
        level_since=timezone.localdate(),
    )
    template = ChecklistTemplateFactory()
    checklist = checklist_start(customer=customer, template=template)
    reward = RewardFactory(points_price=10)
    ledger.points_earn(customer=customer, points=100, reason="Start", source_key="m")
    email_template = EmailTemplate.objects.create(name="Hello")
    objects = {
        "customer": customer,
        "others_customer": others_customer,
        "ticket": InteractionFactory(customer=customer, kind="complaint"),
        "job": import_job(
            target="customers",
            filename="x.csv",
            content="name\nA\n",
            created_by=users["manager"],
        ),
        "run": RiskRun.objects.create(as_of=timezone.localdate()),
        "template": template,
        "checklist": checklist,
        "step": checklist.steps.first(),
        "reward": reward,
        "coupon": redemption.reward_redeem(customer=customer, reward=reward),
        "survey": nps_survey(),
        "email_template": email_template,
        "rule": FollowUpRule.objects.create(
            name="R", trigger="flag", flag_key="x", template=email_template
        ),
        "email": OutgoingEmail.objects.create(
            customer=customer, kind="manual", to_email="a@example.org", idempotency_key="k"
        ),
        "backtest": Backtest.objects.create(as_of=timezone.localdate(), horizon_days=90),
        "weight_set": WeightSet.objects.create(),
    }
    return {"users": users, "objects": objects}


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """make_world() in a transaction that stays open for the module (each test is a
    savepoint inside it) and is rolled back at the end."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield make_world()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def url_for(name: str, world) -> str:
    kwargs = {
        key: world["objects"][value[1:]].pk if value.startswith("@") else value
        for key, value in EXPECTED[name].kwargs
    }
    return reverse(name, kwargs=kwargs)


def client_for(role: str, world) -> Client:
    client = Client()
    if role != "anonymous":
        client.force_login(world["users"][role])
    return client


def snapshot_sql() -> str:
    """One query over every model's table: its row count, highest id, and latest
    updated_at where it has one (an edit changes no count; a delete and an insert
    change the highest id). Sessions are left out: logging in writes one."""
    quote = connection.ops.quote_name
    parts = []
    for model in apps.get_models():
        opts = model._meta
        if model is Session or opts.proxy or not opts.managed:
            continue
        columns = {field.name: field.column for field in opts.concrete_fields}
        # As text: one UNION column holds integer, text and date ids (PostgreSQL checks).
        latest = "NULL"
        if "updated_at" in columns:
            latest = f"CAST(MAX({quote(columns['updated_at'])}) AS TEXT)"
        highest = f"CAST(MAX({quote(opts.pk.column)}) AS TEXT)"
        parts.append(
            f"SELECT '{opts.label}', COUNT(*), {highest}, {latest} "  # noqa: S608
            f"FROM {quote(opts.db_table)}"
        )
    return " UNION ALL ".join(parts)


def snapshot() -> dict[str, tuple]:
    with connection.cursor() as cursor:
        cursor.execute(snapshot_sql())
        return {label: tuple(values) for label, *values in cursor.fetchall()}


def is_login_redirect(response) -> bool:
    return response.status_code == 302 and response["Location"].startswith(reverse("login"))


def status_of(response) -> str:
    return "L" if is_login_redirect(response) else str(response.status_code)


REFUSED = {"L", "400", "401", "403", "404", "405", "422"}


@pytest.mark.django_db
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name", NAMES)
def test_the_matrix(world, name, role, method):
    """Given a user of `role`, when they GET or POST (empty) the URL `name`, then the
    status is the table's; and when the POST is refused, no row anywhere changed."""
    if name not in EXPECTED:
        pytest.fail(f"{name} is not in EXPECTED (see test_every_url_is_in_the_table)")
    client = client_for(role, world)
    url = url_for(name, world)
    expected = expected_status(name, role, method)
    before = snapshot() if method == "POST" and expected in REFUSED else None

    data = dict(EXPECTED[name].data)
    response = client.get(url) if method == "GET" else client.post(url, data)

    got = status_of(response)
    assert got == expected, f"{method} {url} ({name}) as {role}: {got}, expected {expected}"
    if before is not None:
        after = snapshot()
        changed = {
            label: (before[label], after[label])
            for label in before
            if before[label] != after[label]
        }
        assert not changed, f"refused POST {url} ({name}) as {role} changed {changed}"


# Pages for any logged-in user, whatever the role: their own account, logging out.
FOR_ANY_USER = {"logout"} | {name for name in EXPECTED if name.startswith("accounts:")}


@pytest.mark.django_db
@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("name", NAMES)
def test_a_user_without_a_role_gets_nothing(world, name, method):
    """Given a logged-in user with no role (an account an admin has not set up yet), when
    they GET or POST any page that needs a login, then 403, 404 or 405, and nothing
    changed; only their own account pages answer them."""
    if name not in EXPECTED:
        pytest.fail(f"{name} is not in EXPECTED (see test_every_url_is_in_the_table)")
    if expected_status(name, "anonymous", method) != "L" or name in FOR_ANY_USER:
        pytest.skip("no login needed, or the user's own account")
    from .factories import UserFactory

    client = Client()
    client.force_login(UserFactory(username="matrix_norole"))
    url = url_for(name, world)
    before = snapshot()

    response = client.get(url) if method == "GET" else client.post(url)

    assert response.status_code in (403, 404, 405), f"{method} {url} ({name}) without a role"
    assert snapshot() == before, f"{method} {url} ({name}) without a role changed something"


@pytest.mark.django_db
@pytest.mark.parametrize("role", ROLES)
def test_the_django_admin_is_for_staff_accounts_only(world, role):
    """The Django admin's index and every model's changelist: a login redirect for every
    role but admin (is_staff), GET and POST, and a refused POST changes nothing; the
    admin role sees the changelists its model permissions allow (403 for the others)."""
    client = client_for(role, world)
    user = world["users"].get(role)
    urls = {reverse("admin:index"): True}
    for model in admin.site._registry:
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        urls[url] = role == "admin" and any(
            user.has_perm(f"{opts.app_label}.{action}_{opts.model_name}")
            for action in ("view", "change")
        )
    before = snapshot()
    for url, visible in urls.items():
        get, post = client.get(url), client.post(url)
        if role == "admin":
            assert get.status_code == (200 if visible else 403), url
        else:
            for response in (get, post):
                assert response.status_code == 302, url
                assert response["Location"].startswith(reverse("admin:login")), url
    if role != "admin":
        assert snapshot() == before
