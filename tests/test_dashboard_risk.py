"""Risk now, its trend over past periods, and the reasons behind it: the nights'
totals (RiskDay) written by the run and replayed from the history, and the selectors
that read them."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone

from customers.models import Customer
from dashboard.periods import MONTH, period_containing
from dashboard.risk_now import risk_now, risk_trend, top_reasons
from dashboard.scope import EVERYONE, Scope
from retention.models import CustomerRisk, RiskDay, RiskSnapshot
from retention.risk import daily, runs

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)
JUNE = period_containing(MONTH, TODAY)


@pytest.fixture(autouse=True)
def _june():
    with time_machine.travel(datetime(2026, 6, 15, 12, tzinfo=timezone.get_current_timezone())):
        yield


def reason(key: str, points: int) -> dict:
    return {"key": key, "strength": 0.8, "contribution": points, "flagged": points > 0}


def risk(
    owner=None, level="medium", score=50, loss="10.00", flags=(), status="active", **case
) -> CustomerRisk:
    """A customer (of `owner`, in `status`) and their current risk; `case`: queue fields."""
    return CustomerRisk.objects.create(
        customer=CustomerFactory(owner=owner, status=status),
        score=score,
        level=level,
        value=Decimal("100.00"),
        expected_loss=Decimal(loss),
        flags=list(flags),
        computed_for=TODAY - timedelta(days=1),
        level_since=TODAY - timedelta(days=10),
        **case,
    )


def rows(day: date) -> dict:
    return {
        row.owner_id: (
            row.low,
            row.medium,
            row.high,
            None if row.value_low is None else (row.value_low, row.value_medium, row.value_high),
            row.reasons,
        )
        for row in RiskDay.objects.filter(day=day)
    }


# --- Now --------------------------------------------------------------------------


def test_risk_now_counts_scored_customers_per_level_with_their_value_at_risk(
    manager, other_manager
):
    """Given the manager's customers at low (2), medium (1) and high (1), a medium one
    snoozed and a high one resolved, another manager's high customer, and a customer
    no longer scored (score None: churned),
    then the manager's book has 2 low, 2 medium, 2 high, value at risk per level, and
    2 open cases (the snoozed and the resolved one are not in the queue); everyone's
    adds the other manager's. Before any night was recorded, from the current risk;
    once the night is, from it: the same figures."""
    risk(manager, "low", 10, "1.50")
    risk(manager, "low", 20, "2.50")
    risk(manager, "medium", 40, "40.00")
    risk(manager, "medium", 45, "45.00", snoozed_until=TODAY + timedelta(days=3))
    risk(manager, "high", 80, "80.00")
    risk(manager, "high", 90, "90.00", resolution="saved", resolved_at=timezone.now())
    risk(other_manager, "high", 70, "70.00")
    risk(manager, "low", None, "0.00", status=Customer.Status.CHURNED)

    for recorded in (False, True):
        if recorded:
            daily.record_day(TODAY)
        mine, everyone = risk_now(Scope(manager.pk)), risk_now(EVERYONE)

        assert (mine.low, mine.medium, mine.high, mine.open_cases) == (2, 2, 2, 2)
        assert (mine.value_low, mine.value_medium, mine.value_high) == (
            Decimal("4.00"),
            Decimal("85.00"),
            Decimal("170.00"),
        )
        assert mine.value_at_risk == Decimal("259.00")
        assert mine.computed_for == (TODAY if recorded else TODAY - timedelta(days=1))
        assert (everyone.high, everyone.open_cases, everyone.customers) == (3, 3, 7)


def test_levels_now_are_the_last_nights_and_open_cases_are_live(manager):
    """Given last night's totals (2 high) and, since, one of the cases resolved in the
    queue and a risk row changed by a run still going (the night not yet recorded),
    then the levels are the night's, and the open cases count the queue as it is."""
    computing = risk(manager, "high", 80, "80.00")
    resolved = risk(manager, "high", 80, "80.00")
    daily.record_day(TODAY - timedelta(days=1))
    CustomerRisk.objects.filter(pk=resolved.pk).update(resolved_at=timezone.now())
    CustomerRisk.objects.filter(pk=computing.pk).update(level="low", expected_loss=5)

    now = risk_now(Scope(manager.pk))

    assert (now.low, now.high, now.computed_for) == (0, 2, TODAY - timedelta(days=1))
    assert now.value_high == Decimal("160.00")
    assert now.open_cases == 0  # live: one resolved, the other no longer medium or high


