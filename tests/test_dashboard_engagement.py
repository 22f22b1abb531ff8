"""The dashboard's NPS, exit reasons, onboarding and loyalty figures, on hand-built
histories with exact numbers at the period's edges."""

import io
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.db.models import Q
from django.utils import timezone

from dashboard import engagement, nps
from dashboard.periods import MONTH, custom_period, period_containing
from dashboard.scope import EVERYONE, Scope
from retention.loyalty import expiry, ledger, redemption, selectors
from retention.models import Checklist, LoyaltySettings
from surveys import invitations
from surveys.models import Answer, Choice, Question, Survey, SurveyInvitation, SurveyResponse

from .factories import CustomerFactory, RewardFactory
from .factories_surveys import ChoiceFactory, QuestionFactory, SurveyFactory

pytestmark = pytest.mark.django_db

MARCH = period_containing(MONTH, date(2026, 3, 1))
APRIL = MARCH.next()
TODAY = date(2026, 4, 15)


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime(2026, 4, 15, 12, 0, tzinfo=timezone.get_current_timezone())):
        yield


def at(day: date, hour: int = 12, minute: int = 0, second: int = 0) -> datetime:
    """A moment on `day` in the business's time zone."""
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


# --- NPS -------------------------------------------------------------------------------


def shipped(kind: str) -> Survey:
    """The NPS or exit survey the data migration ships."""
    return Survey.objects.get(kind=kind, name={"nps": "NPS", "exit": "Exit survey"}[kind])


def invite(customer, *, sent=None, survey=None, status="sent", created=None) -> SurveyInvitation:
    invitation = SurveyInvitation.objects.create(
        survey=survey or shipped(Survey.Kind.NPS),
        customer=customer,
        trigger=SurveyInvitation.Trigger.MANUAL,
        status=status,
        sent_at=sent,
        expires_at=(sent or timezone.now()) + timedelta(days=30),
    )
    if created:  # auto_now_add: set afterwards
        SurveyInvitation.objects.filter(pk=invitation.pk).update(created_at=created)
    return invitation


def answer(customer, score, when: datetime, *, invitation=None, survey=None) -> SurveyResponse:
    """An answered NPS invitation (sent the day before unless given)."""
    invitation = invitation or invite(customer, sent=when - timedelta(days=1), survey=survey)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(used_at=when)
    return SurveyResponse.objects.create(
        invitation=invitation,
        survey=invitation.survey,
        customer=customer,
        language="en",
        submitted_at=when,
        nps_score=score,
    )


def test_three_promoters_one_passive_one_detractor_make_an_nps_of_40(manager):
    """Given 9, 10, 9, 7 and 6 answered in March, when the figures are read, then there
    are 3 promoters, 1 passive, 1 detractor, 5 responses, and NPS = 60 % − 20 % = 40."""
    for score in (9, 10, 9, 7, 6):
        answer(CustomerFactory(owner=manager), score, at(date(2026, 3, 10)))

    figures = nps.nps_figures(EVERYONE, MARCH)

    assert (figures.promoters, figures.passives, figures.detractors) == (3, 1, 1)
    assert figures.responses == 5
    assert figures.score == 40.0


@pytest.mark.parametrize(
    "score, band",
    [(0, "detractors"), (6, "detractors"), (7, "passives"), (8, "passives"), (9, "promoters")],
)
def test_the_bands_edges(score, band):
    """Given one answer of `score`, then it counts in `band` only: 0–6, 7–8, 9–10."""
    answer(CustomerFactory(), score, at(date(2026, 3, 10)))

    figures = nps.nps_figures(EVERYONE, MARCH)

    counts = {"promoters": 0, "passives": 0, "detractors": 0, band: 1}
    assert (figures.promoters, figures.passives, figures.detractors) == (
        counts["promoters"],
        counts["passives"],
        counts["detractors"],
    )


def test_the_score_is_rounded_to_one_decimal():
    """Given 10, 9 and 8: two promoters of three answers, NPS = 66.666… shown as 66.7."""
    for score in (10, 9, 8):
        answer(CustomerFactory(), score, at(date(2026, 3, 10)))

    assert nps.nps_figures(EVERYONE, MARCH).score == 66.7


