"""Demo survey history: `manage.py seed_surveys`, run by `make run` after seed_demo.

A year of answers to the two surveys the app ships with, written in bulk as if the
automatic sending had run: every customer we work with was asked for an NPS about
every six months (about a third answer, within a week), and customers who churned
in the last year got the exit survey the day they left (nearly half answer, mostly
with the reason staff noted). Scores follow the customer's state: active customers
are mostly promoters, customers at risk or about to leave mostly not.

Does nothing when any survey was answered already, or when the shipped surveys were
deleted. Deterministic for a given seed and day, like seed_demo.
"""

import random
import time as clock
from datetime import date, datetime, time, timedelta

from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from customers.models import Customer
from surveys import nps
from surveys.models import Answer, Question, Survey, SurveyInvitation, SurveyResponse

Status = Customer.Status
Trigger = SurveyInvitation.Trigger

ASKED = (Status.ACTIVE, Status.AT_RISK, Status.ONBOARDING, Status.CHURNED)
NPS_EVERY_DAYS = 182
# (share answering, score weights 0..10) by the customer's status: over everyone, about
# 40 % promoters, 35 % passives and 25 % detractors, as a healthy small business gets.
NPS_ANSWERS = {
    Status.ACTIVE: (0.38, [1, 1, 1, 2, 2, 4, 5, 15, 21, 24, 22]),
    Status.ONBOARDING: (0.40, [0, 0, 1, 1, 1, 2, 4, 10, 16, 18, 15]),
    Status.AT_RISK: (0.30, [3, 3, 5, 7, 8, 9, 9, 8, 6, 3, 2]),
    Status.CHURNED: (0.25, [6, 5, 7, 8, 8, 8, 6, 4, 3, 2, 1]),
}
EXIT_ANSWERING = 0.45
# The churn reasons of the demo data (customers.demo.vocabulary) as exit-survey choices.
EXIT_CHOICE_FOR = {
    "Moved to a competitor": "Moved to a competitor",
    "Too expensive": "Price",
    "Missing features": "Unhappy with the product or service",
    "Poor support experience": "I felt badly treated",
    "No longer needed": "Looking for alternatives",
    "Business closed": "Other",
    "Merged with another company": "Other",
}
WHY = {
    nps.PROMOTER: [
        "Great support, always quick to answer.",
        "Easy to use and reliable.",
        "The team really knows our business.",
    ],
    nps.PASSIVE: [
        "Good overall, but the price went up.",
        "Does the job; some features are missing.",
        "Fine, though onboarding took a while.",
    ],
    nps.DETRACTOR: [
        "Support takes days to reply.",
        "Too expensive for what we use.",
        "Too many bugs lately.",
    ],
}
BETTER = [
    "Answer support tickets faster.",
    "A cheaper plan for small teams.",
    "Keep the features we relied on.",
    "Call us before the renewal, not after.",
]


class Command(BaseCommand):
    help = "Create a year of demo NPS and exit-survey answers (only when none exist)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=11, help="Seed for the random data.")

    @transaction.atomic
    def handle(self, *args, seed: int, **options) -> None:
        started = clock.monotonic()
        if SurveyResponse.objects.exists():
            self.stdout.write("Survey answers already present")
            return
        recommend = _survey(Survey.Kind.NPS, Question.Kind.SCALE_0_10)
        leaving = _survey(Survey.Kind.EXIT, Question.Kind.SINGLE_CHOICE)
        if recommend is None or leaving is None:
            self.stdout.write("The shipped NPS or exit survey is gone: no demo answers")
            return
        rng = random.Random(seed)  # noqa: S311 (demo data, not secrets)
        seeder = SurveySeeder(rng=rng, recommend=recommend, leaving=leaving)
        counts = seeder.run()
        elapsed = clock.monotonic() - started
        self.stdout.write(
            self.style.SUCCESS(
                f"Survey demo in {elapsed:.1f} s: {counts['invitations']} invitations, "
                f"{counts['nps']} NPS answers, {counts['exit']} exit answers"
            )
        )


def _survey(kind: str, question_kind: str) -> Survey | None:
    """The oldest survey of the kind that has a question of that type."""
    return (
        Survey.objects.filter(kind=kind, questions__kind=question_kind)
        .order_by("id")
        .prefetch_related("questions__choices")
        .first()
    )


