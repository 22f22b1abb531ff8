"""Staff pages: who sees what, the editor, translations, results, answers, export, links."""

import csv
import io
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from surveys.invitations import invitation_consume
from surveys.models import Answer, Choice, Question, Survey, SurveyInvitation, SurveyResponse

from .factories import CustomerFactory
from .factories_surveys import (
    ChoiceFactory,
    QuestionFactory,
    SurveyFactory,
    invitation_with_token,
    nps_survey,
)

pytestmark = pytest.mark.django_db


def answer(survey: Survey, *, score=None, texts=(), choices=(), days_ago=0, customer=None):
    """A stored response, as if the customer had answered `days_ago` days ago."""
    invitation, _token = invitation_with_token(survey, customer)
    invitation_consume(invitation=invitation)
    response = SurveyResponse.objects.create(
        invitation=invitation,
        survey=survey,
        customer=invitation.customer,
        language="en",
        submitted_at=timezone.now() - timedelta(days=days_ago),
        nps_score=score,
    )
    questions = {q.kind: q for q in survey.questions.all()}
    if score is not None:
        Answer.objects.create(response=response, question=questions["scale_0_10"], number=score)
    for text in texts:
        Answer.objects.create(response=response, question=questions["text"], text=text)
    for choice in choices:
        Answer.objects.create(response=response, question=choice.question, choice=choice)
    return response


# --- Roles ------------------------------------------------------------------------------------


def test_staff_role_has_no_survey_pages_or_nav(staff_client, customer):
    survey = nps_survey()
    assert "Surveys" not in staff_client.get(reverse("customers:list")).text
    for url in (
        reverse("surveys:list"),
        reverse("surveys:results", args=[survey.pk]),
        reverse("surveys:edit", args=[survey.pk]),
    ):
        assert staff_client.get(url).status_code == 403, url
    assert 'data-testid="survey-card"' not in staff_client.get(customer.get_absolute_url()).text


def test_account_manager_reads_edits_and_sends_to_own_customers_not_segments(
    manager_client, customer, others_customer, django_capture_on_commit_callbacks
):
    survey = nps_survey()
    assert ">Surveys</a>" in manager_client.get(reverse("surveys:list")).text
    for name in ("results", "edit", "answers", "export", "invitations"):
        assert manager_client.get(reverse(f"surveys:{name}", args=[survey.pk])).status_code == 200
    assert manager_client.get(reverse("surveys:create")).status_code == 200
    assert manager_client.get(reverse("surveys:send_segment", args=[survey.pk])).status_code == 403

    own = reverse("surveys:send_customer", args=[customer.pk, "email"])
    others = reverse("surveys:send_customer", args=[others_customer.pk, "email"])
    with django_capture_on_commit_callbacks(execute=True):
        assert manager_client.post(own, {"survey": survey.pk}).status_code == 302
    assert manager_client.post(others, {"survey": survey.pk}).status_code == 403
    assert [m.to for m in mail.outbox] == [[customer.email]]


def test_admin_sends_to_a_filtered_segment(admin_client, django_capture_on_commit_callbacks):
    survey = nps_survey()
    vip = CustomerFactory.create_batch(2, status="at_risk")
    CustomerFactory(status="active")
    url = reverse("surveys:send_segment", args=[survey.pk])
    preview = admin_client.get(url, {"status": "at_risk", "preview": "1"})
    assert "2 customers will be invited" in preview.text
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(url, {"status": "at_risk"})
    assert response.status_code == 302
    assert sorted(m.to[0] for m in mail.outbox) == sorted(c.email for c in vip)
    page = admin_client.get(reverse("surveys:invitations", args=[survey.pk]))
    assert page.text.count('data-testid="invitation-row"') == 2


def test_copy_link_shows_a_working_link_once(manager_client, client, customer):
    survey = nps_survey()
    page = manager_client.post(
        reverse("surveys:send_customer", args=[customer.pk, "link"]), {"survey": survey.pk}
    )
    assert page.status_code == 200
    link = page.context["url"]
    assert link.startswith(settings.SITE_URL + "/surveys/answer/")
    invitation = SurveyInvitation.objects.get()
    assert invitation.status == "link" and mail.outbox == []
    assert client.get(link.removeprefix(settings.SITE_URL)).status_code == 200