def test_an_answer_on_the_last_day_counts_and_the_next_days_does_not(settings):
    """Given a business in Berlin, an answer at 23:59:59 on 31 March counts in March, one
    at 00:00 on 1 April does not (in UTC it is still 31 March), nor one at 23:59:59 on
    28 February; one at 00:00 on 1 March does."""
    settings.TIME_ZONE = "Europe/Berlin"
    for moment in (
        at(date(2026, 2, 28), 23, 59, 59),
        at(date(2026, 3, 1), 0, 0),
        at(date(2026, 3, 31), 23, 59, 59),
        at(date(2026, 4, 1), 0, 0),
    ):
        answer(CustomerFactory(), 10, moment)

    assert nps.nps_figures(EVERYONE, MARCH).promoters == 2
    assert nps.nps_figures(EVERYONE, APRIL).promoters == 1


def test_no_answers_no_score_and_no_invitations_no_rate():
    """Given nothing in March, then the score and the response rate are None, not 0."""
    figures = nps.nps_figures(EVERYONE, MARCH)

    assert figures.responses == 0 and figures.score is None
    assert figures.invitations_sent == 0 and figures.response_rate is None


def test_the_response_rate_follows_the_invitations_sent_in_the_period():
    """Given five NPS invitations reaching customers in March (four emails, one link staff
    copied) of which two were answered (one in March, one in April), one sent in
    February and answered in March, one still pending, one failed, and an exit survey
    sent in March; then 5 were sent, 2 of them answered: 40 %, and March's responses
    are the two answers given in March."""
    emailed = [invite(CustomerFactory(), sent=at(date(2026, 3, d))) for d in (1, 9, 20, 31)]
    with time_machine.travel(at(date(2026, 3, 12)), tick=False):
        copied, _url = invitations.invitation_link_create(
            survey=shipped(Survey.Kind.NPS), customer=CustomerFactory(), created_by=None
        )
    answer(emailed[0].customer, 9, at(date(2026, 3, 10)), invitation=emailed[0])
    answer(copied.customer, 3, at(date(2026, 4, 2)), invitation=copied)
    february = invite(CustomerFactory(), sent=at(date(2026, 2, 27)))
    answer(february.customer, 8, at(date(2026, 3, 2)), invitation=february)
    invite(CustomerFactory(), status="pending", created=at(date(2026, 3, 5)))
    invite(CustomerFactory(), status="failed", created=at(date(2026, 3, 5)))
    invite(CustomerFactory(), sent=at(date(2026, 3, 5)), survey=shipped(Survey.Kind.EXIT))

    figures = nps.nps_figures(EVERYONE, MARCH)

    assert figures.invitations_sent == 5
    assert figures.invitations_answered == 2
    assert figures.response_rate == 40.0
    assert figures.responses == 2  # the 9 of 10 March and the 8 of 2 March
    assert nps.nps_figures(EVERYONE, APRIL).invitations_sent == 0


def test_an_account_manager_sees_their_own_customers_answers(manager, other_manager):
    """Given answers from the manager's, another manager's and an unassigned customer,
    then the manager's scope counts theirs only and everyone's counts all three."""
    answer(CustomerFactory(owner=manager), 10, at(date(2026, 3, 3)))
    answer(CustomerFactory(owner=other_manager), 0, at(date(2026, 3, 3)))
    answer(CustomerFactory(owner=None), 8, at(date(2026, 3, 3)))
    invite(CustomerFactory(owner=other_manager), sent=at(date(2026, 3, 4)))

    mine = nps.nps_figures(Scope(owner_id=manager.pk), MARCH)
    everyone = nps.nps_figures(EVERYONE, MARCH)

    assert (mine.promoters, mine.passives, mine.detractors, mine.score) == (1, 0, 0, 100.0)
    assert (mine.invitations_sent, mine.invitations_answered) == (1, 1)
    assert (everyone.responses, everyone.invitations_sent) == (3, 4)


