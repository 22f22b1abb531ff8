"""Survey timings: the public answering page (GET and POST) and the staff survey pages.

The public page is timed through django.test.Client like the other pages, one
fresh invitation per request (a link answers once, and the per-link rate limit
stays in force). The staff pages are timed on a survey with RESPONSES answers,
created once in the bench database. Target: the public page within
PUBLIC_TARGET_MS median, the staff pages within pages.TARGET_MS.
"""

import random
import statistics
import time
from dataclasses import dataclass, field
from datetime import timedelta

from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from retention.models import Notification
from surveys.invitations import new_token, token_hash
from surveys.models import Answer, Question, Survey, SurveyInvitation, SurveyResponse

from . import pages
from .load import Dataset

PUBLIC_TARGET_MS = 50.0
RUNS = pages.RUNS
WARM_UPS = pages.WARM_UPS
BENCH_SURVEY = "Bench NPS"
RESPONSES = 20_000
TEXT_SHARE = 3  # one answer in three has a written "why"
REASONS = [
    "Great support, fast answers",
    "Too expensive for what we use",
    "The reports are confusing",
    "Reliable, never had an outage",
    "Onboarding took too long",
    "Friendly account manager",
]


@dataclass
class Measure:
    label: str
    target_ms: float
    durations_ms: list[float] = field(default_factory=list)
    query_counts: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.durations_ms)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.durations_ms)
        return ordered[max(0, round(0.95 * len(ordered)) - 1)]

    @property
    def queries(self) -> str:
        low, high = min(self.query_counts), max(self.query_counts)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def passed(self) -> bool:
        return self.median_ms <= self.target_ms

    def time(self, call) -> object:
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            result = call()
            elapsed = time.perf_counter() - started
        self.durations_ms.append(elapsed * 1000)
        self.query_counts.append(len(captured))
        self.sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
        return result


def run(data: Dataset, log=print) -> tuple[list[str], bool]:
    """Time the survey pages; the report's lines and whether every target was met."""
    survey = ensure_survey_data(log)
    measures = time_public_page(survey, log) + time_staff_pages(data, survey)
    for measure in measures:
        log(
            f"  {measure.label:<34} median {measure.median_ms:6.1f} ms, "
            f"p95 {measure.p95_ms:6.1f} ms, {measure.queries} queries, "
            f"SQL {statistics.median(measure.sql_ms):5.1f} ms"
        )
    lines = [
        "## Surveys",
        "",
        f"Public answering page: one fresh invitation per request ({RUNS} GETs, then "
        f"{RUNS} POSTs answering them), rate limits on. Staff pages on a survey with "
        f"{RESPONSES:,} answers.",
        "",
        "| page | median ms | p95 ms | queries | SQL ms (median) | target ms | result |",
        "|---|---:|---:|---:|---:|---:|---|",
        *(
            f"| {m.label} | {m.median_ms:.1f} | {m.p95_ms:.1f} | {m.queries} | "
            f"{statistics.median(m.sql_ms):.1f} | {m.target_ms:.0f} | "
            f"{'PASS' if m.passed else 'FAIL'} |"
            for m in measures
        ),
    ]
    return lines, all(measure.passed for measure in measures)


def ensure_survey_data(log=print) -> Survey:
    """A survey with RESPONSES answered NPS invitations spread over two years (made once)."""
    survey = Survey.objects.filter(name=BENCH_SURVEY).first()
    if survey and survey.responses.count() >= RESPONSES:
        return survey
    log(f"Survey data: {RESPONSES:,} NPS answers ...")
    rng = random.Random(7)
    now = timezone.now()
    with transaction.atomic():
        Survey.objects.filter(name=BENCH_SURVEY).delete()
        survey = Survey.objects.create(name=BENCH_SURVEY, kind=Survey.Kind.NPS, title="NPS")
        score_q = Question.objects.create(
            survey=survey, position=1, kind=Question.Kind.SCALE_0_10, text="Recommend us?"
        )
        why_q = Question.objects.create(
            survey=survey, position=2, kind=Question.Kind.TEXT, text="Why?", required=False
        )
        customer_ids = list(
            Customer.objects.order_by("pk").values_list("pk", flat=True)[:RESPONSES]
        )
        moments = [now - timedelta(minutes=rng.randrange(2 * 365 * 24 * 60)) for _ in customer_ids]
        invitations = SurveyInvitation.objects.bulk_create(
            [
                SurveyInvitation(
                    survey=survey,
                    customer_id=customer_id,
                    trigger=SurveyInvitation.Trigger.NPS_SCHEDULE,
                    status=SurveyInvitation.Status.SENT,
                    token_hash=token_hash(f"bench-{survey.pk}-{customer_id}"),
                    sent_at=moment - timedelta(days=2),
                    used_at=moment,
                    expires_at=moment + timedelta(days=28),
                )
                for customer_id, moment in zip(customer_ids, moments, strict=True)
            ],
            batch_size=5000,
        )
        responses = SurveyResponse.objects.bulk_create(
            [
                SurveyResponse(
                    invitation=invitation,
                    survey=survey,
                    customer_id=invitation.customer_id,
                    language="en",
                    submitted_at=invitation.used_at,
                    nps_score=rng.choices(range(11), weights=[1, 1, 1, 2, 2, 3, 4, 8, 10, 9, 7])[0],
                )
                for invitation in invitations
            ],
            batch_size=5000,
        )
        answers = []
        for n, response in enumerate(responses):
            answers.append(Answer(response=response, question=score_q, number=response.nps_score))
            if n % TEXT_SHARE == 0:
                answers.append(Answer(response=response, question=why_q, text=rng.choice(REASONS)))
        Answer.objects.bulk_create(answers, batch_size=5000)
    if connection.vendor == "postgresql":
        # As autovacuum would: fresh statistics and a visibility map for index-only scans.
        with connection.cursor() as cursor:
            for table in ("surveys_surveyinvitation", "surveys_surveyresponse", "surveys_answer"):
                cursor.execute(f"VACUUM ANALYZE {table}")
    return survey


