"""The dashboard's NPS tile: score, promoters, passives and detractors, the response
rate, and the top exit reasons of a period.

The score bands and the score itself are surveys.nps's (one rule for the results page
and the dashboard); "sent" and "answered" are surveys.selectors's (one rule for the
invitations page these figures link to). A period is whole days in the business's
time zone: [midnight of its first day, midnight after its last day).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.db.models import (
    Case,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.urls import reverse

from surveys import nps
from surveys.models import Answer, Question, Survey, SurveyInvitation, SurveyResponse
from surveys.selectors import sent_between, start_of

from .periods import Period
from .scope import Scope


def span(period: Period) -> tuple[datetime, datetime]:
    """The period as aware datetimes, the end excluded."""
    return start_of(period.start), start_of(period.end + timedelta(days=1))


@dataclass(frozen=True)
class NpsFigures:
    """NPS answers given in the period, and the invitations sent in it.

    `invitations_answered` counts the invitations sent in the period that were answered
    by now (whenever): the response rate follows the same people from the question to
    the answer, so it is never above 100 % and a period's rate does not depend on when
    the previous period's invitations were answered. It still grows for a while after
    the period ends (links work SURVEY_LINK_DAYS). `responses` are the answers given in
    the period, whichever period they were asked in.
    """

    period: Period
    promoters: int
    passives: int
    detractors: int
    invitations_sent: int
    invitations_answered: int
    # The one NPS survey behind these figures, for links; None with none or several.
    survey_id: int | None

    @property
    def responses(self) -> int:
        return self.promoters + self.passives + self.detractors

    @property
    def score(self) -> float | None:
        """% promoters − % detractors, −100 to +100, rounded to one decimal; None
        without answers (surveys.nps.net_promoter_score)."""
        return nps.net_promoter_score(self.promoters, self.passives, self.detractors)

    @property
    def response_rate(self) -> float | None:
        """Invitations sent in the period and answered ÷ sent × 100, one decimal."""
        if not self.invitations_sent:
            return None
        return round(100 * self.invitations_answered / self.invitations_sent, 1)


def _slot(periods: list[Period], when) -> Case:
    """Which of the periods a row falls in (its index), by the condition `when(start, end)`."""
    whens = [When(when(*span(period)), then=Value(index)) for index, period in enumerate(periods)]
    return Case(*whens, default=None, output_field=IntegerField())


def _check(periods: list[Period]) -> list[Period]:
    ordered = sorted(periods, key=lambda period: period.start)
    for before, after in zip(ordered, ordered[1:], strict=False):
        if after.start <= before.end:
            raise ValueError("the periods of a series must not overlap")
    return ordered


def nps_series(scope: Scope, periods: list[Period]) -> list[NpsFigures]:
    """NpsFigures for each period (in the order given): two grouped queries for any number."""
    if not periods:
        return []
    ordered = _check(periods)
    start, end = span(ordered[0])[0], span(ordered[-1])[1]
    answers = (
        SurveyResponse.objects.filter(
            scope.q("customer__owner"),
            survey__kind=Survey.Kind.NPS,
            nps_score__isnull=False,
            submitted_at__gte=start,
            submitted_at__lt=end,
        )
        .annotate(slot=_slot(periods, lambda a, b: Q(submitted_at__gte=a, submitted_at__lt=b)))
        .values("slot", "survey_id")
        .order_by()
        .annotate(**nps.category_counts())
    )
    invitations = (
        SurveyInvitation.objects.filter(
            sent_between(start, end), scope.q("customer__owner"), survey__kind=Survey.Kind.NPS
        )
        .annotate(slot=_slot(periods, sent_between))
        .values("slot", "survey_id")
        .order_by()
        # Counting the columns of the (survey, sent_at, used_at) index: an index-only scan.
        .annotate(sent=Count("sent_at"), answered=Count("used_at"))
    )
    totals = [
        {"promoters": 0, "passives": 0, "detractors": 0, "sent": 0, "answered": 0, "surveys": set()}
        for _period in periods
    ]
    for row in [*answers, *invitations]:
        if row["slot"] is None:  # between two periods of the series
            continue
        total = totals[row["slot"]]
        for key in ("promoters", "passives", "detractors", "sent", "answered"):
            total[key] += row.get(key, 0)
        total["surveys"].add(row["survey_id"])
    return [
        NpsFigures(
            period=period,
            promoters=total["promoters"],
            passives=total["passives"],
            detractors=total["detractors"],
            invitations_sent=total["sent"],
            invitations_answered=total["answered"],
            survey_id=next(iter(total["surveys"])) if len(total["surveys"]) == 1 else None,
        )
        for period, total in zip(periods, totals, strict=True)
    ]


def nps_figures(scope: Scope, period: Period) -> NpsFigures:
    """The NPS figures of one period (two queries)."""
    return nps_series(scope, [period])[0]


# --- Exit reasons ----------------------------------------------------------------------


@dataclass(frozen=True)
class ReasonCount:
    """One answer to the exit survey's reason question, and how many chose it."""

    label: str  # the choice's text as staff wrote it (the business's language)
    count: int
    share: float  # % of the period's exit answers with a reason, one decimal
    survey_id: int
    choice_id: int


