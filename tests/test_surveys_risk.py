"""NPS answers feed the churn-risk flags and the customer's timeline."""

from datetime import timedelta

import pytest
from django.utils import timezone

from retention.models import CustomerRisk
from retention.risk import scoring, signals
from retention.risk.panels import describe_flags

from .factories import CustomerFactory, InteractionFactory
from .factories_surveys import invitation_with_token, nps_survey
from .test_surveys_staff import answer

pytestmark = pytest.mark.django_db


def flags_of(customer) -> dict[str, dict]:
    stored = CustomerRisk.objects.get(customer=customer)
    return {flag["key"]: flag for flag in stored.flags}


def test_both_nps_signals_are_registered():
    registry = signals.registered()
    assert {"nps_passive", "nps_detractor"} <= set(registry)
    assert registry["nps_detractor"].chunk_facts is not None


def test_a_detractor_answer_flags_the_customer_with_a_reason():
    survey = nps_survey()
    detractor, passive, promoter, silent = CustomerFactory.create_batch(4)
    for customer in (detractor, passive, promoter, silent):
        InteractionFactory(customer=customer, occurred_at=timezone.now() - timedelta(days=2))
    answer(survey, score=3, customer=detractor, days_ago=10)
    answer(survey, score=8, customer=passive, days_ago=10)
    answer(survey, score=10, customer=promoter, days_ago=10)

    scoring.compute_all(timezone.localdate())

    assert "nps_detractor" in flags_of(detractor) and "nps_passive" not in flags_of(detractor)
    assert "nps_passive" in flags_of(passive) and "nps_detractor" not in flags_of(passive)
    assert not {"nps_passive", "nps_detractor"} & set(flags_of(promoter))
    reason = describe_flags([flags_of(detractor)["nps_detractor"]])[0]["reason"]
    assert reason == "Answered 3 (detractor) to the NPS survey 10 days ago."
    # No answer: no data for the NPS signals, so they add nothing, neither risk nor health.
    score = {c: CustomerRisk.objects.get(customer=c).score for c in (detractor, promoter, silent)}
    assert score[detractor] > score[promoter] == score[silent]


def test_only_the_latest_answer_in_the_window_counts():
    survey = nps_survey()
    recovered, stale = CustomerFactory.create_batch(2)
    answer(survey, score=2, customer=recovered, days_ago=60)
    answer(survey, score=9, customer=recovered, days_ago=5)
    answer(survey, score=1, customer=stale, days_ago=400)  # outside the 180-day window

    scoring.compute_all(timezone.localdate())

    assert "nps_detractor" not in flags_of(recovered)
    assert "nps_detractor" not in flags_of(stale)


def test_answers_appear_in_the_customers_timeline(admin_client, client, customer):
    invitation, token = invitation_with_token(customer=customer)
    why = invitation.survey.questions.get(kind="text")
    score = invitation.survey.questions.get(kind="scale_0_10")
    client.post(
        f"/surveys/answer/{token}/", {f"q{score.pk}": "6", f"q{why.pk}": "Invoices are confusing"}
    )
    page = admin_client.get(customer.get_absolute_url())
    entry = next(e for e in page.context["timeline"].entries if e.source == "survey")
    assert entry.title == "NPS 6 (detractor)"
    assert "How likely are you to recommend us? 6" in entry.body
    assert "Why? Invoices are confusing" in entry.body
    assert entry.badge == "danger"
    assert "Invoices are confusing" in page.text
