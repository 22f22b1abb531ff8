"""The retention work's effect: cases opened, saved and lost per period, the value
saved, the save rate by what was done, and the queue's list of the customers behind."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from customers.models import Interaction
from dashboard.periods import MONTH, period_containing
from dashboard.saves import cases_url, retention_effect
from dashboard.scope import EVERYONE, Scope
from retention.models import Coupon, CustomerRisk, OutgoingEmail, PointsEntry, RiskEvent

from .factories import CustomerFactory, InteractionFactory, RewardFactory

pytestmark = pytest.mark.django_db

MARCH = period_containing(MONTH, date(2026, 3, 1))
APRIL = period_containing(MONTH, date(2026, 4, 1))


@pytest.fixture(autouse=True)
def _june():
    with time_machine.travel(datetime(2026, 6, 15, 12, tzinfo=timezone.get_current_timezone())):
        yield


def at(day: str, hour: int = 10) -> datetime:
    return timezone.make_aware(datetime.fromisoformat(day).replace(hour=hour))


def customer_with_risk(owner=None, value="100.00", monthly_value="100.00", score=50):
    customer = CustomerFactory(owner=owner, monthly_value=Decimal(monthly_value))
    CustomerRisk.objects.create(
        customer=customer,
        score=score,
        level="medium",
        value=Decimal(value),
        computed_for=date(2026, 6, 14),
        level_since=date(2026, 3, 1),
    )
    return customer


def rise(customer, day: str, from_level="low", to_level="medium") -> RiskEvent:
    return RiskEvent.objects.create(
        customer=customer,
        kind=RiskEvent.Kind.LEVEL_UP,
        occurred_at=at(day, 2),
        from_level=from_level,
        to_level=to_level,
    )


def resolve(customer, day: str, kind=RiskEvent.Kind.SAVED) -> RiskEvent:
    return RiskEvent.objects.create(customer=customer, kind=kind, occurred_at=at(day, 16))


def call(customer, day: str, user, **kwargs) -> Interaction:
    return InteractionFactory(customer=customer, occurred_at=at(day), recorded_by=user, **kwargs)


def follow_up(customer, day: str, kind=OutgoingEmail.Kind.FOLLOW_UP) -> OutgoingEmail:
    return OutgoingEmail.objects.create(
        customer=customer,
        kind=kind,
        to_email=customer.email,
        idempotency_key=f"test:{customer.pk}:{day}",
        status=OutgoingEmail.Status.SENT,
        sent_at=at(day),
    )


def coupon(customer, day: str, used: str | None = None) -> Coupon:
    reward = RewardFactory()
    entry = PointsEntry.objects.create(
        customer=customer, kind=PointsEntry.Kind.REDEEM, points=-100, reason="Redeemed"
    )
    return Coupon.objects.create(
        code=f"C{entry.pk:09d}",
        customer=customer,
        reward=reward,
        entry=entry,
        points_spent=100,
        reward_name=reward.name,
        reward_kind=reward.kind,
        expires_on=date(2026, 12, 31),
        created_at=at(day),
        used_at=at(used) if used else None,
    )


def by_action(effect) -> dict[str, tuple]:
    return {a.action: (a.cases, a.saved, a.lost, a.save_rate) for a in effect.by_action}


def test_a_case_opened_in_march_and_saved_in_april_counts_once_in_each(manager):
    """Given a rise from low to medium on 20 March and a save on 5 April,
    then March has 1 case opened and nothing resolved (no save rate),
    and April none opened, 1 saved, a save rate of 100 % and the value saved."""
    customer = customer_with_risk(manager, value="80.00")
    rise(customer, "2026-03-20")
    resolve(customer, "2026-04-05")

    march, april = retention_effect(EVERYONE, MARCH), retention_effect(EVERYONE, APRIL)

    assert (march.opened, march.saved, march.lost, march.save_rate) == (1, 0, 0, None)
    assert march.value_saved == Decimal("0.00")
    assert (april.opened, april.saved, april.lost, april.save_rate) == (0, 1, 0, 100.0)
    assert april.value_saved == Decimal("80.00")


def test_only_rises_from_low_and_rises_after_a_resolution_open_cases(manager):
    """Given, in March: low -> medium (opens), medium -> high (the same case), saved,
    then medium -> high again (reopens after the save), and another customer's
    medium -> high with no resolution before it (an open case growing),
    then March has 2 cases opened."""
    customer, other = customer_with_risk(manager), customer_with_risk(manager)
    rise(customer, "2026-03-02")
    rise(customer, "2026-03-05", "medium", "high")
    resolve(customer, "2026-03-10")
    rise(customer, "2026-03-20", "medium", "high")
    rise(other, "2026-02-20")
    rise(other, "2026-03-21", "medium", "high")

    assert retention_effect(EVERYONE, MARCH).opened == 2


def test_save_rate_and_value_saved(manager):
    """Given in April: three customers saved (monthly values at stake 100, 50, and one
    churned since, whose risk value is 0 and plan 30), one of them saved twice, and
    one customer lost,
    then 4 saves and 1 loss: a save rate of 80 %; the value saved counts each saved
    customer once, the churned one at their plan's value: 100 + 50 + 30 = 180."""
    a = customer_with_risk(manager, value="100.00")
    b = customer_with_risk(manager, value="50.00")
    churned = customer_with_risk(manager, value="0.00", monthly_value="30.00")
    lost = customer_with_risk(manager, value="500.00")
    for customer, day in [(a, "2026-04-02"), (a, "2026-04-20"), (b, "2026-04-03")]:
        resolve(customer, day)
    resolve(churned, "2026-04-04")
    resolve(lost, "2026-04-05", RiskEvent.Kind.LOST)

    effect = retention_effect(EVERYONE, APRIL)

    assert (effect.saved, effect.lost, effect.save_rate) == (4, 1, 80.0)
    assert effect.value_saved == Decimal("180.00")