# --- The nights' totals ---------------------------------------------------------


def test_a_night_is_recorded_per_owner_from_the_current_risk(manager):
    """Given the manager's customers: one low with a reason (not at risk: its reasons
    do not count), one medium with complaints 20, silence 10 and repeat buying -5, one
    high with complaints 30; and an unassigned high customer with silence 15,
    then the night has a row per owner (None: unassigned) with the levels, the value
    at risk and, over medium and high customers, the positive points per signal and
    how many customers each added risk to."""
    risk(manager, "low", 10, "1.00", [reason("complaints", 5)])
    risk(
        manager,
        "medium",
        50,
        "50.00",
        [reason("complaints", 20), reason("silence", 10), reason("repeat_buying", -5)],
    )
    risk(manager, "high", 80, "80.00", [reason("complaints", 30)])
    risk(None, "high", 70, "70.00", [reason("silence", 15)])

    assert daily.record_day(TODAY) == 2

    assert rows(TODAY) == {
        manager.pk: (
            1,
            1,
            1,
            (Decimal("1.00"), Decimal("50.00"), Decimal("80.00")),
            {
                "complaints": {"points": 50, "customers": 2},
                "silence": {"points": 10, "customers": 1},
            },
        ),
        None: (0, 0, 1, (0, 0, Decimal("70.00")), {"silence": {"points": 15, "customers": 1}}),
    }


def test_a_night_is_written_once_even_if_the_finishing_step_runs_twice(
    manager, django_capture_on_commit_callbacks
):
    """Given a risk run that finished (its last chunk wrote the night's rows),
    when the finishing step runs again for the same night (a redelivered task, a
    second run the same day),
    then the night still has one row per owner, with the latest figures."""
    for _ in range(3):
        InteractionFactory(
            customer=CustomerFactory(owner=manager), occurred_at=timezone.now() - timedelta(40)
        )
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.start_run(chunk_size=2)  # chunks run eagerly; the last records the night
    run.refresh_from_db()
    assert run.status == "done"
    first = rows(TODAY)
    assert sum(sum(r[:3]) for r in first.values()) == 3

    daily.record_run(TODAY)
    daily.record_run(TODAY)

    assert RiskDay.objects.filter(day=TODAY).count() == len(first) == 1
    assert rows(TODAY) == first


def test_recording_a_night_takes_the_same_queries_for_more_customers(
    manager, django_assert_max_num_queries
):
    """Given 3, then 30 customers at risk, then a night is recorded in 6 queries."""
    for count in (3, 27):
        for _ in range(count):
            risk(manager, "high", 80, "8.00", [reason("complaints", 30)])
        with django_assert_max_num_queries(6):
            daily.record_day(TODAY)
    assert rows(TODAY)[manager.pk][2] == 30


# --- Replaying the history -----------------------------------------------------


def snapshot(customer, day: str, level: str, **contributions) -> RiskSnapshot:
    return RiskSnapshot.objects.create(
        customer=customer,
        as_of=date.fromisoformat(day),
        score={"low": 10, "medium": 50, "high": 80}[level],
        level=level,
        contributions=contributions,
    )


