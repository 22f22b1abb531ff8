"""NPS arithmetic: categories, the score, and the per-period figures."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from surveys import nps
from surveys.models import SurveyResponse

from .factories_surveys import invitation_with_token, nps_survey


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, "detractor"),
        (6, "detractor"),
        (7, "passive"),
        (8, "passive"),
        (9, "promoter"),
        (10, "promoter"),
    ],
)
def test_categories_at_the_boundaries(score, category):
    assert nps.category(score) == category


@pytest.mark.parametrize("score", [-1, 11])
def test_a_score_outside_0_to_10_is_refused(score):
    with pytest.raises(ValueError):
        nps.category(score)


def test_no_answers_means_no_score_not_zero():
    assert nps.net_promoter_score(0, 0, 0) is None
    assert nps.score_of([]) is None


def test_all_passives_score_zero():
    assert nps.score_of([7, 8, 7, 8]) == 0


def test_promoters_minus_detractors_in_percent():
    # 5 promoters, 3 passives, 2 detractors: 50 % − 20 % = 30
    assert nps.score_of([9, 10, 9, 10, 10, 7, 8, 8, 0, 6]) == 30
    assert nps.score_of([10, 10]) == 100
    assert nps.score_of([0, 3, 6]) == -100
    assert nps.net_promoter_score(1, 1, 1) == 0
    assert nps.net_promoter_score(2, 0, 1) == 33.3


@pytest.mark.django_db
def test_figures_per_month_and_overall():
    survey = nps_survey()

    def answer(score: int, when: datetime) -> None:
        invitation, _token = invitation_with_token(survey)
        SurveyResponse.objects.create(
            invitation=invitation,
            survey=survey,
            customer=invitation.customer,
            language="en",
            submitted_at=when,
            nps_score=score,
        )

    march = timezone.make_aware(datetime(2025, 3, 10, 12))
    april = timezone.make_aware(datetime(2025, 4, 2, 12))
    for score in (10, 9, 3):
        answer(score, march)
    for score in (8, 7):
        answer(score, april)
    answer(5, april + timedelta(days=1))

    figures = nps.by_period(survey.responses.all(), "month")
    assert [(f.period.month, f.promoters, f.passives, f.detractors) for f in figures] == [
        (3, 2, 0, 1),
        (4, 0, 2, 1),
    ]
    assert [f.score for f in figures] == [33.3, -33.3]
    overall = nps.overall(survey.responses.all())
    assert (overall.total, overall.score) == (6, 0.0)
    assert nps.by_period(survey.responses.none(), "quarter") == []
    assert nps.overall(survey.responses.none()).score is None


def test_the_overall_figure_adds_up_the_periods():
    figures = [nps.Figure(None, 2, 0, 1), nps.Figure(None, 0, 2, 1)]
    overall = nps.combined(figures)
    assert (overall.promoters, overall.passives, overall.detractors, overall.score) == (2, 2, 2, 0)
    assert nps.combined([]).score is None
