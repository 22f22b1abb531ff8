"""The signals' SQL screens only ever spare Python work: never a different result.

On PostgreSQL the nightly job skips, per customer, the signals whose screen says
they cannot flag that customer (see retention.signals.Screen). Here a few hundred
customers with random histories are assessed on many nights, with the default
settings and with unusual ones, screened and unscreened, and the results must be
identical, while the screened run evaluates far fewer signals.
"""

import dataclasses
import random
from collections import Counter
from datetime import timedelta
from decimal import Decimal

import psycopg
import pytest
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer, Interaction
from retention.models import SignalSetting
from retention.risk import planning, scoring, signals

pytestmark = pytest.mark.django_db

KINDS = (
    [Interaction.Kind.CALL] * 30
    + [Interaction.Kind.PURCHASE] * 15
    + [
        Interaction.Kind.COMPLAINT,
        Interaction.Kind.SERVICE_REQUEST,
        Interaction.Kind.SERVICE_REQUEST,
        Interaction.Kind.DISCOUNT_REQUEST,
        Interaction.Kind.CANCELLATION,
    ]
)

# Settings that push each screen to its edges: a zero threshold flags on nothing at
# all, an inactivity window shorter than the 14-day minimum, a fractional threshold.
UNUSUAL = {
    "inactivity": {"threshold": Decimal("1.5"), "window_days": 7},
    "complaints": {"threshold": Decimal("0"), "window_days": 10},
    "service_requests": {"threshold": Decimal("1"), "window_days": 5},
    "discount_near_renewal": {"threshold": Decimal("0"), "window_days": 3},
    "renewal_no_contact": {"threshold": Decimal("10.5"), "window_days": 90},
    "cancellation": {"threshold": Decimal("2"), "window_days": 30},
}


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("screens are PostgreSQL SQL; on SQLite every customer is evaluated")


def random_customers(rng: random.Random, count: int) -> None:
    """Customers of every scored status (and some that are not), each with a history:
    none, a few contacts, or a regular rhythm, ending at some point in the last year."""
    today = timezone.localdate()
    statuses = [*signals.SCORED_STATUSES, Customer.Status.ACTIVE, Customer.Status.CHURNED]
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Customer {n}",
            email=f"c{n}@example.org",
            status=rng.choice(statuses),
            customer_since=today - timedelta(days=rng.randint(0, 900)),
            renewal_date=rng.choice([None, today + timedelta(days=rng.randint(-120, 150))]),
            created_at=timezone.now() - timedelta(days=rng.randint(0, 900)),
        )
        for n in range(count)
    )
    interactions = []
    for customer in customers:
        history = rng.choice(["none", "few", "rhythm", "rhythm", "rhythm"])
        if history == "none":
            continue
        contacts = rng.randint(1, 3) if history == "few" else rng.randint(3, 14)
        gap = rng.choice([0.02, 0.5, 3, 7, 10, 20, 45])  # days; 0.02: several in one hour
        last = timezone.now() - timedelta(days=rng.uniform(0, 150))
        for index in range(contacts):
            occurred_at = last - timedelta(days=gap * index + rng.uniform(0, gap / 5))
            interactions.append(
                Interaction(
                    customer=customer,
                    kind=rng.choice(KINDS),
                    sentiment=rng.choice(["negative", "positive"] + [""] * 20),
                    subject="Contact",
                    occurred_at=occurred_at,
                )
            )
    Interaction.objects.bulk_create(interactions)


def assess_everyone(as_of, *, screened: bool) -> list[scoring.Assessment]:
    config = planning.load_configuration()
    assessments = [
        assessment
        for id_from, id_to in planning.plan_chunks(chunk_size=100)
        for assessment in scoring.assess_chunk(as_of, id_from, id_to, config, screened=screened)
    ]
    return sorted(assessments, key=lambda assessment: assessment.customer_id)


@pytest.fixture
def evaluations(monkeypatch) -> Counter:
    """How many times each signal's evaluate ran."""
    calls = Counter()

    def counting(key, evaluate):
        def wrapper(facts, params):
            calls[key] += 1
            return evaluate(facts, params)

        return wrapper

    for key, signal in signals.registered().items():
        counted = dataclasses.replace(signal, evaluate=counting(key, signal.evaluate))
        monkeypatch.setitem(signals._registry, key, counted)
    return calls


@pytest.mark.parametrize("settings_name", ["default", "unusual"])
def test_screened_and_unscreened_assessments_are_identical(postgres, evaluations, settings_name):
    random_customers(random.Random(f"screens-{settings_name}"), 300)  # noqa: S311 (test data)
    if settings_name == "unusual":
        planning.ensure_signal_settings()
        for key, changes in UNUSUAL.items():
            SignalSetting.objects.filter(key=key).update(**changes)
    today = timezone.localdate()
    screened_calls = unscreened_calls = 0
    scored = flagged = 0
    # Nights before, on and after today: every customer's day counts cross the limits.
    for offset in range(-40, 61, 5):
        as_of = today + timedelta(days=offset)
        evaluations.clear()
        screened = assess_everyone(as_of, screened=True)
        screened_calls += evaluations.total()
        evaluations.clear()
        unscreened = assess_everyone(as_of, screened=False)
        unscreened_calls += evaluations.total()
        different = [(a, b) for a, b in zip(screened, unscreened, strict=True) if a != b]
        assert not different, f"as of {as_of}: {different[:3]}"
        scored += len(unscreened)
        flagged += sum(1 for assessment in unscreened if assessment.flags)
    # Not vacuous: customers were flagged and customers were healthy, and with the
    # usual settings the screens spared much of the work (the unusual ones flag
    # nearly everyone: there is little to spare).
    assert 0 < flagged < scored
    if settings_name == "default":
        assert screened_calls < unscreened_calls * 0.6


def test_a_signal_failing_halfway_through_a_chunk_leaves_the_connection_usable(
    postgres, monkeypatch
):
    """The chunk's rows stream in (COPY): an error while scoring them must end the COPY,
    or the transaction's rollback waits for ever and the worker hangs."""
    random_customers(random.Random("failing"), 50)  # noqa: S311 (test data)
    calls = Counter()

    def failing(evaluate):
        def wrapper(facts, params):
            calls["all"] += 1
            if calls["all"] == 3:
                raise RuntimeError("a bug in a signal")
            return evaluate(facts, params)

        return wrapper

    for key, signal in signals.registered().items():
        broken = dataclasses.replace(signal, evaluate=failing(signal.evaluate))
        monkeypatch.setitem(signals._registry, key, broken)
    config = planning.load_configuration()
    savepoint = transaction.savepoint()  # as compute_chunk's atomic block
    try:
        scoring.assess_chunk(timezone.localdate(), 0, 10**9, config)
    except RuntimeError:
        # While the error is alive (its traceback holds the reader): the COPY must be over.
        status = connection.connection.info.transaction_status
    else:
        pytest.fail("the signal's error did not reach the caller")
    assert status != psycopg.pq.TransactionStatus.ACTIVE
    transaction.savepoint_rollback(savepoint)  # hangs while a COPY is still running
    assert Customer.objects.count() == 50  # and the connection answers
