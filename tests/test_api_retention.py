"""The REST API's loyalty, risk and survey endpoints do what the pages do: adjustments
and redemptions through the ledger (exactly as the card), risk with its reasons, survey
responses with their answers; and every list costs a fixed number of queries."""

from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from retention.loyalty import ledger
from retention.loyalty.card import card_url
from retention.models import Coupon, CustomerRisk, PointsAccount, PointsEntry
from surveys.models import Answer, SurveyResponse

from .factories import CustomerFactory, InteractionFactory, RewardFactory, TagFactory
from .factories_surveys import invitation_with_token, nps_survey
from .test_api_permissions import api

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers/"
INTERACTIONS = "/api/v1/interactions/"

# --- Loyalty: adjustments and redemptions through the ledger ----------------------------


def give(customer, points: int) -> None:
    ledger.points_earn(
        customer=customer, points=points, reason="Start", source_key=f"t:{customer.pk}"
    )


def test_a_redemption_through_the_api_deducts_points_exactly_as_the_card(manager, customer):
    """Given two customers with 300 points, one redeeming a 200-point reward on their card
    and one through the API, then both have 100 left, one -200 entry and one coupon
    with the same terms; the API's coupon names the user who redeemed it."""
    twin = CustomerFactory(owner=manager)
    give(customer, 300)
    give(twin, 300)
    reward = RewardFactory(name="10% off", points_price=200, stock=5)
    Client().post(card_url(twin), {"reward": reward.pk})
    response = api(manager).post(
        f"/api/v1/loyalty/accounts/{customer.pk}/redeem/", {"reward": reward.pk}, format="json"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["points_spent"] == 200
    by_card = Coupon.objects.get(customer=twin)
    by_api = Coupon.objects.get(customer=customer)
    assert response.json()["code"] == by_api.code
    for who in (customer, twin):
        assert PointsAccount.objects.get(customer=who).balance == 100
        redeemed = PointsEntry.objects.filter(customer=who, kind="redeem")
        assert list(redeemed.values_list("points", "reason")) == [(-200, "Redeemed: 10% off")]
    assert (by_api.reward_name, by_api.expires_on) == (by_card.reward_name, by_card.expires_on)
    assert by_api.entry.author == manager
    reward.refresh_from_db()
    assert reward.stock == 3


def test_a_redemption_with_too_few_points_is_refused_and_writes_nothing(manager, customer):
    give(customer, 150)
    reward = RewardFactory(points_price=200, stock=5)
    response = api(manager).post(
        f"/api/v1/loyalty/accounts/{customer.pk}/redeem/", {"reward": reward.pk}, format="json"
    )
    assert response.status_code == 400
    assert response.json() == {
        "non_field_errors": ["Not enough points: 150 available, 200 needed."]
    }
    assert PointsAccount.objects.get(customer=customer).balance == 150
    assert not Coupon.objects.exists()
    assert PointsEntry.objects.count() == 1
    reward.refresh_from_db()
    assert reward.stock == 5


@pytest.mark.parametrize("reward_id", ["²", 999999, None, "1.5"])
def test_redeeming_an_unknown_reward_is_a_field_error(manager, customer, reward_id):
    give(customer, 500)
    response = api(manager).post(
        f"/api/v1/loyalty/accounts/{customer.pk}/redeem/", {"reward": reward_id}, format="json"
    )
    assert response.status_code == 400
    assert list(response.json()) == ["reward"]
    assert PointsAccount.objects.get(customer=customer).balance == 500


def test_an_adjustment_is_a_ledger_entry_and_cannot_go_below_zero(manager, customer):
    client = api(manager)
    url = f"/api/v1/loyalty/accounts/{customer.pk}/adjust/"
    response = client.post(url, {"points": 40, "reason": "Goodwill"}, format="json")
    assert response.status_code == 201
    assert (response.json()["kind"], response.json()["points"]) == ("adjust", 40)
    response = client.post(url, {"points": -41, "reason": "Too much"}, format="json")
    assert response.status_code == 400
    assert response.json()["points"] == [
        "Not enough points: the balance is 40, so at most 40 can be taken off."
    ]
    assert client.post(url, {"points": 0, "reason": "x"}, format="json").status_code == 400
    assert client.post(url, {"points": 5, "reason": ""}, format="json").status_code == 400
    assert client.post(url, {"points": "many", "reason": "x"}, format="json").status_code == 400
    account = client.get(f"/api/v1/loyalty/accounts/{customer.pk}/").json()
    assert (account["balance"], account["lifetime_points"]) == (40, 40)


def test_a_customer_without_an_account_reads_as_empty(staff_user, customer):
    response = api(staff_user).get(f"/api/v1/loyalty/accounts/{customer.pk}/")
    assert response.status_code == 200
    assert response.json()["balance"] == 0
    assert api(staff_user).get("/api/v1/loyalty/accounts/%C2%B2/").status_code == 404


# --- Risk and surveys (read) --------------------------------------------------------------


@time_machine.travel("2026-03-10 12:00Z", tick=False)
def test_risk_shows_score_level_reasons_and_value_at_risk(staff_user, customer):
    today = timezone.localdate()
    CustomerRisk.objects.create(
        customer=customer,
        score=62,
        level="high",
        base=10,
        flags=[
            {
                "key": "no_contact",
                "strength": 1.0,
                "contribution": 52,
                "flagged": True,
                "evidence": {"days": 75},
            }
        ],
        value=Decimal("49.00"),
        expected_loss=Decimal("30.38"),
        computed_for=today,
        level_since=today - timedelta(days=3),
    )
    response = api(staff_user).get(f"/api/v1/risk/{customer.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert (body["score"], body["level"], body["value_at_risk"]) == (62, "high", "30.38")
    (reason,) = body["reasons"]
    assert (reason["key"], reason["contribution"], reason["flagged"]) == ("no_contact", 52, True)
    assert reason["label"]
    assert ids_of(api(staff_user).get("/api/v1/risk/?level=high"), "customer") == [customer.pk]
    assert ids_of(api(staff_user).get("/api/v1/risk/?level=low"), "customer") == []


def ids_of(response, key: str) -> list[int]:
    return [row[key] for row in response.json()["results"]]


def test_survey_responses_come_with_their_answers(manager, customer):
    survey = nps_survey()
    invitation, _token = invitation_with_token(survey, customer)
    response = SurveyResponse.objects.create(
        invitation=invitation,
        survey=survey,
        customer=customer,
        language="en",
        submitted_at=timezone.now(),
        nps_score=9,
    )
    scale, why = survey.questions.order_by("position")
    Answer.objects.create(response=response, question=scale, number=9)
    Answer.objects.create(response=response, question=why, text="Quick support")
    client = api(manager)
    body = client.get(f"/api/v1/survey-responses/?survey={survey.pk}").json()["results"]
    assert [(a["question"], a["display"]) for a in body[0]["answers"]] == [
        (scale.pk, "9"),
        (why.pk, "Quick support"),
    ]
    detail = client.get(f"/api/v1/surveys/{survey.pk}/").json()
    assert [q["text"] for q in detail["questions"]] == [scale.text, why.text]


# --- Query counts: lists do not grow with their rows -------------------------------------


def _fill(count: int, manager) -> None:
    survey = nps_survey()
    for n in range(count):
        customer = CustomerFactory(owner=manager, tags=[TagFactory(name=f"t{n % 3}")])
        InteractionFactory(customer=customer)
        ledger.points_earn(customer=customer, points=10, reason="x", source_key=f"q:{customer.pk}")
        CustomerRisk.objects.create(
            customer=customer,
            score=10,
            computed_for=timezone.localdate(),
            level_since=timezone.localdate(),
        )
        invitation, _token = invitation_with_token(survey, customer)
        answered = SurveyResponse.objects.create(
            invitation=invitation,
            survey=survey,
            customer=customer,
            language="en",
            submitted_at=timezone.now(),
        )
        Answer.objects.create(response=answered, question=survey.questions.first(), number=8)
        RewardFactory()


# Each list's queries: the token with its user, the user's groups, (for a permission
# check) the user's and the groups' permissions, then the page and its prefetches.
LIST_QUERIES = {
    CUSTOMERS: 5,  # + owner choices of the list's filter, the page, its tags
    INTERACTIONS: 5,
    "/api/v1/companies/": 3,
    "/api/v1/risk/": 3,
    "/api/v1/surveys/": 7,  # + surveys, their questions, the questions' choices
    "/api/v1/survey-responses/": 6,  # + responses, their answers (question, choice joined)
    "/api/v1/loyalty/accounts/": 5,
    "/api/v1/loyalty/entries/": 5,
    "/api/v1/loyalty/rewards/": 5,
}


@pytest.mark.parametrize("url", LIST_QUERIES)
def test_list_queries_do_not_grow_with_the_rows(manager, url, django_assert_max_num_queries):
    """The same fixed number of queries for 2 rows of each kind and for 12."""
    client = api(manager)
    _fill(2, manager)
    with django_assert_max_num_queries(LIST_QUERIES[url]):
        assert client.get(url).status_code == 200
    _fill(10, manager)
    with django_assert_max_num_queries(LIST_QUERIES[url]):
        response = client.get(url)
    assert len(response.json()["results"]) >= 12 or url == "/api/v1/surveys/"