def test_the_customer_page_card_lists_invitations_and_offers_sending(manager_client, customer):
    survey = nps_survey()
    answer(survey, score=4, customer=customer)
    page = manager_client.get(customer.get_absolute_url())
    assert 'data-testid="survey-card"' in page.text
    assert "NPS 4" in page.text
    assert "Email survey" in page.text and "Copy link" in page.text


# --- Editor ------------------------------------------------------------------------------


def formset_data(questions: list[dict], initial: int = 0, prefix: str = "questions") -> dict:
    data = {
        f"{prefix}-TOTAL_FORMS": str(len(questions)),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }
    for index, question in enumerate(questions):
        for key, value in question.items():
            data[f"{prefix}-{index}-{key}"] = value
    return data


SURVEY_FIELDS = {
    "name": "After-sales",
    "kind": "csat",
    "title": "How did we do?",
    "is_active": "on",
}


def test_create_a_survey_with_questions_and_choices(manager_client):
    data = {
        **SURVEY_FIELDS,
        **formset_data(
            [
                {
                    "position": "1",
                    "kind": "rating_1_5",
                    "text": "Rate the delivery",
                    "required": "on",
                },
                {
                    "position": "2",
                    "kind": "multiple_choice",
                    "text": "What did you like?",
                    "choices_text": "Speed\nPrice\n\nSpeed\nFriendliness",
                },
                {"position": "0", "kind": "", "text": "", "required": "on"},  # the blank extra form
            ]
        ),
    }
    response = manager_client.post(reverse("surveys:create"), data)
    assert response.status_code == 302, response.context and response.context["formset"].errors
    survey = Survey.objects.get(name="After-sales")
    assert [(q.kind, q.required) for q in survey.questions.all()] == [
        ("rating_1_5", True),
        ("multiple_choice", False),
    ]
    liked = survey.questions.get(kind="multiple_choice")
    assert [c.label for c in liked.choices.all()] == ["Speed", "Price", "Friendliness"]


def test_editor_errors_are_shown_next_to_the_fields_and_nothing_is_saved(manager_client):
    data = {
        **SURVEY_FIELDS,
        "kind": "nps",
        "title": "",
        **formset_data(
            [
                {"position": "1", "kind": "single_choice", "text": "Pick", "choices_text": "One"},
                {"position": "2", "kind": "text", "text": "Why?", "choices_text": "Stray"},
            ]
        ),
    }
    response = manager_client.post(reverse("surveys:create"), data)
    assert response.status_code == 422
    assert response.context["form"].errors["title"] == ["This field is required."]
    forms = response.context["formset"].forms
    assert forms[0].errors["choices_text"] == ["A choice question needs at least two choices."]
    assert forms[1].errors["choices_text"] == ["Only choice questions have choices."]
    assert not Survey.objects.filter(name="After-sales").exists()
    assert 'value="Pick"' in response.text  # nothing typed is lost


def test_an_nps_survey_must_start_with_a_0_to_10_question(manager_client):
    data = {
        **SURVEY_FIELDS,
        "kind": "nps",
        **formset_data([{"position": "1", "kind": "text", "text": "Anything?"}]),
    }
    response = manager_client.post(reverse("surveys:create"), data)
    assert response.status_code == 422
    assert "starts with a 0–10 question" in response.text