@pytest.fixture
def history(manager, other_manager):
    """Snapshots (written only on change) of five customers from January to March:
    A rises low -> medium -> high; B is medium until they churn on 15 February; C is
    high until archived on 20 February; D appears on 5 March; E, a lead, is never
    counted."""
    a = CustomerFactory(owner=manager, name="A")
    b = CustomerFactory(
        owner=manager, name="B", status=Customer.Status.CHURNED, churned_on=date(2026, 2, 15)
    )
    c = CustomerFactory(
        owner=other_manager,
        name="C",
        archived_at=timezone.make_aware(datetime(2026, 2, 20, 10)),
    )
    d = CustomerFactory(owner=None, name="D")
    e = CustomerFactory(owner=manager, name="E", status=Customer.Status.LEAD)
    snapshot(a, "2026-01-01", "low", silence=5)
    snapshot(a, "2026-02-01", "medium", complaints=20, silence=10, repeat_buying=-5)
    snapshot(a, "2026-03-01", "high", complaints=40)
    snapshot(b, "2026-01-10", "medium", silence=30)
    snapshot(c, "2026-01-05", "high", complaints=25)
    snapshot(d, "2026-03-05", "medium", spend_drop=12)
    snapshot(e, "2026-01-05", "high", complaints=50)
    return {"A": a, "B": b, "C": c, "D": d, "E": e}


def direct(day: date) -> dict:
    """Customers per (owner, level) on `day`, computed the slow way: each customer's
    latest snapshot up to that day, if they were still scored then."""
    counts: dict = {}
    for customer in Customer.objects.all():
        latest = (
            RiskSnapshot.objects.filter(customer=customer, as_of__lte=day)
            .order_by("-as_of")
            .first()
        )
        gone = (
            customer.status == Customer.Status.LEAD
            or (customer.status == Customer.Status.CHURNED and customer.churned_on <= day)
            or (customer.archived_at and timezone.localtime(customer.archived_at).date() <= day)
        )
        if latest and not gone:
            levels = counts.setdefault(customer.owner_id, [0, 0, 0])
            levels[["low", "medium", "high"].index(latest.level)] += 1
    return {owner: tuple(levels) for owner, levels in counts.items() if any(levels)}


def replayed_levels(day: date) -> dict:
    return {owner: figures[:3] for owner, figures in rows(day).items()}


def test_replayed_levels_on_every_past_day_equal_a_direct_count_from_the_snapshots(
    history, manager
):
    """Given the history, when the nights are replayed from 1 January to 31 March,
    then on every day the levels per owner equal the direct count from snapshots."""
    written = daily.replay_days(since=date(2026, 1, 1), until=date(2026, 3, 31))

    assert written == RiskDay.objects.count()
    # Reasons only of the customers at risk: A (low) adds nothing on 15 January.
    assert rows(date(2026, 1, 15))[manager.pk][4] == {"silence": {"points": 30, "customers": 1}}
    for offset in range(90):
        day = date(2026, 1, 1) + timedelta(days=offset)
        assert replayed_levels(day) == direct(day), day


def test_a_replayed_day_reads_only_the_snapshots_up_to_that_day(history, manager, other_manager):
    """Given the history, when only the nights up to 14 February are replayed,
    then 14 February has A and B at medium (A's March rise is not seen), C at high, no
    D, with the reasons of that day; 15 February, replayed later, has B gone; and
    replaying to the end of March gives 14 February the same row."""
    daily.replay_days(since=date(2026, 2, 14), until=date(2026, 2, 14))
    feb14 = rows(date(2026, 2, 14))
    assert feb14 == {
        manager.pk: (
            0,
            2,
            0,
            None,
            {
                "complaints": {"points": 20, "customers": 1},
                "silence": {"points": 40, "customers": 2},
            },
        ),
        other_manager.pk: (0, 0, 1, None, {"complaints": {"points": 25, "customers": 1}}),
    }
    assert RiskDay.objects.get(day=date(2026, 2, 14), owner_id=manager.pk).source == "replayed"

    daily.replay_days(since=date(2026, 2, 15), until=date(2026, 3, 31))

    assert replayed_levels(date(2026, 2, 15))[manager.pk] == (0, 1, 0)
    assert rows(date(2026, 2, 14)) == feb14
    assert replayed_levels(date(2026, 3, 31)) == {manager.pk: (0, 0, 1), None: (0, 1, 0)}