def test_the_save_rate_by_what_was_done_counts_only_what_happened_during_the_case(
    manager, admin_user
):
    """Given four cases resolved in April:
    - A (opened 1 April): a follow-up sent on 10 April, saved on 20 April;
    - B (opened 1 April): a call logged on 25 March (before the case), a notice
      about B emailed to the account manager on 2 April (not to the customer), lost
      on 20 April, a follow-up sent on 25 April (after the resolution);
    - C (no opening on record): a call 60 days before its save (within the 90-day
      fallback) and a meeting 100 days before (outside it); an inbound call and a
      call with nobody recording it (imported) in the window; saved;
    - D (opened 2 April): a coupon redeemed before the case but used on 5 April, an
      email logged on 6 April, lost on 9 April;
    then the follow-up counts for A only, the call for C only, the coupon and the
    email for D, and B counts under "nothing recorded"."""
    a, b, c, d = (customer_with_risk(manager) for _ in range(4))
    rise(a, "2026-04-01")
    follow_up(a, "2026-04-10")
    resolve(a, "2026-04-20")
    rise(b, "2026-04-01")
    call(b, "2026-03-25", manager)
    follow_up(b, "2026-04-02", OutgoingEmail.Kind.STAFF_NOTICE)
    resolve(b, "2026-04-20", RiskEvent.Kind.LOST)
    follow_up(b, "2026-04-25")
    resolved = resolve(c, "2026-04-22")
    call(c, (resolved.occurred_at - timedelta(days=60)).date().isoformat(), manager)
    call(
        c, (resolved.occurred_at - timedelta(days=100)).date().isoformat(), manager, kind="meeting"
    )
    call(c, "2026-04-15", admin_user, direction=Interaction.Direction.INBOUND)
    call(c, "2026-04-16", None, kind="meeting")
    rise(d, "2026-04-02")
    coupon(d, "2026-03-01", used="2026-04-05")
    call(d, "2026-04-06", admin_user, kind="email")
    resolve(d, "2026-04-09", RiskEvent.Kind.LOST)

    effect = by_action(retention_effect(EVERYONE, APRIL))

    assert effect == {
        "call": (1, 1, 0, 100.0),
        "email": (1, 0, 1, 0.0),
        "meeting": (0, 0, 0, None),
        "follow_up": (1, 1, 0, 100.0),
        "coupon": (1, 0, 1, 0.0),
        "nothing": (1, 0, 1, 0.0),
    }


