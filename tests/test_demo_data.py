"""The demo data `make run` loads (scripts/run-dev.sh) looks like a small business a year in.

The seeds run once for the module, on a small book (300 customers), in the order
run-dev.sh runs them, inside a transaction rolled back at the end; each test reads
the result (its own writes roll back to a savepoint).
"""

import io
import random
import re
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from customers.models import Customer
from retention.loyalty.models import Coupon, PointsAccount, PointsMonth, Reward
from retention.onboarding import checklists
from retention.onboarding.models import Checklist
from retention.outreach.models import OutgoingEmail
from retention.risk.models import CustomerRisk, Notification, RiskLevel
from surveys import nps
from surveys.models import Answer, SurveyResponse

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 10)
# scripts/run-dev.sh's first start, the demo part (rebuild_* only rebuild read models).
SEEDS = [
    ("seed_demo", ["--if-empty", "--customers", "300"]),
    ("seed_onboarding", []),
    ("seed_loyalty", []),
    ("seed_surveys", []),
    ("calibrate_risk", ["--apply", "--if-none"]),
    ("compute_risk", []),
    ("seed_risk_history", []),
]
Status = Customer.Status


def _seed() -> None:
    for command, args in SEEDS:
        call_command(command, *args, stdout=io.StringIO(), stderr=io.StringIO())


@pytest.fixture(scope="module", autouse=True)
def demo(django_db_setup, django_db_blocker):
    noon = timezone.make_aware(datetime.combine(TODAY, datetime.min.time()).replace(hour=12))
    with django_db_blocker.unblock(), time_machine.travel(noon, tick=False), transaction.atomic():
        _seed()
        yield
        transaction.set_rollback(True)


def test_nps_answers_are_spread_over_the_year_like_a_healthy_business():
    """Given the demo, then the NPS chart has answers in every one of the last twelve
    months, and about 40 % are promoters, 35 % passives and 25 % detractors."""
    answered = SurveyResponse.objects.exclude(nps_score=None)
    scores = list(answered.values_list("nps_score", "submitted_at"))
    shares = Counter(nps.category(score) for score, _at in scores)
    total = sum(shares.values())
    months = {(at.year, at.month) for _score, at in scores}

    assert total >= 100
    assert 0.30 <= shares[nps.PROMOTER] / total <= 0.50, shares
    assert 0.25 <= shares[nps.PASSIVE] / total <= 0.45, shares
    assert 0.15 <= shares[nps.DETRACTOR] / total <= 0.35, shares
    assert len(months) >= 12, sorted(months)


def test_exit_answers_give_varied_reasons():
    """Given the demo, then the exit-survey chart has several different reasons, none of
    them most of the answers."""
    reasons = Counter(
        Answer.objects.filter(choice__isnull=False).values_list("choice__label", flat=True)
    )

    assert len(reasons) >= 4, reasons
    assert max(reasons.values()) <= 0.5 * sum(reasons.values()), reasons


def test_points_are_earned_at_a_sane_rate_and_some_are_spent():
    """Given the demo, then nobody holds 10,000 points or more (rewards cost 150-1,500),
    some customers can afford a reward, coupons were redeemed, and the year's points
    are spread over the months (not one bar)."""
    accounts = PointsAccount.objects.aggregate(top=Max("lifetime_points"))
    cheapest = min(Reward.objects.values_list("points_price", flat=True))
    months = list(PointsMonth.objects.values_list("issued", flat=True))

    assert 0 < accounts["top"] < 10_000, accounts
    assert PointsAccount.objects.filter(balance__gte=cheapest).exists()
    assert Coupon.objects.exists()
    assert sum(1 for issued in months if issued) >= 10, months
    assert max(months) < 0.3 * sum(months), months


def test_onboarding_is_a_mix_of_completed_on_track_and_a_few_stalled():
    """Given the demo, then most checklists are completed, and of the running ones some
    are on track and at least one is stalled, but at most a third of them (the
    overview lists the stalled first: its first page is not all red)."""
    today = timezone.localdate()
    days = checklists.stall_days()
    statuses = Counter(Checklist.objects.values_list("status", flat=True))
    running = list(Checklist.objects.filter(status=Checklist.Status.IN_PROGRESS))
    stalled = [c for c in running if checklists.is_stalled(c, today, days)]

    assert statuses[Checklist.Status.COMPLETED] > sum(statuses.values()) / 2, statuses
    assert stalled, "no stalled checklist"
    assert len(stalled) <= len(running) / 3, (len(stalled), len(running))
    assert len(running) > len(stalled), "no checklist on track"


