"""Every view, fed hostile numbers in every id of its address and every parameter it
reads, answers without a server error (issue 17: "²".isdigit() is True and int("²")
raises; ids past PostgreSQL's bigint overflow in the database, on PostgreSQL only).

The URL patterns come from walking the resolver, so a new view is covered by default;
it needs an entry in READS (the query and form parameters it reads). While the views run,
every read of request.GET / request.POST is recorded: a view that reads a parameter
missing from its READS entry fails `test_the_table_lists_every_parameter_a_view_reads`.
"""

import fnmatch
import json
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import quote

import pytest
from django.db import transaction
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.converters import IntConverter
from django.utils import timezone

from api.models import WebhookSource
from customers.links import make_token
from customers.models import Customer, Interaction
from retention.loyalty import card, ledger, redemption
from retention.models import CustomerRisk, PointsEntry, RiskRun
from retention.onboarding import checklists

from .factories import (
    ChecklistTemplateFactory,
    CompanyFactory,
    CustomerFactory,
    InteractionFactory,
    RewardFactory,
    import_job,
)
from .factories_surveys import invitation_with_token, nps_survey
from .outbox_helpers import make_rule, make_template, queue_email

pytestmark = pytest.mark.django_db

HOSTILE = ["²", "①", "٣", "99999999999999999999999", "-1", "0", "1e9", ""]
# Only these fit a path's <int:...> ([0-9]+); the others are refused by the resolver.
HOSTILE_IN_PATH = ["99999999999999999999999", "9223372036854775808", "0", "²"]

# Not our views: the Django admin, and the API schema and docs (generated, slow).
SKIPPED_PREFIXES = ("admin/", "api/schema/", "api/docs/")
# Names a view may read without listing them: the CSRF token, read by the middleware.
PROBE = "probe"
ALWAYS_READ = {"csrfmiddlewaretoken", PROBE}
PUBLIC = {
    "healthz",
    "livez",
    "login",
    "logout",
    "set_language",
    "onboarding_public",
    "retention:loyalty_card",
    "retention:unsubscribe",
    "retention:unsubscribe_one_click",
    "retention:email_open",
    "surveys:answer",
    "api:webhook",
    "accounts:password_reset",
    "accounts:password_reset_done",
    "accounts:password_reset_confirm",
    "accounts:password_reset_complete",
    "accounts:two_factor_verify",
}