def test_a_series_takes_two_queries_whatever_the_data(django_assert_max_num_queries):
    """Given answers in several months, then twelve months of figures take two queries,
    as many with 40 more answers, and each month equals its own nps_figures."""
    periods = APRIL.trailing(12)
    answer(CustomerFactory(), 10, at(date(2026, 1, 5)))
    with django_assert_max_num_queries(2):
        nps.nps_series(EVERYONE, periods)
    for index in range(40):
        answer(CustomerFactory(), index % 11, at(date(2025, 6 + index % 7, 1 + index % 28)))

    with django_assert_max_num_queries(2):
        series = nps.nps_series(EVERYONE, periods)

    assert [figures.period for figures in series] == periods
    assert series == [nps.nps_figures(EVERYONE, period) for period in periods]
    assert sum(figures.responses for figures in series) == 41  # May 2025 … April 2026


def test_a_series_refuses_overlapping_periods():
    """Given March and a custom range across it, then the series raises ValueError."""
    with pytest.raises(ValueError):
        nps.nps_series(EVERYONE, [MARCH, custom_period(date(2026, 3, 20), date(2026, 4, 5))])


def test_links_name_the_one_nps_survey_or_the_list_when_there_are_several(manager):
    """Given answers to one NPS survey in March, the links open its invitations page with
    the period, the score band and the owner; with a second NPS survey answered too,
    they open the list of NPS surveys."""
    survey = shipped(Survey.Kind.NPS)
    answer(CustomerFactory(owner=manager), 10, at(date(2026, 3, 3)))
    scope = Scope(owner_id=manager.pk)

    links = nps.nps_links(scope, nps.nps_figures(scope, MARCH))

    base = f"/surveys/{survey.pk}/invitations/?"
    assert links["promoters"] == (
        f"{base}status=answered&from=2026-03-01&to=2026-03-31&score=promoter&owner={manager.pk}"
    )
    assert links["invitations"] == f"{base}from=2026-03-01&to=2026-03-31&owner={manager.pk}"
    other = SurveyFactory(kind=Survey.Kind.NPS)
    answer(CustomerFactory(owner=manager), 5, at(date(2026, 3, 4)), survey=other)
    figures = nps.nps_figures(scope, MARCH)
    assert figures.survey_id is None
    assert nps.nps_links(scope, figures)["responses"] == "/surveys/?kind=nps"


# --- Exit reasons ----------------------------------------------------------------------


def exit_answer(customer, label: str, when: datetime, survey=None) -> SurveyResponse:
    survey = survey or shipped(Survey.Kind.EXIT)
    invitation = invite(customer, sent=when - timedelta(days=1), survey=survey)
    SurveyInvitation.objects.filter(pk=invitation.pk).update(used_at=when)
    response = SurveyResponse.objects.create(
        invitation=invitation, survey=survey, customer=customer, language="de", submitted_at=when
    )
    # The shipped reason question is the survey's first (position 1).
    choice = Choice.objects.get(question__survey=survey, question__position=1, label=label)
    Answer.objects.create(response=response, question=choice.question, choice=choice)
    return response


def test_the_top_exit_reasons_of_the_period_with_their_staff_labels():
    """Given March's exit answers (Price 3, Moved to a competitor 2, Moved away 2, Other 1),
    one in April and one in February, and a later choice question of the same survey
    answered too; then the top 3 are Price 3 (37.5 %), Moved away 2 and Moved to a
    competitor 2 (ties by label), of 8 answers, labelled in the staff's language even
    though the customers answered in German."""
    survey = shipped(Survey.Kind.EXIT)
    back = QuestionFactory(survey=survey, position=9, kind=Question.Kind.SINGLE_CHOICE)
    ChoiceFactory(question=back, label="Price")  # a second "Price", of the other question
    march = [("Price", 3), ("Moved to a competitor", 2), ("Moved away", 2), ("Other", 1)]
    for label, count in march:
        for _n in range(count):
            response = exit_answer(CustomerFactory(), label, at(date(2026, 3, 15)))
            Answer.objects.create(response=response, question=back, choice=back.choices.get())
    exit_answer(CustomerFactory(), "Price", at(date(2026, 4, 1), 0, 0))
    exit_answer(CustomerFactory(), "Price", at(date(2026, 2, 28), 23, 59))

    reasons = nps.top_exit_reasons(EVERYONE, MARCH, limit=3)

    assert [(r.label, r.count, r.share) for r in reasons] == [
        ("Price", 3, 37.5),
        ("Moved away", 2, 25.0),
        ("Moved to a competitor", 2, 25.0),
    ]
    assert {reason.survey_id for reason in reasons} == {survey.pk}