class SurveySeeder:
    def __init__(self, *, rng: random.Random, recommend: Survey, leaving: Survey) -> None:
        self.rng = rng
        self.today = timezone.localdate()
        # Nothing after midnight today, so two runs on one day are identical.
        self.until = self.moment(self.today, 0)
        questions = sorted(recommend.questions.all(), key=lambda q: (q.position, q.pk))
        self.recommend = recommend
        self.score_question = next(q for q in questions if q.kind == Question.Kind.SCALE_0_10)
        self.nps_why = next((q for q in questions if q.kind == Question.Kind.TEXT), None)
        questions = sorted(leaving.questions.all(), key=lambda q: (q.position, q.pk))
        self.leaving = leaving
        self.reason_question = next(q for q in questions if q.kind in Question.CHOICE_KINDS)
        self.exit_better = next((q for q in questions if q.kind == Question.Kind.TEXT), None)
        self.choices = {choice.label: choice for choice in self.reason_question.choices.all()}

    def moment(self, day: date, hour: int) -> datetime:
        return timezone.make_aware(datetime.combine(day, time(hour)))

    def run(self) -> dict:
        customers = Customer.objects.filter(status__in=ASKED, archived_at__isnull=True).exclude(
            email=""
        )
        rows = customers.order_by("pk").values_list(
            "pk", "status", "customer_since", "churned_on", "created_at", "preferred_language"
        )
        asked, exits = [], []
        reasons = dict(customers.values_list("pk", "churn_reason"))
        for pk, status, since, churned_on, created_at, language in rows:
            for sent in self.nps_days(since or timezone.localdate(created_at), churned_on):
                asked.append((self.recommend, pk, status, sent, language))
            year_ago = self.today - timedelta(days=365)
            if status == Status.CHURNED and churned_on and churned_on >= year_ago:
                exits.append((self.leaving, pk, status, churned_on, language))
        invitations, answered = self.invitations(asked + exits)
        responses = SurveyResponse.objects.bulk_create(
            [response for response, _extra in answered], batch_size=1000
        )
        answers = []
        for response in responses:
            answers.extend(self.answers(response, reasons.get(response.customer_id, "")))
        Answer.objects.bulk_create(answers, batch_size=2000)
        return {
            "invitations": len(invitations),
            "nps": sum(1 for r in responses if r.survey_id == self.recommend.pk),
            "exit": sum(1 for r in responses if r.survey_id == self.leaving.pk),
        }

    def nps_days(self, since: date, churned_on: date | None) -> list[date]:
        """Every ~six months back from a day in the last six months, within the year,
        after the first month with us and before leaving."""
        first = max(self.today - timedelta(days=365), since + timedelta(days=30))
        last = min(self.today - timedelta(days=1), (churned_on or self.today) - timedelta(days=1))
        day = self.today - timedelta(days=self.rng.randint(1, NPS_EVERY_DAYS))
        days = []
        while day >= first:
            if day <= last:
                days.append(day)
            day -= timedelta(days=NPS_EVERY_DAYS)
        return days

    def invitations(self, asked: list) -> tuple[list, list]:
        rng = self.rng
        invitations, answered = [], []
        for survey, customer_id, status, day, language in asked:
            sent = self.moment(day, rng.randint(8, 17))
            is_exit = survey.pk == self.leaving.pk
            share = EXIT_ANSWERING if is_exit else NPS_ANSWERS[status][0]
            used = sent + timedelta(hours=rng.randint(1, 240 if is_exit else 168))
            used = used if rng.random() < share and used < self.until else None
            reminded = sent + timedelta(days=5)
            reminded = reminded if reminded < (used or self.until) and rng.random() < 0.7 else None
            invitation = SurveyInvitation(
                survey=survey,
                customer_id=customer_id,
                status=SurveyInvitation.Status.SENT,
                trigger=Trigger.CHURNED if is_exit else Trigger.NPS_SCHEDULE,
                expires_at=sent + timedelta(days=30),
                sent_at=sent,
                reminded_at=reminded,
                used_at=used,
                attempts=1,
                queued_at=sent,
            )
            invitations.append((invitation, status, language))
        created = SurveyInvitation.objects.bulk_create(
            [invitation for invitation, _s, _l in invitations], batch_size=1000
        )
        # created_at is auto_now_add: one UPDATE makes them made the moment they were sent.
        ids = [invitation.pk for invitation in created]
        SurveyInvitation.objects.filter(pk__in=ids).update(created_at=F("sent_at"))
        for invitation, (_i, status, language) in zip(created, invitations, strict=True):
            if invitation.used_at is None:
                continue
            is_nps = invitation.survey_id == self.recommend.pk
            response = SurveyResponse(
                invitation=invitation,
                survey_id=invitation.survey_id,
                customer_id=invitation.customer_id,
                language=language,
                submitted_at=invitation.used_at,
                nps_score=self.score(status) if is_nps else None,
            )
            answered.append((response, status))
        return created, answered

    def score(self, status: str) -> int:
        return self.rng.choices(range(11), weights=NPS_ANSWERS[status][1])[0]

    def answers(self, response: SurveyResponse, churn_reason: str) -> list[Answer]:
        rng = self.rng
        if response.nps_score is not None:
            rows = [
                Answer(response=response, question=self.score_question, number=response.nps_score)
            ]
            if self.nps_why and rng.random() < 0.3:
                why = rng.choice(WHY[nps.category(response.nps_score)])
                rows.append(Answer(response=response, question=self.nps_why, text=why))
            return rows
        label = EXIT_CHOICE_FOR.get(churn_reason)
        if label not in self.choices or rng.random() < 0.3:
            label = rng.choice(sorted(self.choices))
        rows = [
            Answer(response=response, question=self.reason_question, choice=self.choices[label])
        ]
        if self.exit_better and rng.random() < 0.4:
            rows.append(
                Answer(response=response, question=self.exit_better, text=rng.choice(BETTER))
            )
        return rows