def _fresh_tokens(survey: Survey, count: int) -> list[tuple[SurveyInvitation, str]]:
    """Invitations for customers (with account managers, so low scores notify someone)."""
    customers = list(
        Customer.objects.filter(owner__isnull=False)
        .order_by("-pk")
        .values_list("pk", flat=True)[:count]
    )
    made = []
    for customer_id in customers:
        token = new_token()
        invitation = SurveyInvitation.objects.create(
            survey=survey,
            customer_id=customer_id,
            trigger=SurveyInvitation.Trigger.MANUAL,
            status=SurveyInvitation.Status.SENT,
            token_hash=token_hash(token),
            sent_at=timezone.now(),
            expires_at=timezone.now() + timedelta(days=30),
        )
        made.append((invitation, token))
    return made


def time_public_page(survey: Survey, log=print) -> list[Measure]:
    """GET then POST the public page, each request on its own fresh link."""
    cache.clear()  # rate-limit counters from an earlier run
    started = timezone.now()
    tokens = _fresh_tokens(survey, RUNS + WARM_UPS)
    score_field = f"q{survey.questions.get(kind=Question.Kind.SCALE_0_10).pk}"
    why_field = f"q{survey.questions.get(kind=Question.Kind.TEXT).pk}"
    client = Client()
    get = Measure("Public survey page, GET", PUBLIC_TARGET_MS)
    post = Measure("Public survey page, POST (answer)", PUBLIC_TARGET_MS)
    try:
        for n, (_invitation, token) in enumerate(tokens):
            url = reverse("surveys:answer", args=[token])
            response = get.time(lambda url=url: client.get(url))
            _expect(response, 200, url)
            if n < WARM_UPS:
                get.durations_ms.pop(), get.query_counts.pop(), get.sql_ms.pop()
        for n, (_invitation, token) in enumerate(tokens):
            url = reverse("surveys:answer", args=[token])
            body = {score_field: str(n % 11), why_field: "Bench answer"}
            response = post.time(lambda url=url, body=body: client.post(url, body))
            _expect(response, 302, url)
            if n < WARM_UPS:
                post.durations_ms.pop(), post.query_counts.pop(), post.sql_ms.pop()
        stored = SurveyResponse.objects.filter(invitation__in=[i for i, _t in tokens]).count()
        if stored != len(tokens):
            raise pages.BenchError(f"{stored} of {len(tokens)} answers stored")
    finally:
        # Leave the data set as it was: the next run makes its own links again.
        SurveyInvitation.objects.filter(pk__in=[i.pk for i, _t in tokens]).delete()
        Notification.objects.filter(
            created_at__gte=started, customer_id__in=[i.customer_id for i, _t in tokens]
        ).delete()
    return [get, post]


def time_staff_pages(data: Dataset, survey: Survey) -> list[Measure]:
    client = Client()
    client.force_login(data.admin)
    results = reverse("surveys:results", args=[survey.pk])
    answers = reverse("surveys:answers", args=[survey.pk])
    invitations = reverse("surveys:invitations", args=[survey.pk])
    urls = [
        ("Surveys list", reverse("surveys:list")),
        (f"NPS results per month ({RESPONSES:,})", results),
        ("NPS results per week", f"{results}?period=week"),
        ("Written answers, page 1", answers),
        ("Written answers, search", f"{answers}?q=support"),
        ("Written answers, page 200", f"{answers}?page=200"),
        ("Invitations, page 1", invitations),
        ("Invitations, unanswered", f"{invitations}?status=unanswered"),
    ]
    measures = []
    for label, url in urls:
        measure = Measure(label, pages.TARGET_MS)
        for _ in range(WARM_UPS):
            _expect(client.get(url), 200, url)
        for _ in range(RUNS):
            _expect(measure.time(lambda url=url: client.get(url)), 200, url)
        measures.append(measure)
    return measures


def _expect(response, status: int, url: str) -> None:
    if response.status_code != status:
        raise pages.BenchError(f"{url} answered {response.status_code}, expected {status}")