def test_exit_reasons_by_owner_in_two_queries(
    manager, other_manager, django_assert_max_num_queries
):
    """Given exit answers of two managers' customers, then each scope counts its own,
    in two queries however many answers there are; no answers, no reasons."""
    exit_answer(CustomerFactory(owner=manager), "Price", at(date(2026, 3, 2)))
    for _n in range(5):
        exit_answer(CustomerFactory(owner=other_manager), "Moved away", at(date(2026, 3, 2)))

    with django_assert_max_num_queries(2):
        mine = nps.top_exit_reasons(Scope(owner_id=manager.pk), MARCH)

    assert [(r.label, r.count, r.share) for r in mine] == [("Price", 1, 100.0)]
    assert nps.top_exit_reasons(EVERYONE, MARCH)[0].count == 5
    assert nps.top_exit_reasons(EVERYONE, APRIL) == []


# --- Onboarding ------------------------------------------------------------------------


def checklist(customer=None, *, started, completed=None, status=None, next_due=None):
    return Checklist.objects.create(
        customer=customer or CustomerFactory(),
        name="Standard onboarding",
        started_on=started,
        completed_at=completed,
        status=status or (Checklist.Status.COMPLETED if completed else "in_progress"),
        next_due_on=next_due,
    )


@pytest.fixture
def onboarding_history():
    """Checklists around March 2026 (today is 15 April; a step stalls after 7 days)."""
    d = date
    checklist(started=d(2026, 3, 3), completed=at(d(2026, 3, 10)))  # 7 days
    checklist(started=d(2026, 3, 1), completed=at(d(2026, 3, 6)))  # 5 days
    checklist(started=d(2026, 3, 20), completed=at(d(2026, 4, 5)))  # 16 days, in April
    checklist(started=d(2026, 2, 20), completed=at(d(2026, 3, 1), 0, 0))  # 9 days
    checklist(started=d(2026, 2, 1), completed=at(d(2026, 3, 31), 23, 59))  # 58 days
    checklist(started=d(2026, 3, 25), next_due=d(2026, 4, 10))  # running, 5 days overdue
    checklist(started=d(2026, 3, 5), status=Checklist.Status.CANCELLED)
    checklist(started=d(2026, 1, 10), next_due=d(2026, 4, 7))  # 8 days overdue: stalled


def test_onboarding_figures_of_a_month(onboarding_history):
    """Then March has 4 started (the cancelled one not), 3 of them completed by now (one
    in April): 75 %; 4 completed in March (whenever started) with days 5, 7, 9, 58 whose
    median is 8 (an even count: the mean of the middle two); 1 stalled today."""
    figures = engagement.onboarding_figures(EVERYONE, MARCH, TODAY)

    assert (figures.started, figures.completed, figures.completion_rate) == (4, 3, 75.0)
    assert figures.completed_in_period == 4
    assert figures.median_days == 8.0
    assert figures.stalled_now == 1


def test_a_checklist_completed_in_the_next_period_counts_there(onboarding_history):
    """Then April has none started, and the one completed on 5 April: 16 days."""
    figures = engagement.onboarding_figures(EVERYONE, APRIL, TODAY)

    assert (figures.started, figures.completion_rate) == (0, None)
    assert (figures.completed_in_period, figures.median_days) == (1, 16.0)


def test_onboarding_by_owner_in_three_queries(
    manager, other_manager, django_assert_max_num_queries
):
    """Given the manager's checklist and ten of another manager's, then the manager's
    scope counts one, in three queries however many checklists there are."""
    checklist(
        CustomerFactory(owner=manager), started=date(2026, 3, 2), completed=at(date(2026, 3, 4))
    )
    for day in range(1, 11):
        checklist(
            CustomerFactory(owner=other_manager),
            started=date(2026, 3, day),
            completed=at(date(2026, 3, day + 10)),
        )

    with django_assert_max_num_queries(3):
        mine = engagement.onboarding_figures(Scope(owner_id=manager.pk), MARCH, TODAY)
    with django_assert_max_num_queries(3):
        everyone = engagement.onboarding_figures(EVERYONE, MARCH, TODAY)

    assert (mine.started, mine.completed, mine.median_days) == (1, 1, 2.0)
    assert (everyone.started, everyone.completed_in_period, everyone.median_days) == (11, 11, 10.0)


