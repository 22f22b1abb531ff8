"""The public survey page: token lifetime, answering, validation, language, limits."""

from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from customers.links import make_token
from retention.models import Notification
from surveys import events
from surveys.models import Answer, Question, Survey, SurveyInvitation, SurveyResponse

from .factories import CustomerFactory
from .factories_surveys import (
    ChoiceFactory,
    QuestionFactory,
    SurveyFactory,
    invitation_with_token,
    nps_survey,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()
    yield
    cache.clear()


def url(token: str) -> str:
    return reverse("surveys:answer", args=[token])


def nps_field(invitation: SurveyInvitation) -> str:
    return f"q{invitation.survey.questions.get(kind='scale_0_10').pk}"


# --- Token lifetime ------------------------------------------------------------------


def test_a_valid_link_shows_the_survey_without_login(client, customer):
    invitation, token = invitation_with_token(customer=customer)
    response = client.get(url(token))
    assert response.status_code == 200
    assert "How likely are you to recommend us?" in response.text
    for n in range(11):
        assert f'value="{n}"' in response.text


def test_an_expired_link_gets_the_friendly_expired_page(client, customer):
    invitation, token = invitation_with_token(customer=customer)
    with time_machine.travel(invitation.expires_at + timedelta(seconds=1)):
        response = client.get(url(token))
        assert response.status_code == 410
        assert "This link has expired" in response.text
        post = client.post(url(token), {nps_field(invitation): "9"})
    assert post.status_code == 410
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize("mangle", [lambda t: t[:-1], lambda t: t[:-1] + "x", lambda t: "A" + t])
def test_a_tampered_link_gets_the_friendly_bad_link_page(client, customer, mangle):
    invitation, token = invitation_with_token(customer=customer)
    response = client.get(url(mangle(token)))
    assert response.status_code == 404
    assert "This link does not work" in response.text
    response = client.post(url(mangle(token)), {nps_field(invitation): "9"})
    assert response.status_code == 404
    assert not SurveyResponse.objects.exists()


def test_a_token_for_another_kind_of_link_opens_no_survey(client, customer):
    invitation_with_token(customer=customer)
    response = client.get(url(make_token("onboarding", customer.pk)))
    assert response.status_code == 404


def test_a_used_link_says_thank_you_already_answered_and_stores_nothing_more(client, customer):
    invitation, token = invitation_with_token(customer=customer)
    first = client.post(url(token), {nps_field(invitation): "9"})
    assert first.status_code == 302
    assert "Thank you!" in client.get(first["Location"]).text

    again = client.get(url(token))
    assert again.status_code == 200
    assert "already answered" in again.text
    replay = client.post(url(token), {nps_field(invitation): "0"})
    assert "already answered" in replay.text
    assert SurveyResponse.objects.get().nps_score == 9


def test_a_used_link_still_says_already_answered_after_it_expired(client, customer):
    invitation, token = invitation_with_token(customer=customer)
    client.post(url(token), {nps_field(invitation): "9"})
    with time_machine.travel(invitation.expires_at + timedelta(days=1)):
        response = client.get(url(token))
    assert response.status_code == 200
    assert "already answered" in response.text


def test_another_customers_link_answers_for_that_customer_only(client, customer):
    """A link carries its own customer: Ada's answers never land on Charles's record,
    and answering Charles's link leaves Ada's invitation open."""
    charles = CustomerFactory(name="Charles Babbage")
    survey = nps_survey()
    ada_invitation, ada_token = invitation_with_token(survey, customer)
    charles_invitation, charles_token = invitation_with_token(survey, charles)

    client.post(url(charles_token), {nps_field(charles_invitation): "4"})

    response = SurveyResponse.objects.get()
    assert response.customer == charles
    ada_invitation.refresh_from_db()
    assert ada_invitation.used_at is None
    assert client.get(url(ada_token)).status_code == 200
    assert "already answered" not in client.get(url(ada_token)).text


def test_only_the_hash_of_the_token_is_stored(customer):
    invitation, token = invitation_with_token(customer=customer)
    stored = SurveyInvitation.objects.filter(pk=invitation.pk).values().get()
    assert token not in {str(value) for value in stored.values()}


def test_consuming_twice_succeeds_once(customer):
    from surveys.invitations import invitation_consume

    invitation, _token = invitation_with_token(customer=customer)
    other_copy = SurveyInvitation.objects.get(pk=invitation.pk)
    assert invitation_consume(invitation=invitation) is True
    assert invitation_consume(invitation=other_copy) is False


# --- Answering ------------------------------------------------------------------------


def test_answering_stores_every_answer_and_tells_the_account_manager(client, customer, manager):
    invitation, token = invitation_with_token(customer=customer)
    why = invitation.survey.questions.get(kind="text")
    received = []

    def receiver(sender, response, customer, **kwargs):
        received.append((response.pk, customer.pk))

    events.response_submitted.connect(receiver)
    try:
        client.post(url(token), {nps_field(invitation): "5", f"q{why.pk}": "  Slow support  "})
    finally:
        events.response_submitted.disconnect(receiver)

    response = SurveyResponse.objects.get()
    assert (response.customer, response.nps_score, response.language) == (customer, 5, "en")
    assert set(Answer.objects.values_list("number", "text")) == {(5, ""), (None, "Slow support")}
    assert received == [(response.pk, customer.pk)]
    notice = Notification.objects.get(recipient=manager)
    assert "answered 5" in notice.message and "detractor" in notice.message


def test_answering_earns_the_loyalty_survey_bonus_once(client, customer):
    from retention.models import LoyaltySettings, PointsAccount

    bonus = LoyaltySettings.load().survey_bonus
    invitation, token = invitation_with_token(customer=customer)
    client.post(url(token), {nps_field(invitation): "9"})
    client.post(url(token), {nps_field(invitation): "9"})  # the link works once
    assert PointsAccount.objects.get(customer=customer).balance == bonus > 0


def test_a_promoter_answer_notifies_nobody(client, customer):
    invitation, token = invitation_with_token(customer=customer)
    client.post(url(token), {nps_field(invitation): "10"})
    assert SurveyResponse.objects.get().nps_score == 10
    assert not Notification.objects.exists()


def test_a_passive_answer_notifies_the_account_manager(client, customer, manager):
    invitation, token = invitation_with_token(customer=customer)
    client.post(url(token), {nps_field(invitation): "7"})
    assert "passive" in Notification.objects.get(recipient=manager).message


def all_kinds_survey() -> tuple[Survey, dict[str, Question]]:
    survey = SurveyFactory(kind=Survey.Kind.CSAT)
    questions = {
        kind: QuestionFactory(survey=survey, kind=kind, text=f"{kind} question", position=i)
        for i, kind in enumerate(Question.Kind.values)
    }
    for kind in Question.CHOICE_KINDS:
        for label in ("Red", "Green", "Blue"):
            ChoiceFactory(question=questions[kind], label=label)
    return survey, questions


def test_every_required_question_type_shows_its_own_error_and_keeps_what_was_typed(client):
    survey, questions = all_kinds_survey()
    invitation, token = invitation_with_token(survey)
    data = {f"q{questions['text'].pk}": "Kept text"}
    response = client.post(url(token), data)
    assert response.status_code == 422
    errors = {
        kind: response.context["form"].errors.get(f"q{q.pk}") for kind, q in questions.items()
    }
    assert errors["scale_0_10"] == ["Please choose a number from 0 to 10."]
    assert errors["rating_1_5"] == ["Please choose a number from 1 to 5."]
    assert errors["single_choice"] == ["Please choose one answer."]
    assert errors["multiple_choice"] == ["Please choose at least one answer."]
    assert errors["text"] is None
    assert "Kept text" in response.text
    assert "Please check the answers marked below." in response.text
    invitation.refresh_from_db()
    assert invitation.used_at is None and not SurveyResponse.objects.exists()


def test_out_of_range_and_foreign_values_are_refused(client):
    survey, questions = all_kinds_survey()
    _other_survey, other_questions = all_kinds_survey()
    foreign_choice = other_questions["single_choice"].choices.first()
    invitation, token = invitation_with_token(survey)
    response = client.post(
        url(token),
        {
            f"q{questions['scale_0_10'].pk}": "11",
            f"q{questions['rating_1_5'].pk}": "0",
            f"q{questions['single_choice'].pk}": str(foreign_choice.pk),
            f"q{questions['multiple_choice'].pk}": ["x"],
            f"q{questions['text'].pk}": "y" * 2001,
        },
    )
    assert response.status_code == 422
    form = response.context["form"]
    assert form.errors[f"q{questions['scale_0_10'].pk}"] == ["Choose a number from 0 to 10."]
    assert form.errors[f"q{questions['rating_1_5'].pk}"] == ["Choose a number from 1 to 5."]
    assert form.errors[f"q{questions['single_choice'].pk}"] == [
        "Choose one of the answers offered."
    ]
    assert form.errors[f"q{questions['multiple_choice'].pk}"] == [
        "Choose among the answers offered."
    ]
    assert "at most 2000 characters" in form.errors[f"q{questions['text'].pk}"][0]
    assert not SurveyResponse.objects.exists()


def test_every_question_type_is_stored(client):
    survey, questions = all_kinds_survey()
    invitation, token = invitation_with_token(survey)
    red, green, blue = questions["multiple_choice"].choices.all()
    single = questions["single_choice"].choices.last()
    response = client.post(
        url(token),
        {
            f"q{questions['scale_0_10'].pk}": "0",
            f"q{questions['rating_1_5'].pk}": "5",
            f"q{questions['single_choice'].pk}": str(single.pk),
            f"q{questions['multiple_choice'].pk}": [str(red.pk), str(blue.pk)],
            f"q{questions['text'].pk}": "All good",
        },
    )
    assert response.status_code == 302
    answers = SurveyResponse.objects.get().answers.all()
    assert sorted(a.display for a in answers) == sorted(
        ["0", "5", "Blue", "Red", "Blue", "All good"]
    )
    assert SurveyResponse.objects.get().nps_score is None  # not an NPS survey


def test_optional_questions_may_be_left_blank(client):
    survey = SurveyFactory()
    question = QuestionFactory(survey=survey, kind=Question.Kind.RATING_1_5, required=False)
    QuestionFactory(survey=survey, kind=Question.Kind.TEXT, required=False)
    invitation, token = invitation_with_token(survey)
    assert client.post(url(token), {f"q{question.pk}": ""}).status_code == 302
    assert SurveyResponse.objects.get().answers.count() == 0


# --- Language, business name, safety ---------------------------------------------------------


def test_the_page_speaks_the_customers_language_and_names_the_business(client, settings):
    settings.BUSINESS_NAME = "Bäckerei Schmidt"
    customer = CustomerFactory(preferred_language="de")
    invitation, token = invitation_with_token(customer=customer)
    response = client.get(url(token), HTTP_ACCEPT_LANGUAGE="en")
    assert 'lang="de"' in response.text
    assert "Wie wahrscheinlich empfehlen Sie uns weiter?" in response.text
    assert "Bäckerei Schmidt" in response.text


def test_the_form_needs_a_csrf_token():
    invitation, token = invitation_with_token()
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(url(token), {nps_field(invitation): "9"})
    assert response.status_code == 403
    assert not SurveyResponse.objects.exists()
    page = strict.get(url(token))
    csrf = page.context["csrf_token"]
    assert (
        strict.post(
            url(token), {nps_field(invitation): "9", "csrfmiddlewaretoken": str(csrf)}
        ).status_code
        == 302
    )


def test_answers_are_escaped_on_the_staff_side(admin_client, client):
    invitation, token = invitation_with_token()
    why = invitation.survey.questions.get(kind="text")
    client.post(url(token), {nps_field(invitation): "9", f"q{why.pk}": "<script>alert(1)</script>"})
    page = admin_client.get(reverse("surveys:answers", args=[invitation.survey.pk]))
    assert "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;" in page.text


def test_too_many_requests_for_one_link_get_a_friendly_429(client, settings):
    settings.SURVEY_RATE_LIMIT_PER_TOKEN = 3
    invitation, token = invitation_with_token()
    statuses = [client.get(url(token)).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get(url(token))
    assert "Please wait a moment" in response.text
    assert response["Retry-After"]


def test_too_many_requests_from_one_address_get_a_429(client, settings):
    settings.SURVEY_RATE_LIMIT_PER_IP = 2
    statuses = [client.get(url(f"guess{n}")).status_code for n in range(3)]
    assert statuses == [404, 404, 429]


def test_the_rate_limit_window_passes(client, settings):
    settings.SURVEY_RATE_LIMIT_PER_TOKEN = 1
    invitation, token = invitation_with_token()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        assert client.get(url(token)).status_code == 200
        assert client.get(url(token)).status_code == 429
        traveller.shift(timedelta(minutes=11))
        assert client.get(url(token)).status_code == 200


def test_the_public_page_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    survey, _questions = all_kinds_survey()
    _invitation, token = invitation_with_token(survey)
    with django_assert_max_num_queries(3):
        assert client.get(url(token)).status_code == 200
