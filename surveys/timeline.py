"""Survey answers in the customer's timeline (two queries per page)."""

from datetime import datetime

from django.db.models import Prefetch
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.timeline import TimelineEntry

from . import nps
from .models import Answer, SurveyResponse

BADGES = {nps.PROMOTER: "success", nps.PASSIVE: "warning", nps.DETRACTOR: "danger"}


def survey_response_entries(
    customer: Customer, until: datetime | None, limit: int
) -> list[TimelineEntry]:
    responses = SurveyResponse.objects.filter(customer=customer).select_related("survey")
    if until is not None:
        responses = responses.filter(submitted_at__lte=until)
    answers = Answer.objects.select_related("question", "choice").order_by(
        "question__position", "question_id", "id"
    )
    responses = responses.order_by("-submitted_at", "-id").prefetch_related(
        Prefetch("answers", queryset=answers)
    )[:limit]
    entries = []
    for response in responses:
        if response.nps_score is not None:
            category = nps.category(response.nps_score)
            labels = {
                nps.PROMOTER: _("promoter"),
                nps.PASSIVE: _("passive"),
                nps.DETRACTOR: _("detractor"),
            }
            title = _("NPS %(score)s (%(category)s)") % {
                "score": response.nps_score,
                "category": labels[category],
            }
            badge = BADGES[category]
        else:
            title = _("Answered “%(survey)s”") % {"survey": response.survey.name}
            badge = "info"
        entries.append(
            TimelineEntry(
                occurred_at=response.submitted_at,
                source="survey",
                pk=response.pk,
                kind=f"survey_{response.survey.kind}",
                kind_label=_("Survey"),
                title=title,
                body=_summarise(response.answers.all()),
                actor=_("the customer"),
                detail=response.survey.name,
                badge=badge,
            )
        )
    return entries


def _summarise(answers) -> str:
    """ "Question: answer" lines, several choices of one question joined."""
    lines: dict[int, tuple[str, list[str]]] = {}
    for answer in answers:
        text, values = lines.setdefault(answer.question_id, (answer.question.text, []))
        values.append(answer.display)
    return "\n".join(
        question_and_answer(text, ", ".join(values)) for text, values in lines.values()
    )


# A question that ends in its own punctuation gets no colon ("…or colleague? 9", not "?:").
CLOSING_PUNCTUATION = "?!:.？！：。"


def question_and_answer(question: str, answer: str) -> str:
    """ "Question: answer", or "Question? answer" when the question ends in punctuation."""
    question = question.rstrip()
    separator = " " if question.endswith(tuple(CLOSING_PUNCTUATION)) else ": "
    return f"{question}{separator}{answer}"