def test_a_second_case_looks_only_at_what_was_done_since_it_reopened(manager):
    """Given a case saved on 10 March after a call on 5 March, a rise medium -> high on
    1 April reopening it, and a save on 20 April with nothing done since,
    then April's save counts under "nothing recorded", not under the March call."""
    customer = customer_with_risk(manager)
    rise(customer, "2026-03-01")
    call(customer, "2026-03-05", manager)
    resolve(customer, "2026-03-10")
    rise(customer, "2026-04-01", "medium", "high")
    resolve(customer, "2026-04-20")

    assert by_action(retention_effect(EVERYONE, MARCH))["call"] == (1, 1, 0, 100.0)
    april = by_action(retention_effect(EVERYONE, APRIL))
    assert april["call"] == (0, 0, 0, None) and april["nothing"] == (1, 1, 0, 100.0)


def test_scope_is_the_customers_owner(manager, other_manager):
    """Given a save and a rise for the manager's customer, a loss for another
    manager's, and a save for an unassigned customer,
    then each owner sees their own, and everyone sees all of them."""
    mine, theirs, nobodys = (customer_with_risk(o) for o in (manager, other_manager, None))
    rise(mine, "2026-04-01")
    resolve(mine, "2026-04-02")
    resolve(theirs, "2026-04-03", RiskEvent.Kind.LOST)
    resolve(nobodys, "2026-04-04")

    def figures(scope):
        effect = retention_effect(scope, APRIL)
        return effect.opened, effect.saved, effect.lost, effect.value_saved

    assert figures(Scope(manager.pk)) == (1, 1, 0, Decimal("100.00"))
    assert figures(Scope(other_manager.pk)) == (0, 0, 1, Decimal("0.00"))
    assert figures(EVERYONE) == (1, 2, 1, Decimal("200.00"))


def test_the_query_count_does_not_grow_with_the_cases(manager, django_assert_max_num_queries):
    """Given 2 resolved cases with actions, then 20 more,
    then the figures take 3 queries either way."""

    def add_cases(count):
        for i in range(count):
            customer = customer_with_risk(manager)
            rise(customer, "2026-04-01")
            call(customer, "2026-04-02", manager)
            follow_up(customer, "2026-04-03")
            resolve(customer, "2026-04-10", RiskEvent.Kind.SAVED if i % 2 else "lost")

    add_cases(2)
    with django_assert_max_num_queries(3):
        assert retention_effect(Scope(manager.pk), APRIL).saved == 1
    add_cases(20)
    with django_assert_max_num_queries(3):
        effect = retention_effect(Scope(manager.pk), APRIL)
    assert (effect.saved, effect.lost, by_action(effect)["follow_up"][0]) == (11, 11, 22)


def test_the_queue_lists_the_customers_behind_each_figure(admin_client, manager):
    """Given a case opened in March and saved in April, and a customer lost in April,
    then the dashboard's links open the queue's cases mode listing exactly them."""
    saved, lost = customer_with_risk(manager), customer_with_risk(manager)
    rise(saved, "2026-03-20")
    resolve(saved, "2026-04-05")
    resolve(lost, "2026-04-06", RiskEvent.Kind.LOST)

    def names(url):
        response = admin_client.get(url)
        assert response.status_code == 200
        return {row.customer.name for row in response.context["page"].object_list}

    assert names(cases_url(EVERYONE, APRIL, "saved")) == {saved.name}
    assert names(cases_url(Scope(manager.pk), APRIL, "lost")) == {lost.name}
    assert names(cases_url(EVERYONE, MARCH, "opened")) == {saved.name}
    assert names(cases_url(EVERYONE, MARCH, "saved")) == set()


def test_a_manager_sees_only_their_own_cases_in_the_list(manager_client, manager, other_manager):
    """Given saves for the manager's customer and another manager's in April,
    then the manager's link (their own id) lists only theirs, and asking for the other
    manager's lists nobody."""
    mine, theirs = customer_with_risk(manager), customer_with_risk(other_manager)
    resolve(mine, "2026-04-05")
    resolve(theirs, "2026-04-06")

    own = manager_client.get(cases_url(Scope(manager.pk), APRIL, "saved"))
    other = manager_client.get(cases_url(Scope(other_manager.pk), APRIL, "saved"))

    assert [row.customer for row in own.context["page"].object_list] == [mine]
    assert list(other.context["page"].object_list) == []
    assert reverse("retention:queue") in own.content.decode()  # the way back to the queue