def test_no_completions_no_median():
    figures = engagement.onboarding_figures(EVERYONE, MARCH, TODAY)

    assert figures.median_days is None and figures.completion_rate is None


# --- Loyalty ---------------------------------------------------------------------------


def earn(customer, points: int, when: datetime, key: str) -> None:
    with time_machine.travel(when, tick=False):
        ledger.points_earn(customer=customer, points=points, reason="test", source_key=key)


@pytest.fixture
def loyalty_history(manager, other_manager):
    """Points and coupons around March 2026, through the ledger's own functions."""
    rules = LoyaltySettings.load()
    rules.expiry_months = 2
    rules.save()
    reward, cheap = RewardFactory(points_price=300), RewardFactory(points_price=150)
    ada, yves, zoe, xavier = (CustomerFactory(owner=manager) for _n in range(4))
    other = CustomerFactory(owner=other_manager)
    earn(ada, 7, at(date(2026, 2, 28), 23, 59, 59), "a-feb")
    earn(ada, 100, at(date(2026, 3, 1), 0, 0), "a-first")
    earn(ada, 50, at(date(2026, 3, 31), 23, 59, 59), "a-last")
    earn(ada, 999, at(date(2026, 4, 1), 0, 0), "a-april")
    with time_machine.travel(at(date(2026, 3, 5)), tick=False):
        ledger.points_adjust(customer=ada, points=20, reason="goodwill", author=manager)
    with time_machine.travel(at(date(2026, 3, 6)), tick=False):
        ledger.points_adjust(customer=ada, points=-10, reason="typo", author=manager)
    earn(yves, 500, at(date(2026, 2, 10)), "y-feb")
    with time_machine.travel(at(date(2026, 3, 15)), tick=False):
        issued_in_march = redemption.reward_redeem(customer=yves, reward=reward)
    with time_machine.travel(at(date(2026, 4, 2)), tick=False):
        redemption.coupon_mark_used(coupon=issued_in_march, user=manager)
    earn(zoe, 200, at(date(2026, 2, 1)), "z-feb")
    with time_machine.travel(at(date(2026, 2, 20)), tick=False):
        issued_in_february = redemption.reward_redeem(customer=zoe, reward=cheap)
    with time_machine.travel(at(date(2026, 3, 3)), tick=False):
        redemption.coupon_mark_used(coupon=issued_in_february, user=manager)
    earn(xavier, 40, at(date(2026, 1, 10)), "x-jan")  # expires on 20 March (2 months)
    with time_machine.travel(at(date(2026, 3, 20)), tick=False):
        assert expiry.expire_points(today=date(2026, 3, 20)) == 40
    earn(other, 1000, at(date(2026, 3, 10)), "o-march")


def test_loyalty_figures_of_a_month(loyalty_history, manager):
    """Then March issued 100 + 50 + 20 (a correction up) + 1,000 points (a correction
    down counts nowhere; 28 Feb 23:59:59 and 1 Apr 00:00 are outside), redeemed 300
    (a −300 ledger entry), expired 40; one coupon issued, one used (issued in February);
    the manager's book is the same without the other manager's 1,000."""
    everyone = engagement.loyalty_figures(EVERYONE, MARCH)
    mine = engagement.loyalty_figures(Scope(owner_id=manager.pk), MARCH)

    assert (everyone.points_issued, everyone.points_redeemed, everyone.points_expired) == (
        1170,
        300,
        40,
    )
    assert (everyone.coupons_issued, everyone.coupons_used) == (1, 1)
    assert (mine.points_issued, mine.points_redeemed, mine.points_expired) == (170, 300, 40)
    assert (mine.coupons_issued, mine.coupons_used) == (1, 1)
    april = engagement.loyalty_figures(EVERYONE, APRIL)
    assert (april.points_issued, april.coupons_issued, april.coupons_used) == (999, 0, 1)


