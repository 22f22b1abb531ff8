"""factory-boy factories and helpers for the surveys app."""

from datetime import timedelta

import factory
from django.utils import timezone

from surveys.invitations import new_token, token_hash
from surveys.models import Choice, Question, Survey, SurveyInvitation

from .factories import CustomerFactory


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    name = factory.Sequence(lambda n: f"Survey {n}")
    kind = Survey.Kind.CSAT
    title = "Tell us how we did"
    is_active = True


class QuestionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Question

    survey = factory.SubFactory(SurveyFactory)
    position = factory.Sequence(lambda n: n)
    kind = Question.Kind.TEXT
    text = factory.Sequence(lambda n: f"Question {n}?")
    required = True


class ChoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Choice

    question = factory.SubFactory(QuestionFactory)
    position = factory.Sequence(lambda n: n)
    label = factory.Sequence(lambda n: f"Choice {n}")


def nps_survey(**kwargs) -> Survey:
    """An NPS survey: a required 0–10 question and an optional "why"."""
    survey = SurveyFactory(kind=Survey.Kind.NPS, name="Quarterly NPS", **kwargs)
    QuestionFactory(
        survey=survey,
        position=1,
        kind=Question.Kind.SCALE_0_10,
        text="How likely are you to recommend us?",
        translations={"de": {"text": "Wie wahrscheinlich empfehlen Sie uns weiter?"}},
    )
    QuestionFactory(survey=survey, position=2, text="Why?", required=False)
    return survey


def invitation_with_token(
    survey: Survey | None = None, customer=None, **kwargs
) -> tuple[SurveyInvitation, str]:
    """A sent invitation and the raw token of its link."""
    token = new_token()
    kwargs.setdefault("expires_at", timezone.now() + timedelta(days=30))
    invitation = SurveyInvitation.objects.create(
        survey=survey or nps_survey(),
        customer=customer or CustomerFactory(),
        trigger=SurveyInvitation.Trigger.MANUAL,
        status=SurveyInvitation.Status.SENT,
        sent_at=timezone.now(),
        token_hash=token_hash(token),
        **kwargs,
    )
    return invitation, token