def reason_questions() -> QuerySet:
    """Each exit survey's reason question: its first choice question (by position).

    The shipped exit survey asks "What is the main reason you are leaving?" first; a
    choice question staff add after it (e.g. "what would bring you back") is no reason.
    """
    choice_kinds = Question.CHOICE_KINDS
    earlier = Question.objects.filter(survey=OuterRef("survey"), kind__in=choice_kinds).filter(
        Q(position__lt=OuterRef("position"))
        | Q(position=OuterRef("position"), id__lt=OuterRef("id"))
    )
    return Question.objects.filter(survey__kind=Survey.Kind.EXIT, kind__in=choice_kinds).exclude(
        Exists(earlier)
    )


def top_exit_reasons(scope: Scope, period: Period, limit: int = 5) -> list[ReasonCount]:
    """The reasons most chosen in exit surveys answered in the period, most chosen first
    (ties by label). Two queries: the counts per choice, and the number of answers."""
    start, end = span(period)
    answers = Answer.objects.filter(
        scope.q("response__customer__owner"),
        question__in=reason_questions(),
        choice__isnull=False,
        response__submitted_at__gte=start,
        response__submitted_at__lt=end,
    )
    rows = list(
        answers.values("choice_id", "choice__label", "question__survey_id")
        .order_by()
        .annotate(count=Count("response_id", distinct=True))
        .order_by("-count", "choice__label", "choice_id")[:limit]
    )
    if not rows:
        return []
    respondents = answers.aggregate(n=Count("response_id", distinct=True))["n"]
    return [
        ReasonCount(
            label=row["choice__label"],
            count=row["count"],
            share=round(100 * row["count"] / respondents, 1),
            survey_id=row["question__survey_id"],
            choice_id=row["choice_id"],
        )
        for row in rows
    ]


# --- Where the customers behind each figure are -------------------------------------


def _invitations_url(survey_id: int | None, params: dict, scope: Scope) -> str:
    if survey_id is None:  # no survey, or several: the list of NPS surveys
        return f"{reverse('surveys:list')}?{urlencode({'kind': Survey.Kind.NPS})}"
    if scope.owner_id is not None:
        params = {**params, "owner": scope.owner_id}
    return f"{reverse('surveys:invitations', args=[survey_id])}?{urlencode(params)}"


def _days(period: Period) -> dict:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def nps_links(scope: Scope, figures: NpsFigures) -> dict[str, str]:
    """Per figure, the survey's invitations page filtered to the customers behind it:
    "responses", "promoters", "passives", "detractors" (answered in the period) and
    "invitations" (sent in the period; the page shows who answered)."""
    answered = {"status": "answered", **_days(figures.period)}
    links = {"responses": _invitations_url(figures.survey_id, answered, scope)}
    for key, category in (
        ("promoters", nps.PROMOTER),
        ("passives", nps.PASSIVE),
        ("detractors", nps.DETRACTOR),
    ):
        links[key] = _invitations_url(figures.survey_id, {**answered, "score": category}, scope)
    links["invitations"] = _invitations_url(figures.survey_id, _days(figures.period), scope)
    return links


def exit_reason_link(scope: Scope, period: Period, reason: ReasonCount) -> str:
    """The exit survey's invitations answered in the period with this reason."""
    params = {"status": "answered", **_days(period), "choice": reason.choice_id}
    return _invitations_url(reason.survey_id, params, scope)
