"""No page shows a code meant for machines: every status, kind, trigger, risk signal and
audit action a page lists reads as words ("Flagged: Renewal near, no contact", not
"A risk flag is present: renewal_no_contact")."""

import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.apps import apps
from django.urls import reverse
from django.utils import timezone

from audit.log import record
from audit.models import AuditEntry
from customers.models import Interaction
from retention.models import CustomerRisk, FollowUpRule, OutgoingEmail
from retention.risk import signals

from .factories import CustomerFactory, InteractionFactory
from .outbox_helpers import make_template, queue_email

pytestmark = pytest.mark.django_db


def machine_codes() -> set[str]:
    """Every stored code that cannot pass for a word: choice values with an underscore
    or a dot (statuses, kinds, triggers, audit actions, webhook events) and the keys of
    the registered risk signals (a one-word code such as "cancellation" is also an
    English word, so it cannot be told from a label)."""
    values = set(signals.registered())
    for model in apps.get_models():
        for field in model._meta.get_fields():
            values.update(value for value, _label in getattr(field, "flatchoices", None) or [])
    return {
        value
        for value in values
        if isinstance(value, str) and re.fullmatch(r"[a-z]+(?:[_.][a-z]+)+", value)
    }


class _Visible(HTMLParser):
    """The text a reader sees (and hovers: title attributes), without scripts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style", "template"}:
            self._hidden += 1
        self.parts.extend(
            value for name, value in attrs if name in {"title", "aria-label"} and value
        )

    def handle_endtag(self, tag):
        if tag in {"script", "style", "template"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Visible()
    parser.feed(html)
    return " ".join(parser.parts)


def codes_in(html: str, codes: set[str]) -> list[str]:
    text = visible_text(html)
    return sorted(
        code for code in codes if re.search(rf"(?<![\w.]){re.escape(code)}(?![\w.])", text)
    )


def test_the_check_finds_a_code_in_the_text_but_not_in_markup():
    html = (
        '<p data-kind="service_request">A risk flag is present: renewal_no_contact</p>'
        "<script>var k = 'discount_request';</script><span title=\"customer.exported\"></span>"
    )
    found = codes_in(
        html, {"renewal_no_contact", "service_request", "discount_request", "customer.exported"}
    )
    assert found == ["customer.exported", "renewal_no_contact"]


@pytest.fixture
def everything(manager, admin_user):
    """A customer with every interaction kind, a risk flag from every signal, an email
    of every kind and status, a rule of every trigger, and an audit entry of every action."""
    customer = CustomerFactory(name="Ada Lovelace", owner=manager)
    now = timezone.now()
    for kind in Interaction.Kind:
        InteractionFactory(
            customer=customer,
            kind=kind,
            subject=f"About the {kind.label}",
            amount=Decimal("10") if kind in {"purchase", "refund"} else None,
            occurred_at=now,
        )
    today = timezone.localdate()
    CustomerRisk.objects.create(
        customer=customer,
        score=80,
        level="high",
        flags=[
            {"key": key, "weight": 10, "contribution": 5.0, "evidence": {}}
            for key in signals.registered()
        ],
        computed_for=today,
        level_since=today,
    )
    template = make_template("Checking in")
    for number, (kind, status) in enumerate(
        (kind, status) for kind in OutgoingEmail.Kind for status in OutgoingEmail.Status
    ):
        queue_email(
            customer, template, key=f"codes:{number}", kind=kind, status=status, sent_at=now
        )
    for trigger in FollowUpRule.Trigger:
        FollowUpRule.objects.create(
            name=f"Rule {trigger.label}",
            trigger=trigger,
            template=template,
            flag_key="renewal_no_contact",
            min_level="medium",
            days_after_churn=30,
            days_overdue=7,
        )
    for action in AuditEntry.Action:
        record(action, user=admin_user, target=customer)
    return customer


@pytest.mark.parametrize(
    "page",
    ["rules", "queue", "customer", "timeline", "outbox", "audit log", "notifications"],
)
def test_no_page_listing_codes_shows_one(admin_client, everything, page):
    """Given rows of every kind, when each page that lists them is opened, then its
    visible text holds no snake_case or dotted code: each has its label."""
    url = {
        "rules": reverse("retention:rules"),
        "queue": reverse("retention:queue"),
        "customer": everything.get_absolute_url(),
        "timeline": reverse("customers:timeline", args=[everything.pk]),
        "outbox": reverse("retention:outbox"),
        "audit log": reverse("audit:log"),
        "notifications": reverse("retention:notifications"),
    }[page]
    response = admin_client.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Ada Lovelace" in html or page in {"rules", "audit log", "notifications"}
    assert codes_in(html, machine_codes()) == []
