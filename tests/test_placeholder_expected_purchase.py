"""The `{{ expected_purchase_date }}` placeholder: the customer's usual next purchase."""

from datetime import date

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from retention.models import CustomerRisk, EmailTemplateTranslation, OutgoingEmail
from retention.outreach import placeholders, rendering, sending

from .factories import CustomerFactory
from .outbox_helpers import make_template, queue_email, without_starter_followups  # noqa: F401

pytestmark = pytest.mark.django_db


def with_risk(customer, expected_purchase_on):
    CustomerRisk.objects.create(
        customer=customer,
        score=40,
        level="medium",
        expected_purchase_on=expected_purchase_on,
        computed_for=date(2026, 5, 1),
        level_since=date(2026, 5, 1),
    )
    return customer


def body_of(customer, language="en") -> str:
    row = EmailTemplateTranslation(
        language=language, subject="", body_text="[{{ expected_purchase_date }}]", body_html=""
    )
    return rendering.render_follow_up(customer, row).text


def test_it_is_registered_for_the_editor():
    assert "expected_purchase_date" in placeholders.registered()


def test_it_is_the_expected_purchase_date_in_the_emails_language():
    customer = with_risk(CustomerFactory(), date(2026, 5, 5))
    assert "[5 May 2026]" in body_of(customer)
    assert "[05.05.2026]" in body_of(customer, language="de")  # the German date style


def test_it_is_empty_without_a_buying_rhythm_or_a_score():
    assert "[]" in body_of(with_risk(CustomerFactory(), None))
    assert "[]" in body_of(CustomerFactory())


def test_sending_reads_it_without_a_query_per_email():
    template = make_template(en=("Time to reorder?", "Usually by {{ expected_purchase_date }}."))
    ids = []
    for day in (3, 4, 5):
        customer = with_risk(CustomerFactory(marketing_consent=True), date(2026, 5, day))
        ids.append(queue_email(customer, template, status=OutgoingEmail.Status.SENDING).pk)
    with CaptureQueriesContext(connection) as queries:
        sending.send_batch(ids)
    risk_queries = [q for q in queries.captured_queries if "customerrisk" in q["sql"].lower()]
    assert len(risk_queries) == 1  # joined into the batch's one query for the emails
    assert sorted(message.body.split("by ")[1].split(".")[0] for message in mail.outbox) == [
        "3 May 2026",
        "4 May 2026",
        "5 May 2026",
    ]
