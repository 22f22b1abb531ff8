"""The queue after the perf work: count and rows from two queries agree, and the opened
row's action forms act on that row."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from customers.models import Customer
from retention.models import CustomerRisk
from retention.risk import queue

from .test_queue import QUEUE, action, at_risk, queued

pytestmark = pytest.mark.django_db


def test_count_and_rows_leave_out_the_same_cases(admin_client):
    at_risk(name="Open")
    at_risk(score=80, level="high", name="Open high")
    at_risk(name="Archived", archived_at=timezone.now())
    snoozed = at_risk(name="Snoozed")
    snoozed.snoozed_until = timezone.localdate() + timedelta(days=3)
    snoozed.save()
    resolved = at_risk(name="Resolved")
    resolved.resolved_at = timezone.now()
    resolved.save()
    at_risk(score=10, level="low", name="Low")

    response = admin_client.get(QUEUE)

    assert queued(response) == ["Open high", "Open"]
    assert response.context["page"].paginator.count == 2
    assert "2 customers need attention" in response.content.decode()
    assert queue.open_cases_to_count().count() == queue.open_cases().count() == 2


def test_count_follows_the_filters(manager_client, manager, other_manager):
    at_risk(owner=manager, name="Mine")
    at_risk(owner=manager, score=90, level="high", name="Mine high")
    at_risk(owner=manager, name="Mine archived", archived_at=timezone.now())
    at_risk(owner=other_manager, name="Theirs")

    response = manager_client.get(QUEUE, {"level": "high"})

    assert queued(response) == ["Mine high"]
    assert response.context["page"].paginator.count == 1
    assert manager_client.get(QUEUE).context["page"].paginator.count == 2


def test_a_snooze_that_ended_brings_the_case_back(admin_client):
    case = at_risk(name="Back")
    case.snoozed_until = timezone.localdate()  # snoozed until today: open again today
    case.save()
    response = admin_client.get(QUEUE)
    assert queued(response) == ["Back"]
    assert response.context["page"].paginator.count == 1


def test_the_opened_row_acts_on_its_own_customer(admin_client, manager):
    """Given two cases, when the admin opens each in turn, then the forms shown act on
    that customer (claim only for the unassigned one) and no other row has forms."""
    owned = at_risk(owner=manager, name="Owned")
    unowned = at_risk(score=80, level="high", name="Unowned")

    for case, other in ((owned, unowned), (unowned, owned)):
        html = admin_client.get(QUEUE, {"open": case.customer_id}).content.decode()
        for name in ("assign", "outreach", "snooze", "resolve"):
            assert f'action="{action(case.customer, name)}"' in html
            assert f'action="{action(other.customer, name)}"' not in html
        claim = f'action="{action(case.customer, "claim")}"'
        assert (claim in html) == (case is unowned)
        assert html.count("data-case-action=") == 4 + (case is unowned)


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: the plan of the queue's page is PostgreSQL's")


def test_page_one_reads_the_open_cases_index_in_queue_order(postgres):
    """Page 1 walks risk_open_cases_idx (value at risk, then score) and sorts only the
    rows that tie on both: no sort of every open case (README, "The nightly recompute
    and the at-risk queue")."""
    today = timezone.localdate()
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"Customer {n}",
            email=f"c{n}@example.org",
            status=Customer.Status.ACTIVE,
            monthly_value=Decimal(10 + n % 300),
        )
        for n in range(4000)
    )
    CustomerRisk.objects.bulk_create(
        CustomerRisk(
            customer=customer,
            score=score,
            level="high" if score >= 67 else "medium" if score >= 33 else "low",
            value=customer.monthly_value,
            expected_loss=(customer.monthly_value * score / 100).quantize(Decimal("0.01")),
            computed_for=today,
            level_since=today,
        )
        for n, customer in enumerate(customers)
        for score in [(n * 37) % 100]
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {Customer._meta.db_table}")
        cursor.execute(f"ANALYZE {CustomerRisk._meta.db_table}")
    sql, params = queue.open_cases()[:25].query.sql_with_params()

    with queue.serial_plans(), connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using risk_open_cases_idx" in plan, plan
    sorts = re.findall(r"->\s+(\w+ )?Sort\b", plan)
    assert sorts == ["Incremental "], plan
    assert (
        "Presorted Key: retention_customerrisk.expected_loss, retention_customerrisk.score" in plan
    )
