"""Two redemptions of the last points at the same moment, on PostgreSQL: exactly one wins."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections

from retention.loyalty import ledger, redemption
from retention.models import Coupon, PointsAccount, PointsEntry

from .factories import CustomerFactory, RewardFactory

pytestmark = pytest.mark.django_db(transaction=True)


def redeem_in_two_threads(redeem) -> list[str]:
    """Run `redeem()` in two threads (two database connections) released together."""
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def attempt() -> None:
        try:
            barrier.wait(timeout=10)
            redeem()
            outcomes.append("ok")
        except ValidationError as error:
            outcomes.append(" ".join(error.messages))
        finally:
            connections.close_all()  # this thread's connection

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return outcomes


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (make test): SQLite serialises every write anyway")


@pytest.mark.parametrize("attempt", range(3))
def test_two_concurrent_redemptions_of_the_last_points_one_succeeds(postgres, attempt):
    customer = CustomerFactory()
    ledger.points_earn(customer=customer, points=100, reason="Start", source_key="start")
    reward = RewardFactory(points_price=100)

    outcomes = redeem_in_two_threads(
        lambda: redemption.reward_redeem(customer=customer, reward=reward)
    )

    assert sorted(outcomes) == ["Not enough points: 0 available, 100 needed.", "ok"]
    assert PointsAccount.objects.get(customer=customer).balance == 0
    assert Coupon.objects.count() == 1
    assert PointsEntry.objects.filter(kind="redeem").count() == 1


def test_two_concurrent_redemptions_of_the_last_item_in_stock_one_succeeds(postgres):
    customer = CustomerFactory()
    ledger.points_earn(customer=customer, points=1000, reason="Start", source_key="start")
    reward = RewardFactory(points_price=100, stock=1)

    outcomes = redeem_in_two_threads(
        lambda: redemption.reward_redeem(customer=customer, reward=reward)
    )

    assert sorted(outcomes) == ["Sorry, this reward is out of stock.", "ok"]
    reward.refresh_from_db()
    assert reward.stock == 0
    assert PointsAccount.objects.get(customer=customer).balance == 900  # the loser paid nothing
    assert Coupon.objects.count() == 1
