"""Reads for the results pages: each a fixed number of queries, whatever the data."""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import Avg, Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from . import nps
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


# --- Invitations by date: the invitations page's filter and the dashboard's figures -----


def start_of(day: date) -> datetime:
    """Midnight at the start of `day` in the business's time zone (an indexable bound)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def _between(field: str, start: datetime | None, end: datetime | None) -> Q:
    condition = Q()
    if start is not None:
        condition &= Q(**{f"{field}__gte": start})
    if end is not None:
        condition &= Q(**{f"{field}__lt": end})
    return condition


def sent_between(start: datetime | None, end: datetime | None) -> Q:
    """Invitations that reached the customer in [start, end): `sent_at` is set when the
    SMTP server accepted the email, or when staff were shown a link to copy. The same
    "sent" as the results page's counts (statuses sent and link)."""
    return Q(sent_at__isnull=False) & _between("sent_at", start, end)


def answered_between(start: datetime | None, end: datetime | None) -> Q:
    """Invitations answered in [start, end): `used_at` is the response's `submitted_at`."""
    return Q(used_at__isnull=False) & _between("used_at", start, end)


def invitations_filtered(rows: QuerySet, data: dict, *, user) -> QuerySet:
    """The invitations page's filters (InvitationFilterForm's cleaned data)."""
    if data.get("q"):
        rows = rows.filter(customer__search_text__contains=data["q"].strip().lower())
    status = data.get("status")
    if status == "answered":
        rows = rows.filter(used_at__isnull=False)
    elif status == "unanswered":
        rows = rows.filter(used_at__isnull=True)
    elif status:
        rows = rows.filter(status=status)
    owner = data.get("owner")
    if owner == "me":
        rows = rows.filter(customer__owner=user)
    elif owner == "none":
        rows = rows.filter(customer__owner__isnull=True)
    elif owner:
        rows = rows.filter(customer__owner_id=owner)
    first, last = data.get("from"), data.get("to")
    if first or last:
        start = start_of(first) if first else None
        end = start_of(last + timedelta(days=1)) if last else None
        dated = answered_between if status == "answered" else sent_between
        rows = rows.filter(dated(start, end))
    if data.get("score"):
        rows = rows.filter(nps.category_q(data["score"], "response__nps_score"))
    if data.get("choice"):
        chosen = Answer.objects.filter(response__invitation=OuterRef("pk"), choice=data["choice"])
        rows = rows.filter(Exists(chosen))
    return rows


def filterable_choices(survey: Survey) -> list[Choice]:
    """The choices of the survey's choice questions, for the "answer" filter (one query)."""
    return list(
        Choice.objects.filter(question__survey=survey, question__kind__in=Question.CHOICE_KINDS)
        .select_related("question")
        .order_by("question__position", "question_id", "position", "id")
    )
