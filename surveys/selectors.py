"""Reads for the results pages: each a fixed number of queries, whatever the data."""

from dataclasses import dataclass

from django.db.models import Avg, Count, Prefetch, Q, QuerySet

from .models import Answer, Choice, Question, Survey, SurveyInvitation


@dataclass(frozen=True)
class InvitationCounts:
    invited: int
    sent: int
    answered: int
    pending: int
    failed: int

    @property
    def response_rate(self) -> float | None:
        asked = self.sent
        return round(100 * self.answered / asked, 1) if asked else None


def invitation_counts(survey: Survey) -> InvitationCounts:
    row = SurveyInvitation.objects.filter(survey=survey).aggregate(
        invited=Count("id"),
        sent=Count("id", filter=Q(status__in=["sent", "link"])),
        answered=Count("id", filter=Q(used_at__isnull=False)),
        pending=Count("id", filter=Q(status__in=["pending", "sending"])),
        failed=Count("id", filter=Q(status="failed")),
    )
    return InvitationCounts(**row)


def questions_with_choices(survey: Survey) -> list[Question]:
    return list(
        survey.questions.prefetch_related(
            Prefetch("choices", queryset=Choice.objects.order_by("position", "id"))
        )
    )


@dataclass(frozen=True)
class ChoiceRanking:
    question: Question
    rows: list[tuple[str, int]]  # (label, count), most chosen first

    @property
    def total(self) -> int:
        return sum(count for _label, count in self.rows)


def choice_rankings(survey: Survey, questions: list[Question]) -> list[ChoiceRanking]:
    """Each choice question's choices by how often they were chosen (one query, if any)."""
    if not any(question.has_choices for question in questions):
        return []
    counts = dict(
        ((row["question_id"], row["choice_id"]), row["n"])
        for row in Answer.objects.filter(question__survey=survey, choice__isnull=False)
        .values("question_id", "choice_id")
        .order_by()
        .annotate(n=Count("id"))
    )
    rankings = []
    for question in questions:
        if not question.has_choices:
            continue
        rows = [
            (choice.label, counts.get((question.pk, choice.pk), 0))
            for choice in question.choices.all()
            if choice.is_active or counts.get((question.pk, choice.pk))
        ]
        rows.sort(key=lambda row: row[1], reverse=True)
        rankings.append(ChoiceRanking(question, rows))
    return rankings


def number_summaries(survey: Survey) -> dict[int, dict]:
    """Average and count per 0–10 / 1–5 question (one query)."""
    rows = (
        Answer.objects.filter(question__survey=survey, number__isnull=False)
        .values("question_id")
        .order_by()
        .annotate(average=Avg("number"), count=Count("number"))
    )
    return {row["question_id"]: row for row in rows}


def text_answers(
    questions: list[Question], *, search: str = "", question_id: int | None = None
) -> QuerySet:
    """Free-text answers to these questions, newest first, with their customer.

    Newest first by id: answers are written when the customer submits, so the id
    order is the submission order, and the (question, id) index serves it without
    sorting every answer of the survey.
    """
    ids = [q.pk for q in questions if q.kind == Question.Kind.TEXT]
    if question_id:
        ids = [pk for pk in ids if pk == question_id]
    answers = (
        Answer.objects.filter(question_id__in=ids)
        .exclude(text="")
        .select_related("question", "response__customer")
        .order_by("-id")
    )
    if search:
        answers = answers.filter(text__icontains=search)
    return answers