# url name -> the query and form parameters the view reads (fnmatch patterns allowed);
# the API's JSON fields are listed too (fed as JSON, not recorded).
_CUSTOMER_FILTER = {
    "archived",
    "cohort",
    "customer_on",
    "gained",
    "lost",
    "owner",
    "q",
    "renewal",
    "sort",
    "status",
    "tag",
}
_CUSTOMER_FORM = {
    "address",
    "city",
    "company_name",
    "country",
    "customer_since",
    "email",
    "external_id",
    "marketing_consent",
    "monthly_value",
    "name",
    "notes",
    "owner",
    "phone",
    "plan",
    "preferred_language",
    "renewal_date",
    "status",
    "tag_names",
}
_DASHBOARD = {"end", "on", "owner", "period", "start"}
_API_LIST = {"cursor", "format", "page_size"}
_REWARD_FORM = {"active", "description", "kind", "name", "points_price", "stock", "value"}
_RULE_FORM = {
    "active",
    "days_after_churn",
    "days_overdue",
    "flag_key",
    "min_level",
    "name",
    "position",
    "repeat_after_days",
    "template",
    "trigger",
}
_SURVEY_FORM = {
    "automatic",
    "intro",
    "is_active",
    "kind",
    "name",
    "thank_you",
    "title",
    "questions-*",
}
READS: dict[str, set[str]] = {
    "home": _DASHBOARD,
    "dashboard:table_csv": _DASHBOARD,
    "login": {"next", "password", "username"},
    "logout": {"next"},
    "set_language": {"language", "next"},
    "accounts:password_change": {"new_password1", "new_password2", "old_password"},
    "accounts:password_reset": {"email"},
    "accounts:two_factor_setup": {"next", "code"},
    "accounts:two_factor_disable": {"code"},
    "accounts:two_factor_verify": {"next", "code"},
    "customers:list": _CUSTOMER_FILTER | {"page"},
    "customers:create": _CUSTOMER_FORM,
    "customers:edit": _CUSTOMER_FORM,
    "customers:timeline": {"skip", "until"},
    "customers:log_interaction": {
        "amount",
        "body",
        "direction",
        "initial-occurred_at",
        "kind",
        "occurred_at",
        "sentiment",
        "subject",
    },
    "customers:import": {"file-clear", "mode", "page", "target"},
    "customers:import_detail": {"errors_page", "column-*"},
    "customers:import_apply": {"mode"},
    "customers:export_customers": _CUSTOMER_FILTER,
    "customers:export_interactions": _CUSTOMER_FILTER,
    "customers:duplicates": {"email_page", "phone_page"},
    "customers:merge": {"survivor"},
    "retention:queue": {"cases", "level", "open", "owner", "page"},
    "retention:case": {"level", "owner", "page"},
    "retention:queue_bulk": {"assign", "ids", "level", "next", "owner", "page"},
    "retention:case_action": {
        "body",
        "kind",
        "level",
        "next",
        "page",
        "outcome",
        "owner",
        "reason",
        "subject",
        "until",
    },
    "retention:notifications": {"page"},
    "retention:risk_model": {"page"},
    "retention:risk_backtests": {"as_of", "horizon_days", "page"},
    "retention:onboarding": {"from", "owner", "page", "q", "state", "template", "to"},
    "retention:template_list": {"page", "q"},
    "retention:template_create": {"description", "is_default", "name", "plan", "steps-*"},
    "retention:template_edit": {"description", "is_default", "name", "plan", "steps-*"},
    "retention:checklist_start": {"template"},
    "retention:step_action": {"reason"},
    "retention:loyalty_rewards": {"page", "q"},
    "retention:loyalty_reward_create": _REWARD_FORM,
    "retention:loyalty_reward_edit": _REWARD_FORM,
    "retention:loyalty_coupons": {"from", "owner", "page", "q", "reward", "status", "to"},
    "retention:loyalty_coupon_use": {"next"},
    "retention:loyalty_history": {"page"},
    "retention:loyalty_adjust": {"points", "reason"},
    "retention:loyalty_referral": {"referred_email"},
    "retention:loyalty_card": {"issued", "reward"},
    "retention:outbox": {"kind", "page", "q", "status"},
    "retention:email_templates": {"page", "q"},
    "retention:email_template_create": {"customer", "description", "name", "translations-*"},
    "retention:email_template_edit": {"customer", "description", "name", "translations-*"},
    "retention:email_template_preview": {
        "body_html",
        "body_text",
        "language",
        "prefix",
        "preview_customer",
        "subject",
    },
    "retention:rules": {"active", "page", "q"},
    "retention:rule_create": _RULE_FORM,
    "retention:rule_edit": _RULE_FORM,
    "retention:send_followup": {"next", "template"},
    "retention:signature": {"signature"},
    "surveys:list": {"kind", "page", "q"},
    "surveys:create": _SURVEY_FORM,
    "surveys:results": {"period"},
    "surveys:edit": _SURVEY_FORM,
    "surveys:translate": {"question_*_text", "question_*_choice_*", "survey_*"},
    "surveys:answers": {"page", "q", "question"},
    "surveys:invitations": {"from", "owner", "page", "q", "score", "status", "to"},
    "surveys:send_segment": _CUSTOMER_FILTER | {"confirm", "preview"},
    "surveys:send_customer": {"survey"},
    "surveys:answer": {"q*"},
    "onboarding_public": {"done", "step"},
    "audit:log": {"action", "page", "q", "since", "target_id", "target_type", "until", "user"},
    "privacy:customer_erase": {"name", "understood"},
    "api:usage": {"format", "customer", "events"},
    "api:customer-list": (_CUSTOMER_FILTER - {"sort"}) | _API_LIST | {"owner", "name"},
    "api:customer-detail": {"format"},
    "api:customer-archive": {"format"},
    "api:customer-unarchive": {"format"},
    "api:company-list": _API_LIST | {"name"},
    "api:company-detail": {"format"},
    "api:interaction-list": _API_LIST
    | {"customer", "kind", "occurred_after", "occurred_before", "amount"},
    "api:interaction-detail": {"customer", "format", "kind", "occurred_after", "occurred_before"},
    "api:risk-list": _API_LIST | {"customer", "level"},
    "api:risk-detail": {"customer", "format", "level"},
    "api:survey-list": _API_LIST,
    "api:survey-detail": {"format"},
    "api:survey-response-list": _API_LIST | {"customer", "submitted_after", "survey"},
    "api:survey-response-detail": {"customer", "format", "submitted_after", "survey"},
    "api:points-account-list": _API_LIST,
    "api:points-account-detail": {"format"},
    "api:points-account-adjust": {"format", "points", "reason"},
    "api:points-account-redeem": {"format", "reward"},
    "api:points-entry-list": _API_LIST | {"customer", "kind"},
    "api:points-entry-detail": {"customer", "format", "kind"},
    "api:reward-list": _API_LIST,
    "api:reward-detail": {"format"},
}


