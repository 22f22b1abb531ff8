"""Every staff URL needs a login and a role; role rules per action."""

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from customers.models import ImportJob
from retention.models import RiskRun
from retention.onboarding.checklists import checklist_start

from .factories import ChecklistTemplateFactory, CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

# Public URLs: no login needed. Everything else must redirect anonymous users.
PUBLIC = {
    "login",
    "healthz",
    "livez",
    "set_language",
    "logout",
    "onboarding_public",
    "surveys:answer",
    "retention:loyalty_card",
}
# Reached from an email with a signed token (tests/test_outbox_public.py checks them).
PUBLIC |= {"retention:unsubscribe", "retention:unsubscribe_one_click", "retention:email_open"}
# Inbound webhooks: no login, the body is signed with the source's secret
# (tests/test_webhooks.py checks the signature, the timestamp and replays).
PUBLIC |= {"api:webhook"}
# The REST API answers without a login redirect (401 without a token): its own matrix is
# tests/test_api_permissions.py. Its token and docs pages are staff pages, in the one below.
API = {
    "api:schema",
    "api:customer-list",
    "api:customer-detail",
    "api:customer-archive",
    "api:customer-unarchive",
    "api:company-list",
    "api:company-detail",
    "api:interaction-list",
    "api:interaction-detail",
    "api:risk-list",
    "api:risk-detail",
    "api:survey-list",
    "api:survey-detail",
    "api:survey-response-list",
    "api:survey-response-detail",
    "api:points-account-list",
    "api:points-account-detail",
    "api:points-account-adjust",
    "api:points-account-redeem",
    "api:points-entry-list",
    "api:points-entry-detail",
    "api:reward-list",
    "api:reward-detail",
    "api:usage",
}


def staff_urls(customer, other, job, run, checklist, ticket) -> dict[str, str]:
    """One concrete URL per named staff route (the test below checks none is missing)."""
    return {
        "customers:list": reverse("customers:list"),
        "customers:create": reverse("customers:create"),
        "customers:detail": reverse("customers:detail", args=[customer.pk]),
        "customers:edit": reverse("customers:edit", args=[customer.pk]),
        "customers:archive": reverse("customers:archive", args=[customer.pk]),
        "customers:unarchive": reverse("customers:unarchive", args=[customer.pk]),
        "customers:timeline": reverse("customers:timeline", args=[customer.pk]),
        "customers:panel": reverse("customers:panel", args=[customer.pk, "risk"]),
        "customers:log_interaction": reverse("customers:log_interaction", args=[customer.pk]),
        "customers:resolve_interaction": reverse(
            "customers:resolve_interaction", args=[customer.pk, ticket.pk]
        ),
        "customers:reopen_interaction": reverse(
            "customers:reopen_interaction", args=[customer.pk, ticket.pk]
        ),
        "customers:import": reverse("customers:import"),
        "customers:import_detail": reverse("customers:import_detail", args=[job.pk]),
        "customers:import_progress": reverse("customers:import_progress", args=[job.pk]),
        "customers:import_apply": reverse("customers:import_apply", args=[job.pk]),
        "customers:import_cancel": reverse("customers:import_cancel", args=[job.pk]),
        "customers:export_customers": reverse("customers:export_customers"),
        "customers:export_interactions": reverse("customers:export_interactions"),
        "customers:duplicates": reverse("customers:duplicates"),
        "customers:merge": reverse("customers:merge", args=[customer.pk, other.pk]),
        "home": reverse("home"),
        "dashboard:table_csv": reverse("dashboard:table_csv", args=["churn"]),
        "retention:queue": reverse("retention:queue"),
        "retention:case_action": reverse("retention:case_action", args=[customer.pk, "claim"]),
        "retention:recompute": reverse("retention:recompute"),
        "retention:run": reverse("retention:run", args=[run.pk]),
        "retention:notifications": reverse("retention:notifications"),
        "retention:onboarding": reverse("retention:onboarding"),
        "retention:template_list": reverse("retention:template_list"),
        "retention:template_create": reverse("retention:template_create"),
        "retention:template_edit": reverse("retention:template_edit", args=[checklist.template_id]),
        "retention:template_delete": reverse(
            "retention:template_delete", args=[checklist.template_id]
        ),
        "retention:checklist_start": reverse("retention:checklist_start", args=[other.pk]),
        "retention:checklist_cancel": reverse("retention:checklist_cancel", args=[checklist.pk]),
        "retention:step_action": reverse(
            "retention:step_action", args=[checklist.steps.first().pk, "done"]
        ),
        "retention:loyalty": reverse("retention:loyalty"),
        "retention:loyalty_rewards": reverse("retention:loyalty_rewards"),
        "retention:loyalty_reward_create": reverse("retention:loyalty_reward_create"),
        "retention:loyalty_reward_edit": reverse("retention:loyalty_reward_edit", args=[1]),
        "retention:loyalty_coupons": reverse("retention:loyalty_coupons"),
        "retention:loyalty_coupon_use": reverse("retention:loyalty_coupon_use", args=[1]),
        "retention:loyalty_history": reverse("retention:loyalty_history", args=[customer.pk]),
        "retention:loyalty_adjust": reverse("retention:loyalty_adjust", args=[customer.pk]),
        "retention:loyalty_referral": reverse("retention:loyalty_referral", args=[customer.pk]),
        "api:token": reverse("api:token"),
        "api:docs": reverse("api:docs"),
    }