def test_replaying_keeps_the_nights_the_run_recorded_unless_told_to_replace(history, manager):
    """Given a night the run recorded (with its value at risk) and one replayed before
    (from a history that has changed since), when the history is replayed over them,
    then the run's night is kept and the replayed one replayed again; with --replace
    the run's night is replayed too."""
    RiskDay.objects.create(
        day=date(2026, 2, 14), owner_id=manager.pk, high=7, value_high=1, source="nightly"
    )
    RiskDay.objects.create(day=date(2026, 2, 15), owner_id=manager.pk, high=9, source="replayed")

    call_command("rebuild_risk_days", "--since", "2026-02-10", "--until", "2026-02-20")
    assert replayed_levels(date(2026, 2, 14)) == {manager.pk: (0, 0, 7)}
    assert RiskDay.objects.filter(day=date(2026, 2, 13)).exists()
    assert replayed_levels(date(2026, 2, 15)) == direct(date(2026, 2, 15))

    call_command("rebuild_risk_days", "--since", "2026-02-14", "--until", "2026-02-14", "--replace")
    assert replayed_levels(date(2026, 2, 14)) == direct(date(2026, 2, 14))


def test_a_run_for_a_past_date_replays_that_night(history, manager):
    """A run of a past date writes only that date's history; its night is replayed."""
    daily.record_run(date(2026, 2, 14))
    assert replayed_levels(date(2026, 2, 14)) == direct(date(2026, 2, 14))


# --- The trend and the reasons ------------------------------------------------


def night(day: str, owner=None, low=0, medium=0, high=0, value=None, **reasons) -> RiskDay:
    """A recorded night; `value`: its value at risk, all at high risk (None: replayed)."""
    return RiskDay.objects.create(
        day=date.fromisoformat(day),
        owner_id=owner.pk if owner else None,
        low=low,
        medium=medium,
        high=high,
        value_low=None if value is None else 0,
        value_medium=None if value is None else 0,
        value_high=value,
        reasons={k: {"points": p, "customers": n} for k, (p, n) in reasons.items()},
        source="nightly",
    )


def test_the_trend_gives_each_past_period_its_last_night_and_the_current_one_now(
    manager, other_manager
):
    """Given nights recorded for March (its last night, 31 March, and earlier
    ones), April (only 28 April: the server was down after), none for May, and
    last night (14 June) for June,
    then March shows 31 March, April 28 April (the nearest earlier night), May nothing
    (day None), June now (last night); everyone's sums the owners' rows."""
    night("2026-03-15", manager, 9, 9, 9)
    night("2026-03-27", manager, 8, 8, 8)
    night("2026-03-31", manager, 5, 3, 1, Decimal("40.00"))
    night("2026-03-31", other_manager, 2, 1, 1, Decimal("10.00"))
    night("2026-03-31", None, 1, 0, 0)
    night("2026-04-28", manager, 4, 3, 2)
    night("2026-06-14", manager, 0, 0, 1, Decimal("80.00"))
    periods = JUNE.trailing(4)

    mine = risk_trend(Scope(manager.pk), periods)
    everyone = risk_trend(EVERYONE, periods)

    assert [(t.period.label, t.day, t.low, t.medium, t.high) for t in mine] == [
        ("2026-03", date(2026, 3, 31), 5, 3, 1),
        ("2026-04", date(2026, 4, 28), 4, 3, 2),
        ("2026-05", None, 0, 0, 0),
        ("2026-06", date(2026, 6, 14), 0, 0, 1),
    ]
    assert [t.value_at_risk for t in mine] == [Decimal("40.00"), None, None, Decimal("80.00")]
    assert (everyone[0].low, everyone[0].medium, everyone[0].high) == (8, 4, 2)
    assert everyone[0].value_at_risk == Decimal("50.00")