def test_risk_levels_and_days_at_risk_are_spread():
    """Given the demo, then most customers are at low risk, some at medium and high, and
    the days at risk of those at medium or high differ (some rose tonight, some weeks
    ago), as the queue's "days at risk" shows."""
    levels = Counter(CustomerRisk.objects.exclude(score=None).values_list("level", flat=True))
    at_risk = CustomerRisk.objects.filter(level__in=[RiskLevel.MEDIUM, RiskLevel.HIGH])
    days = [(TODAY - since).days for since in at_risk.values_list("level_since", flat=True)]

    assert levels[RiskLevel.LOW] > levels[RiskLevel.MEDIUM] + levels[RiskLevel.HIGH], levels
    assert levels[RiskLevel.MEDIUM] and levels[RiskLevel.HIGH], levels
    assert len(set(days)) >= 5, sorted(days)
    assert max(days) > 7, sorted(days)
    # Risk rose on different nights of the last two weeks, not only on the 15th or the
    # month's end (the older history's dates).
    assert len({day for day in days if 0 < day < 14}) >= 3, sorted(days)


def test_running_contracts_renew_in_the_future_and_only_churned_ones_in_the_past():
    """Given the demo, then no customer we still serve has a renewal date in the past,
    some renew within 30 days and some within 30-90 days, and past renewal dates belong
    to churned customers."""
    serving = Customer.objects.exclude(status__in=[Status.CHURNED, Status.LEAD])

    assert not serving.filter(renewal_date__lt=TODAY).exists()
    assert serving.filter(renewal_date__lte=TODAY + timedelta(days=30)).exists()
    assert serving.filter(
        renewal_date__gt=TODAY + timedelta(days=30), renewal_date__lte=TODAY + timedelta(days=90)
    ).exists()
    assert Customer.objects.filter(status=Status.CHURNED, renewal_date__lt=TODAY).exists()


def test_a_new_user_finds_a_handful_of_notices_and_an_outbox_mostly_sent():
    """Given the demo, then each account manager has a handful (at most 10) unread
    notifications, the older ones read, and the Outbox holds at most 10 queued emails
    among mostly sent ones, the sent ones with what was sent."""
    unread = dict(
        Notification.objects.filter(read_at=None)
        .values_list("recipient__username")
        .annotate(n=Count("id"))
    )
    statuses = Counter(OutgoingEmail.objects.values_list("status", flat=True))

    assert unread and max(unread.values()) <= 10, unread
    assert statuses[OutgoingEmail.Status.QUEUED] <= 10, statuses
    assert statuses[OutgoingEmail.Status.SENT] > statuses[OutgoingEmail.Status.QUEUED], statuses
    notices = OutgoingEmail.objects.filter(
        kind=OutgoingEmail.Kind.STAFF_NOTICE, status=OutgoingEmail.Status.SENT
    )
    assert notices.exists() and not notices.filter(subject="").exists()
    # One notice per customer and night, not one per run of the first start.
    per_customer = Counter(
        Notification.objects.filter(read_at=None).values_list("recipient_id", "customer_id")
    )
    assert max(per_customer.values()) == 1, per_customer


def test_seeding_again_changes_nothing():
    """Given the demo, when `make run` starts again (every seed again), then no row is
    added or changed: the seeds only fill an empty database."""

    def counts() -> tuple:
        return (
            Customer.objects.count(),
            SurveyResponse.objects.count(),
            Coupon.objects.count(),
            Checklist.objects.count(),
            Notification.objects.filter(read_at=None).count(),
            OutgoingEmail.objects.count(),
            sorted(CustomerRisk.objects.values_list("customer_id", "level", "level_since")),
        )

    before = counts()
    _seed()

    assert counts() == before


def test_the_demo_has_a_business_name():
    """Given `make run`, then customers read a real-sounding business name, not the
    placeholder "Our company"."""
    script = (Path(__file__).parent.parent / "scripts" / "run-dev.sh").read_text()

    default = re.search(r'^export BUSINESS_NAME="\$\{BUSINESS_NAME:-([^"}]+)\}"$', script, re.M)

    assert default and default.group(1) != "Our company", default


def test_a_busy_first_night_leaves_only_the_newest_few_notices_unread(manager):
    """Given an account manager with twelve unread "risk rose" notices from the first
    start, each customer's risk risen on a different night, when the demo history tidies
    them, then the four newest stay unread and the older ones are read."""
    from retention.management.commands.seed_risk_history import UNREAD_KEPT, Command

    customers = CustomerFactory.create_batch(12, owner=manager)
    for customer in customers:
        Notification.objects.create(recipient=manager, customer=customer, message="Risk rose")
    since = {c.pk: TODAY - timedelta(days=n) for n, c in enumerate(customers, start=1)}

    Command().tidy_notifications(random.Random(1), since, TODAY)  # noqa: S311

    assert UNREAD_KEPT == 4
    newest = {c.pk for c in customers[:4]}
    assert (
        set(manager.notifications.filter(read_at=None).values_list("customer_id", flat=True))
        == newest
    )