def risk_model_urls() -> dict[str, str]:
    """The risk model's admin pages (tests/test_risk_pages.py checks who gets in)."""
    from retention.models import Backtest, WeightSet

    backtest = Backtest.objects.create(as_of=timezone.localdate(), horizon_days=90)
    weight_set = WeightSet.objects.create()
    return {
        "retention:risk_model": reverse("retention:risk_model"),
        "retention:risk_calibrate": reverse("retention:risk_calibrate"),
        "retention:risk_calibration": reverse("retention:risk_calibration", args=[weight_set.pk]),
        "retention:risk_weights_apply": reverse(
            "retention:risk_weights_apply", args=[weight_set.pk]
        ),
        "retention:risk_backtests": reverse("retention:risk_backtests"),
        "retention:risk_backtest": reverse("retention:risk_backtest", args=[backtest.pk]),
        "retention:risk_backtest_csv": reverse("retention:risk_backtest_csv", args=[backtest.pk]),
    }


def survey_urls(customer, survey) -> dict[str, str]:
    return {
        "surveys:list": reverse("surveys:list"),
        "surveys:create": reverse("surveys:create"),
        "surveys:results": reverse("surveys:results", args=[survey.pk]),
        "surveys:edit": reverse("surveys:edit", args=[survey.pk]),
        "surveys:translate": reverse("surveys:translate", args=[survey.pk, "de"]),
        "surveys:answers": reverse("surveys:answers", args=[survey.pk]),
        "surveys:export": reverse("surveys:export", args=[survey.pk]),
        "surveys:invitations": reverse("surveys:invitations", args=[survey.pk]),
        "surveys:send_segment": reverse("surveys:send_segment", args=[survey.pk]),
        "surveys:send_customer": reverse("surveys:send_customer", args=[customer.pk, "link"]),
    }


def email_urls(customer) -> dict[str, str]:
    from retention.models import EmailTemplate, FollowUpRule, OutgoingEmail

    template = EmailTemplate.objects.create(name="Hello")
    rule = FollowUpRule.objects.create(name="R", trigger="flag", flag_key="x", template=template)
    email = OutgoingEmail.objects.create(
        customer=customer, kind="manual", to_email="a@example.org", idempotency_key="k"
    )
    return {
        "retention:outbox": reverse("retention:outbox"),
        "retention:outbox_detail": reverse("retention:outbox_detail", args=[email.pk]),
        "retention:outbox_retry": reverse("retention:outbox_retry", args=[email.pk]),
        "retention:email_templates": reverse("retention:email_templates"),
        "retention:email_template_create": reverse("retention:email_template_create"),
        "retention:email_template_edit": reverse(
            "retention:email_template_edit", args=[template.pk]
        ),
        "retention:email_template_preview": reverse("retention:email_template_preview"),
        "retention:rules": reverse("retention:rules"),
        "retention:rule_create": reverse("retention:rule_create"),
        "retention:rule_edit": reverse("retention:rule_edit", args=[rule.pk]),
        "retention:send_followup": reverse("retention:send_followup", args=[customer.pk]),
        "retention:signature": reverse("retention:signature"),
    }


@pytest.fixture
def urls(admin_user):
    from surveys.models import Survey

    customer, other = CustomerFactory(), CustomerFactory()
    job = ImportJob.objects.create(
        target="customers", filename="x.csv", content="name\nA\n", created_by=admin_user
    )
    run = RiskRun.objects.create(as_of=timezone.localdate())
    checklist = checklist_start(customer=customer, template=ChecklistTemplateFactory())
    survey = Survey.objects.get(kind="exit")
    ticket = InteractionFactory(customer=customer, kind="complaint")
    return {
        **staff_urls(customer, other, job, run, checklist, ticket),
        **survey_urls(customer, survey),
        **email_urls(customer),
        **risk_model_urls(),
    }


def _named_routes(resolver=None, namespace="") -> set[str]:
    resolver = resolver or get_resolver()
    names = set()
    for pattern in resolver.url_patterns:
        if hasattr(pattern, "url_patterns"):
            if pattern.namespace == "admin":
                continue
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            names |= _named_routes(pattern, inner)
        elif pattern.name:
            names.add(f"{namespace}{pattern.name}")
    return names


def test_the_matrix_covers_every_named_staff_route(urls):
    assert _named_routes() - PUBLIC - API == set(urls)


@pytest.mark.parametrize("method", ["get", "post"])
def test_anonymous_users_are_sent_to_login(client, urls, method):
    for name, url in urls.items():
        response = getattr(client, method)(url)
        if response.status_code == 405:
            continue  # e.g. GET on a POST-only action: nothing is revealed or done
        assert response.status_code == 302, name
        assert response["Location"].startswith(reverse("login")), name


def test_a_user_without_a_role_gets_nothing(client, roleless_user, urls):
    client.force_login(roleless_user)
    for name, url in urls.items():
        assert client.get(url).status_code in (403, 404, 405), name


def test_staff_reads_and_logs_but_does_not_change(staff_client, urls):
    assert staff_client.get(urls["home"]).status_code == 200
    assert staff_client.get(urls["customers:list"]).status_code == 200
    assert staff_client.get(urls["customers:detail"]).status_code == 200
    for name in (
        "customers:create",
        "customers:edit",
        "customers:import",
        "customers:export_customers",
        "customers:duplicates",
        "customers:merge",
    ):
        assert staff_client.get(urls[name]).status_code == 403, name


def test_account_manager_cannot_merge(manager_client, urls):
    assert manager_client.get(urls["customers:duplicates"]).status_code == 403
    assert manager_client.get(urls["customers:merge"]).status_code == 403


def test_admin_reaches_every_page(admin_client, urls):
    for name in (
        "home",
        "dashboard:table_csv",
        "customers:list",
        "customers:detail",
        "customers:edit",
        "customers:create",
        "customers:duplicates",
        "customers:merge",
        "customers:import",
    ):
        assert admin_client.get(urls[name]).status_code == 200, name


def test_django_admin_needs_staff_login(client):
    response = client.get("/admin/customers/customer/")
    assert response.status_code == 302