# --- The views, by walking the resolver ------------------------------------------------


@dataclass
class Route:
    name: str
    pattern: str
    params: list[str]
    int_params: set[str] = field(default_factory=set)


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = ""):
    for entry in resolver.url_patterns:
        pattern = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            ns = ":".join(filter(None, [namespace, entry.namespace or ""]))
            yield from _walk(entry, pattern, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry, pattern, ":".join(filter(None, [namespace, entry.name]))


def routes() -> list[Route]:
    found: dict[str, Route] = {}
    for entry, pattern, name in _walk(get_resolver()):
        if pattern.startswith(SKIPPED_PREFIXES) or "(?P<format>" in pattern:
            continue
        regex = entry.pattern.regex
        params = list(regex.groupindex)
        converters = getattr(entry.pattern, "converters", {})
        ints = {p for p, c in converters.items() if isinstance(c, IntConverter)}
        if name.startswith("api:"):  # the router's [^/.]+ ids
            ints |= {p for p in params if p in ("pk", "customer")}
        found.setdefault(name, Route(name, pattern, params, ints))
    return list(found.values())


# --- A world with one object of each kind --------------------------------------------


@pytest.fixture
def world(admin_user, manager, settings):
    settings.SURVEY_RATE_LIMIT_PER_IP = settings.SURVEY_RATE_LIMIT_PER_TOKEN = 0
    today = timezone.localdate()
    customer = CustomerFactory(owner=manager, status=Customer.Status.ONBOARDING)
    other = CustomerFactory(owner=manager)
    complaint = InteractionFactory(customer=customer, kind=Interaction.Kind.COMPLAINT)
    CustomerRisk.objects.create(
        customer=customer,
        score=50,
        level="medium",
        base=10,
        value=Decimal("100"),
        expected_loss=Decimal("50"),
        flags=[],
        computed_for=today,
        level_since=today,
    )
    checklist = checklists.checklist_start(customer=customer, template=ChecklistTemplateFactory())
    reward = RewardFactory(points_price=10)
    ledger.points_adjust(customer=customer, points=100, reason="start", author=None)
    coupon = redemption.reward_redeem(customer=customer, reward=reward)
    template = make_template("Hostile numbers")
    email = queue_email(customer, template)
    survey = nps_survey()
    invitation, survey_token = invitation_with_token(survey, customer=customer)
    ids = {
        "customer": customer.pk,
        "interaction": complaint.pk,
        "other": other.pk,
        "job": import_job(
            target="customers", created_by=admin_user, content="name,email\nAda,ada@example.org\n"
        ).pk,
        "run": RiskRun.objects.create(as_of=today).pk,
        "checklist_template": checklist.template_id or ChecklistTemplateFactory().pk,
        "checklist": checklist.pk,
        "step": checklist.steps.first().pk,
        "reward": reward.pk,
        "coupon": coupon.pk,
        "email": email.pk,
        "template": template.pk,
        "rule": make_rule(template).pk,
        "survey": survey.pk,
        "company": CompanyFactory().pk,
        "source": WebhookSource.objects.create(name="Shop", act_as=manager).pk,
        "entry": PointsEntry.objects.filter(customer=customer).first().pk,
    }
    tokens = {
        "onboarding_public": make_token(checklists.LINK_PURPOSE, customer.pk),
        "retention:loyalty_card": make_token(card.LINK_PURPOSE, customer.pk),
        "retention:unsubscribe": make_token("unsubscribe", customer.pk),
        "retention:unsubscribe_one_click": make_token("unsubscribe", customer.pk),
        "retention:email_open": make_token("open", email.pk),
        "surveys:answer": survey_token,
    }
    return ids, tokens


# Which object each id of an address names (by url name, then by parameter name).
OBJECT_OF = {
    "customers:import_detail": "job",
    "customers:import_progress": "job",
    "customers:import_apply": "job",
    "customers:import_cancel": "job",
    "retention:run": "run",
    "retention:template_edit": "checklist_template",
    "retention:template_delete": "checklist_template",
    "retention:checklist_cancel": "checklist",
    "retention:step_action": "step",
    "retention:loyalty_reward_edit": "reward",
    "retention:loyalty_coupon_use": "coupon",
    "retention:outbox_detail": "email",
    "retention:outbox_retry": "email",
    "retention:email_template_edit": "template",
    "retention:rule_edit": "rule",
    "api:company-detail": "company",
    "api:interaction-detail": "interaction",
    "api:points-entry-detail": "entry",
    "api:reward-detail": "reward",
    "api:webhook": "source",
}
OBJECT_OF_PARAM = {"interaction_pk": "interaction", "second": "other", "source_id": "source"}
# Values of the other parts of an address: each variant is requested.
WORDS = {
    "action": {
        "retention:case_action": ["claim", "assign", "outreach", "snooze", "resolve"],
        "retention:step_action": ["done", "skip", "reopen"],
    },
    "name": ["onboarding", "risk", "loyalty", "followups", "usage", "surveys", "privacy"],
    "key": ["churn"],
    "language": ["de"],
    "mode": ["email", "link"],
    "uidb64": ["MQ"],
}


def _object_id(route: Route, param: str, ids: dict) -> int:
    if param in OBJECT_OF_PARAM:
        return ids[OBJECT_OF_PARAM[param]]
    if route.name in OBJECT_OF:
        return ids[OBJECT_OF[route.name]]
    if route.name.startswith("surveys:") and param == "pk":
        return ids["survey"]
    if route.name.startswith(("retention:risk_calibration", "retention:risk_weights")):
        return ids["run"]  # no such row: the page's 404 path
    if route.name.startswith("retention:risk_backtest"):
        return ids["run"]
    return ids["customer"]


def addresses(route: Route, world) -> list[dict]:
    """Each set of path arguments to request the route with (valid objects)."""
    ids, tokens = world
    kwargs = {p: _object_id(route, p, ids) for p in route.int_params}
    variants = [kwargs]
    for param in route.params:
        if param in route.int_params:
            continue
        if param == "token":
            values = [tokens.get(route.name, "set-password")]
        else:
            words = WORDS[param]
            values = words[route.name] if isinstance(words, dict) else words
        variants = [{**v, param: value} for v in variants for value in values]
    return variants


def _url(route: Route, kwargs: dict) -> str:
    return reverse(route.name, kwargs=kwargs)


# --- Recording what the views read ---------------------------------------------------


class Recorder:
    def __init__(self):
        self.reads: set[str] | None = None

    def install(self, monkeypatch):
        recorder = self
        for method in ("get", "__getitem__", "getlist", "__contains__"):
            original = getattr(QueryDict, method)

            def reading(self, key, *args, _original=original, **kwargs):
                if recorder.reads is not None and isinstance(key, str):
                    recorder.reads.add(key)
                return _original(self, key, *args, **kwargs)

            monkeypatch.setattr(QueryDict, method, reading)


@pytest.fixture
def recorder(monkeypatch):
    recorder = Recorder()
    recorder.install(monkeypatch)
    return recorder


def _request(client: Client, method: str, url: str, data: dict, *, api: bool):
    """One request in a savepoint rolled back after it: a write (a merge, a delete)
    cannot change what the next request finds."""
    with transaction.atomic():
        if method == "GET":
            response = client.get(url, data)
        elif api:
            response = client.post(url, json.dumps(data), content_type="application/json")
        else:
            response = client.post(url, data)
        transaction.set_rollback(True)
    return response


def _client(user=None) -> Client:
    client = Client(raise_request_exception=False)
    if user is not None:
        client.force_login(user)
    return client


def _listed(name: str, key: str) -> bool:
    return key in ALWAYS_READ or any(fnmatch.fnmatchcase(key, p) for p in READS.get(name, ()))


def _walk_hostile(user, route_list: list[Route], world, recorder) -> tuple[list, dict]:
    errors: list[str] = []
    unlisted: dict[str, set[str]] = defaultdict(set)
    for route in route_list:
        client = _client(user)  # logged in again: the walk posts to the logout view too
        api = route.name.startswith("api:")
        for kwargs in addresses(route, world):
            url = _url(route, kwargs)
            for method in ("GET", "POST"):
                recorder.reads = set()
                # Not empty: django-filter reads nothing from an empty QueryDict (`data or {}`).
                response = _request(client, method, url, {PROBE: "1"}, api=api)
                unlisted[route.name] |= {k for k in recorder.reads if not _listed(route.name, k)}
                recorder.reads = None
                if response.status_code >= 500:
                    errors.append(f"{method} {url} -> {response.status_code}")
                # Every parameter the view reads at once, one request per value: forms
                # clean every field, so one request reaches each (and it keeps this fast).
                names = [p for p in READS.get(route.name, ()) if "*" not in p]
                for value in HOSTILE if names else ():
                    data = dict.fromkeys(names, value)
                    response = _request(client, method, url, data, api=api)
                    if response.status_code >= 500:
                        errors.append(f"{method} {url} {sorted(names)}={value!r} -> 500")
            for param in route.int_params:
                # A number in place of the id; the unicode ones are refused by the resolver
                # (or by the API's own check): both must not be a 500 either.
                marker = 7_770_001
                template = _url(route, {**kwargs, param: marker})
                for value in HOSTILE_IN_PATH:
                    bad = template.replace(str(marker), quote(value))
                    # The overflow is the same on either method; the others cost a GET.
                    for method in (
                        ("GET", "POST") if value.isascii() and len(value) > 1 else ["GET"]
                    ):
                        response = _request(client, method, bad, {}, api=api)
                        if response.status_code >= 500:
                            errors.append(f"{method} {bad} -> {response.status_code}")
    return errors, {k: v for k, v in unlisted.items() if v}


# --- The tests ----------------------------------------------------------------------------


def test_no_staff_view_answers_500_to_hostile_numbers(admin_user, world, recorder):
    """Given an admin (every staff page opens for them), when every view is requested
    with hostile numbers in each id and each parameter it reads, then none answers 500."""
    errors, unlisted = _walk_hostile(admin_user, routes(), world, recorder)
    assert errors == []
    # The table is complete: a view reading a parameter it does not list fails here
    # (add the name to READS, and the hostile values are fed to it too).
    assert unlisted == {}


def test_no_public_view_answers_500_to_hostile_numbers(world, recorder):
    """Given no login, the same for the pages customers reach through links."""
    public = [route for route in routes() if route.name in PUBLIC]
    errors, unlisted = _walk_hostile(None, public, world, recorder)
    assert errors == []
    assert unlisted == {}