def test_the_monthly_totals_and_the_ledger_agree(loyalty_history):
    """Then whole months read from PointsMonth (kept in step by every write) equal the
    ledger's sums, and a range that is not whole months sums the ledger: from 2 March,
    the 100 of 1 March is left out."""
    for first, last in (
        (date(2026, 2, 1), date(2026, 4, 30)),
        (date(2026, 3, 1), date(2026, 3, 31)),
    ):
        from_months = selectors.points_totals(first=first, last=last)
        from_ledger = selectors.points_totals(first=first, last=last, entries=Q(pk__gt=0))
        assert from_months == from_ledger
    late_start = engagement.loyalty_figures(
        EVERYONE, custom_period(date(2026, 3, 2), date(2026, 3, 31))
    )
    assert late_start.points_issued == 1070


def test_loyalty_figures_take_two_queries(loyalty_history, manager, django_assert_max_num_queries):
    """Whichever path the points take, the figures are two queries."""
    with django_assert_max_num_queries(2):
        engagement.loyalty_figures(EVERYONE, MARCH)
    with django_assert_max_num_queries(2):
        engagement.loyalty_figures(Scope(owner_id=manager.pk), MARCH)


def test_links_to_the_onboarding_overview_and_the_coupon_list(manager):
    """The onboarding figures open the overview with the state, the days and the owner;
    the coupons open the coupon list (used: by the day used); points the overview."""
    scope = Scope(owner_id=manager.pk)

    onboarding = engagement.onboarding_links(scope, MARCH)
    loyalty = engagement.loyalty_links(EVERYONE, MARCH)

    days = "from=2026-03-01&to=2026-03-31"
    assert (
        onboarding["started"] == f"/retention/onboarding/?state=started&{days}&owner={manager.pk}"
    )
    assert onboarding["completed_in_period"].startswith("/retention/onboarding/?state=completed&")
    assert onboarding["stalled_now"] == f"/retention/onboarding/?state=stalled&owner={manager.pk}"
    assert loyalty["coupons_issued"] == f"/retention/loyalty/coupons/?{days}"
    assert loyalty["coupons_used"] == f"/retention/loyalty/coupons/?status=used&{days}"
    assert loyalty["points_issued"] == "/retention/loyalty/"