def test_the_reasons_are_those_of_the_periods_last_night_with_their_labels(manager, other_manager):
    """Given nights in June (the 10th, and the 14th: the latest) for two owners,
    then the reasons come from the 14th: each signal's points summed over the owners,
    its share of all points, how many customers, and its name from the registry."""
    night("2026-06-10", manager, open_ticket=(99, 9))
    night("2026-06-14", manager, complaints=(60, 3), silence=(20, 2))
    night("2026-06-14", other_manager, complaints=(40, 2), retired_signal=(80, 4))

    everyone = top_reasons(EVERYONE, JUNE)
    mine = top_reasons(Scope(manager.pk), JUNE)

    assert [(r.key, r.label, r.points, r.customers, r.share) for r in everyone] == [
        ("complaints", "Complaints or negative feedback", 100, 5, 50.0),
        ("retired_signal", "retired_signal", 80, 4, 40.0),
        ("silence", "Silence, against their own rhythm", 20, 2, 10.0),
    ]
    assert [(r.key, r.share) for r in mine] == [("complaints", 75.0), ("silence", 25.0)]
    assert top_reasons(EVERYONE, JUNE.previous()) == []


def test_the_selectors_take_the_same_queries_for_more_data(
    manager, other_manager, django_assert_max_num_queries
):
    """Given a month of nights for one owner and 3 open cases, then a year of nights for
    two owners and 30 open cases: risk_now takes 2 queries, the 12-month trend 2, the
    reasons 1, either way."""
    periods = JUNE.trailing(12)
    for days, owners, cases in ((30, [manager], 3), (365, [manager, other_manager], 30)):
        RiskDay.objects.all().delete()
        for offset in range(days):
            day = (TODAY - timedelta(days=offset + 1)).isoformat()
            for owner in owners:
                night(day, owner, 1, 2, 3, complaints=(10, 1))
        for _ in range(cases):
            risk(manager, "high", 80, "8.00")
        with django_assert_max_num_queries(2):
            now = risk_now(EVERYONE)
        with django_assert_max_num_queries(2):
            trend = risk_trend(EVERYONE, periods)
        with django_assert_max_num_queries(1):
            reasons = top_reasons(EVERYONE, JUNE)
    assert (now.high, now.open_cases) == (6, 33)
    assert [t.high for t in trend] == [6] * 12
    assert reasons[0].points == 20


# --- The demo ---------------------------------------------------------------------


def test_the_demo_history_scores_past_dates_once_and_gives_the_trend_its_nights(manager):
    """Given customers with a history and today's risk computed (as `make run` does),
    when the demo's risk history is seeded and the nights replayed,
    then risk was scored on the 15th and the last day of each past month, the trend's
    past months have nights, and seeding again does nothing."""
    from retention.management.commands.seed_risk_history import history_days

    for _ in range(3):
        customer = CustomerFactory(owner=manager, customer_since=TODAY - timedelta(days=200))
        InteractionFactory(customer=customer, occurred_at=timezone.now() - timedelta(days=150))
    call_command("compute_risk")
    assert RiskDay.objects.filter(day=TODAY, source="nightly").exists()  # today's night

    call_command("seed_risk_history", "--months", "2", "--nights", "0")
    call_command("rebuild_risk_days")

    assert history_days(TODAY, 2) == [
        date(2026, 4, 15),
        date(2026, 4, 30),
        date(2026, 5, 15),
        date(2026, 5, 31),
    ]
    assert set(RiskSnapshot.objects.values_list("as_of", flat=True)) == {
        *history_days(TODAY, 2),
        TODAY,
    }
    trend = risk_trend(Scope(manager.pk), JUNE.trailing(4))
    assert [(t.day, t.customers) for t in trend] == [
        (None, 0),  # March: before the history
        (date(2026, 4, 30), 3),
        (date(2026, 5, 31), 3),
        (TODAY, 3),
    ]
    snapshots = RiskSnapshot.objects.count()
    call_command("seed_risk_history", "--months", "2", "--nights", "0")
    assert RiskSnapshot.objects.count() == snapshots