def test_removing_an_answered_choice_hides_it_but_keeps_it_in_the_results(manager_client):
    survey = Survey.objects.get(kind="exit")
    reason = survey.questions.get(kind="single_choice")
    price = reason.choices.get(label="Price")
    moved = reason.choices.get(label="Moved away")
    answer(survey, choices=[price])
    questions = list(survey.questions.all())
    labels = [c.label for c in reason.choices.all() if c.label not in ("Price", "Moved away")]
    data = {
        "name": survey.name,
        "kind": "exit",
        "title": survey.title,
        "is_active": "on",
        "automatic": "on",
        **formset_data(
            [
                {
                    "id": str(q.pk),
                    "position": str(q.position),
                    "kind": q.kind,
                    "text": q.text,
                    "required": "on" if q.required else "",
                    "choices_text": "\n".join([*labels, "Too complicated"])
                    if q.pk == reason.pk
                    else "",
                }
                for q in questions
            ],
            initial=len(questions),
        ),
    }
    response = manager_client.post(reverse("surveys:edit", args=[survey.pk]), data)
    assert response.status_code == 302
    price.refresh_from_db()
    assert price.is_active is False  # answered: hidden, kept
    assert not Choice.objects.filter(pk=moved.pk).exists()  # never chosen: gone
    assert reason.choices.filter(label="Too complicated", is_active=True).exists()
    results = manager_client.get(reverse("surveys:results", args=[survey.pk]))
    assert "Price: 1" in results.text


def test_an_answered_question_cannot_be_deleted(manager_client):
    survey = nps_survey()
    answer(survey, score=9)
    questions = list(survey.questions.all())
    data = {
        "name": survey.name,
        "kind": "nps",
        "title": survey.title,
        "is_active": "on",
        **formset_data(
            [
                {
                    "id": str(q.pk),
                    "position": str(q.position),
                    "kind": q.kind,
                    "text": q.text,
                    "DELETE": "on" if q.kind == "scale_0_10" else "",
                }
                for q in questions
            ],
            initial=len(questions),
        ),
    }
    response = manager_client.post(reverse("surveys:edit", args=[survey.pk]), data)
    assert response.status_code == 422
    assert "has answers and cannot be deleted" in response.text
    assert survey.questions.count() == 2


def test_translations_are_saved_per_language_and_shown_to_customers(manager_client, client):
    survey = nps_survey()
    question = survey.questions.get(kind="text")
    url = reverse("surveys:translate", args=[survey.pk, "tr"])
    form = manager_client.get(url).context["form"]
    data = {name: "" for name in form.fields}
    data[f"survey_{survey.pk}_title"] = "Nasıl gidiyoruz?"
    data[f"question_{question.pk}_text"] = "Neden?"
    assert manager_client.post(url, data).status_code == 302
    survey.refresh_from_db()
    assert survey.translations["tr"] == {"title": "Nasıl gidiyoruz?"}
    _invitation, token = invitation_with_token(survey, CustomerFactory(preferred_language="tr"))
    page = client.get(reverse("surveys:answer", args=[token]))
    assert "Nasıl gidiyoruz?" in page.text and "Neden?" in page.text
    assert (
        manager_client.get(reverse("surveys:translate", args=[survey.pk, "xx"])).status_code == 404
    )


# --- Results -------------------------------------------------------------------------------


def test_nps_results_per_period_with_counts(manager_client):
    survey = nps_survey()
    for score in (10, 9, 2):
        answer(survey, score=score)
    answer(survey, score=8, days_ago=70)
    page = manager_client.get(reverse("surveys:results", args=[survey.pk]))
    assert page.context["overall"].score == 25.0
    assert len(page.context["figures"]) == 2
    assert 'data-testid="nps-overall">25.0<' in page.text
    assert page.context["charts"]["nps"]["scores"] == [0.0, 33.3]
    quarters = manager_client.get(
        reverse("surveys:results", args=[survey.pk]), {"period": "quarter"}
    )
    assert quarters.status_code == 200
    assert " Q" in quarters.context["figures"][0][0]


def test_exit_reasons_ranked_most_chosen_first(manager_client):
    survey = Survey.objects.get(kind="exit")
    reason = survey.questions.get(kind="single_choice")
    price, competitor = (
        reason.choices.get(label="Price"),
        reason.choices.get(label="Moved to a competitor"),
    )
    for choice in (price, competitor, price, price, competitor):
        answer(survey, choices=[choice])
    page = manager_client.get(reverse("surveys:results", args=[survey.pk]))
    ranking = page.context["rankings"][0]
    assert ranking.rows[:3] == [
        ("Price", 3),
        ("Moved to a competitor", 2),
        ("I felt badly treated", 0),
    ]
    assert page.context["charts"]["rankings"][0]["counts"][:2] == [3, 2]