def test_an_empty_series_costs_no_query(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert nps.nps_series(EVERYONE, []) == []


# --- The pages the figures link to list the same customers ------------------------------


def listed(client, url) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200
    return sorted(row.customer.name for row in response.context["page"].object_list)


def test_each_nps_link_lists_the_customers_its_figure_counts(
    manager, manager_client, other_manager
):
    """Given the manager's promoters Ann and Bob and detractor Cid answering in March,
    Dan invited in March and answering in April, Eve promoting in April, and another
    manager's promoter in March; then the promoters link lists Ann and Bob, the
    detractors link Cid, the invitations link the four invited in March (Dan too)."""
    mine = {
        name: CustomerFactory(name=name, owner=manager)
        for name in ("Ann", "Bob", "Cid", "Dan", "Eve")
    }
    answer(mine["Ann"], 10, at(date(2026, 3, 2)))
    answer(mine["Bob"], 9, at(date(2026, 3, 31), 23, 0))
    answer(mine["Cid"], 2, at(date(2026, 3, 20)))
    dan = invite(mine["Dan"], sent=at(date(2026, 3, 30)))
    answer(mine["Dan"], 10, at(date(2026, 4, 1)), invitation=dan)
    answer(mine["Eve"], 10, at(date(2026, 4, 3)))
    answer(CustomerFactory(name="Olga's", owner=other_manager), 10, at(date(2026, 3, 5)))
    scope = Scope(owner_id=manager.pk)
    figures = nps.nps_figures(scope, MARCH)

    links = nps.nps_links(scope, figures)

    assert (figures.promoters, figures.detractors, figures.invitations_sent) == (2, 1, 4)
    assert listed(manager_client, links["promoters"]) == ["Ann", "Bob"]
    assert listed(manager_client, links["detractors"]) == ["Cid"]
    assert listed(manager_client, links["responses"]) == ["Ann", "Bob", "Cid"]
    assert listed(manager_client, links["invitations"]) == ["Ann", "Bob", "Cid", "Dan"]


def test_the_exit_reason_link_lists_who_gave_that_reason(manager, manager_client):
    """Given Ann and Bob leaving over the price in March, Cid over the price in April and
    Dan moving away in March, then the Price link lists Ann and Bob."""
    for name, label, day in (
        ("Ann", "Price", date(2026, 3, 3)),
        ("Bob", "Price", date(2026, 3, 30)),
        ("Cid", "Price", date(2026, 4, 2)),
        ("Dan", "Moved away", date(2026, 3, 3)),
    ):
        exit_answer(CustomerFactory(name=name, owner=manager), label, at(day))
    price = nps.top_exit_reasons(EVERYONE, MARCH)[0]

    url = nps.exit_reason_link(EVERYONE, MARCH, price)

    assert (price.label, price.count) == ("Price", 2)
    assert listed(manager_client, url) == ["Ann", "Bob"]


def test_a_backwards_range_on_the_invitations_page_shows_the_error_and_no_rows(manager_client):
    """Given an invitation, when the page is asked from 10 March to 1 March, then it shows
    the form's error and no invitation (nothing rather than everything)."""
    invitation = invite(CustomerFactory(), sent=at(date(2026, 3, 5)))
    url = f"/surveys/{invitation.survey_id}/invitations/?from=2026-03-10&to=2026-03-01"

    response = manager_client.get(url)

    assert response.context["form"].errors["to"]
    assert list(response.context["page"].object_list) == []
    assert "The last day comes after the first." in response.content.decode()


def test_each_onboarding_link_lists_the_checklists_its_figure_counts(
    onboarding_history, manager_client
):
    """Then the overview's started, completed and stalled lists have as many rows as
    the figures: 4 started in March, 4 completed in March, 1 stalled today."""
    figures = engagement.onboarding_figures(EVERYONE, MARCH, TODAY)
    links = engagement.onboarding_links(EVERYONE, MARCH)

    for key, expected in (
        ("started", figures.started),
        ("completed_in_period", figures.completed_in_period),
        ("stalled_now", figures.stalled_now),
    ):
        response = manager_client.get(links[key])
        assert (
            response.context["page"].paginator.count
            == expected
            == {"started": 4, "completed_in_period": 4, "stalled_now": 1}[key]
        )


def test_each_coupon_link_lists_the_coupons_its_figure_counts(
    loyalty_history, admin_client, manager
):
    """Then the coupon list from/to shows March's one coupon issued, and with status used
    the one used in March (issued in February); the manager's own book the same."""
    for scope in (EVERYONE, Scope(owner_id=manager.pk)):
        figures = engagement.loyalty_figures(scope, MARCH)
        links = engagement.loyalty_links(scope, MARCH)
        issued = admin_client.get(links["coupons_issued"]).context["page"]
        used = admin_client.get(links["coupons_used"]).context["page"]
        assert issued.paginator.count == figures.coupons_issued == 1
        assert used.paginator.count == figures.coupons_used == 1
        assert timezone.localdate(used.object_list[0].created_at) == date(2026, 2, 20)


# --- The demo data gives every tile a year of history ----------------------------------


def test_the_demo_seed_gives_every_tile_a_year_of_history():
    """Given `make run`'s seeds (scripts/run-dev.sh) on a small book, then over the last
    twelve months NPS answers come every month, the year has exit reasons, and
    onboarding completions, points issued and redeemed, and coupons used spread over
    most months."""
    from django.core.management import call_command

    for command, options in (
        ("seed_demo", {"customers": 400}),
        ("seed_onboarding", {}),
        ("seed_loyalty", {}),
        ("seed_surveys", {}),
    ):
        call_command(command, stdout=io.StringIO(), stderr=io.StringIO(), **options)
    months = period_containing(MONTH, TODAY).previous().trailing(12)

    answered = [figures.responses for figures in nps.nps_series(EVERYONE, months)]
    onboarding = [engagement.onboarding_figures(EVERYONE, m, TODAY) for m in months]
    loyalty = [engagement.loyalty_figures(EVERYONE, m) for m in months]

    assert all(answered), answered
    assert nps.top_exit_reasons(EVERYONE, period_containing("year", TODAY - timedelta(days=100)))
    assert sum(1 for f in onboarding if f.completed_in_period) >= 9
    assert sum(1 for f in loyalty if f.points_issued and f.points_redeemed) >= 9
    assert sum(f.coupons_used for f in loyalty) > 0
