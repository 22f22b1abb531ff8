"""Answering a survey: consume the link, store the answers, tell whoever must know."""

from django.conf import settings
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from accounts.languages import user_language
from customers.links import BadLink
from retention.risk.models import Notification

from . import events, nps
from .invitations import invitation_consume
from .models import Answer, Question, Survey, SurveyInvitation, SurveyResponse


class AlreadyAnswered(Exception):
    """The link was used already (a second tab, a double click, a replay)."""


@transaction.atomic
def response_submit(
    *, invitation: SurveyInvitation, answers: dict[Question, object], language: str
) -> SurveyResponse:
    """Store one customer's answers, consuming the invitation in the same transaction.

    Raises AlreadyAnswered when the link was used meanwhile, BadLink(expired=True)
    when it expired meanwhile; nothing is stored then.
    """
    now = timezone.now()
    if not invitation_consume(invitation=invitation, now=now):
        invitation.refresh_from_db(fields=["used_at", "expires_at"])
        if invitation.used_at is not None:
            raise AlreadyAnswered()
        raise BadLink(expired=True)
    survey = invitation.survey
    response = SurveyResponse.objects.create(
        invitation=invitation,
        survey=survey,
        customer=invitation.customer,
        language=language,
        submitted_at=now,
        nps_score=_nps_score(survey, answers),
    )
    Answer.objects.bulk_create(_answer_rows(response, answers))
    if response.nps_score is not None:
        _notify_owner(response)
    events.response_submitted.send(
        sender=SurveyResponse, response=response, customer=invitation.customer
    )
    return response


def _nps_score(survey: Survey, answers: dict[Question, object]) -> int | None:
    """An NPS survey's score: the answer to its first 0–10 question."""
    if survey.kind != Survey.Kind.NPS:
        return None
    for question in sorted(answers, key=lambda q: (q.position, q.pk)):
        if question.kind == Question.Kind.SCALE_0_10:
            return answers[question]
    return None


def _answer_rows(response: SurveyResponse, answers: dict[Question, object]) -> list[Answer]:
    rows = []
    for question, value in answers.items():
        if value is None or value == "" or value == []:
            continue  # an optional question left blank: no row
        if question.kind in Question.NUMBER_KINDS:
            rows.append(Answer(response=response, question=question, number=value))
        elif question.kind == Question.Kind.SINGLE_CHOICE:
            rows.append(Answer(response=response, question=question, choice_id=value))
        elif question.kind == Question.Kind.MULTIPLE_CHOICE:
            rows.extend(
                Answer(response=response, question=question, choice_id=choice_id)
                for choice_id in value
            )
        else:
            rows.append(Answer(response=response, question=question, text=value.strip()))
    return rows


def _notify_owner(response: SurveyResponse) -> None:
    """A passive or detractor answer tells the account manager at once."""
    customer = response.customer
    category = nps.category(response.nps_score)
    if category == nps.PROMOTER or customer.owner_id is None:
        return
    # The notice is for staff: in the language the account manager chose, else the
    # site's; not the customer's (it is stored, so written once, in theirs).
    language = user_language(customer.owner_id) or settings.LANGUAGE_CODE
    with translation.override(language):
        labels = {nps.PASSIVE: _("passive"), nps.DETRACTOR: _("detractor")}
        message = _("%(name)s answered %(score)s to “%(survey)s” (%(category)s).") % {
            "name": customer.name,
            "score": response.nps_score,
            "survey": response.survey.name,
            "category": labels[category],
        }
    Notification.objects.create(
        recipient_id=customer.owner_id, customer=customer, message=message[:300]
    )