def test_results_page_query_count_does_not_grow(manager_client, django_assert_max_num_queries):
    survey = Survey.objects.get(kind="exit")
    nps = nps_survey()
    reason = survey.questions.get(kind="single_choice")
    answer(survey, choices=[reason.choices.first()], texts=["Too slow"])
    answer(nps, score=3, texts=["Meh"])
    urls = [reverse("surveys:results", args=[s.pk]) for s in (survey, nps)]
    urls += [
        reverse("surveys:answers", args=[nps.pk]),
        reverse("surveys:invitations", args=[nps.pk]),
    ]
    urls += [reverse("surveys:list")]
    few = {}
    for url in urls:
        with django_assert_max_num_queries(30) as captured:
            manager_client.get(url)
        few[url] = len(captured)
    for n in range(30):
        answer(survey, choices=[reason.choices.all()[n % 5]], texts=[f"Reason {n}"])
        answer(nps, score=n % 11, texts=[f"Because {n}"], days_ago=n * 10)
    SurveyFactory.create_batch(5)
    for url in urls:
        with django_assert_max_num_queries(few[url]):
            assert manager_client.get(url).status_code == 200


def test_written_answers_are_searchable_and_paginated(manager_client):
    survey = nps_survey()
    for n in range(30):
        answer(survey, score=5, texts=[f"Support was slow #{n}" if n % 2 else f"Great price #{n}"])
    url = reverse("surveys:answers", args=[survey.pk])
    page = manager_client.get(url, {"q": "SLOW"})
    assert page.context["page"].paginator.count == 15
    assert "Great price" not in page.text
    first = manager_client.get(url)
    assert first.context["page"].paginator.count == 30
    assert first.text.count('data-testid="text-answer"') == 25
    assert manager_client.get(url, {"page": 2}).text.count('data-testid="text-answer"') == 5


def test_csv_export_neutralises_formulas(manager_client):
    survey = nps_survey()
    answer(
        survey,
        score=9,
        texts=['=HYPERLINK("http://evil")'],
        customer=CustomerFactory(name="@Evil Corp"),
    )
    response = manager_client.get(reverse("surveys:export", args=[survey.pk]))
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:5] == ["submitted_at", "customer", "email", "language", "nps_score"]
    assert rows[0][5:] == ["How likely are you to recommend us?", "Why?"]
    assert rows[1][1] == "'@Evil Corp"
    assert rows[1][4] == "9"
    assert rows[1][6] == '\'=HYPERLINK("http://evil")'


def test_staff_without_export_permission_cannot_export(staff_client):
    survey = nps_survey()
    assert staff_client.get(reverse("surveys:export", args=[survey.pk])).status_code == 403


def test_survey_list_search_and_filter(manager_client):
    SurveyFactory(name="Onboarding feedback")
    page = manager_client.get(reverse("surveys:list"), {"q": "onboarding"})
    assert page.text.count('data-testid="survey-row"') == 1
    page = manager_client.get(reverse("surveys:list"), {"kind": "exit"})
    assert page.text.count('data-testid="survey-row"') == 1
    assert "Exit survey" in page.text


def test_question_factory_defaults_are_used(db):
    question = QuestionFactory(kind=Question.Kind.SINGLE_CHOICE)
    ChoiceFactory(question=question)
    assert question.has_choices and question.choices.count() == 1


def test_a_survey_with_answers_can_be_deleted_whole(db):
    survey = nps_survey()
    answer(survey, score=9, texts=["Fine"])
    survey.delete()
    assert not Answer.objects.exists() and not SurveyResponse.objects.exists()


def test_the_editor_loads_choices_in_one_query(manager_client, django_assert_max_num_queries):
    survey = Survey.objects.get(kind="exit")
    with django_assert_max_num_queries(12) as few:
        manager_client.get(reverse("surveys:edit", args=[survey.pk]))
    for n in range(5):
        question = QuestionFactory(survey=survey, kind=Question.Kind.SINGLE_CHOICE, position=10 + n)
        ChoiceFactory.create_batch(3, question=question)
    with django_assert_max_num_queries(len(few)):
        assert manager_client.get(reverse("surveys:edit", args=[survey.pk])).status_code == 200
