"""compute_all reads the next chunk on a second connection while it scores this one.

PostgreSQL only, outside a transaction (a second connection cannot see a test
transaction's rows): the flags, levels and history must be exactly those of the
chunk-by-chunk computation that reads each chunk itself.
"""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from customers.models import Customer
from retention import risk
from retention.models import CustomerRisk, RiskEvent, RiskSnapshot

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    if connection.vendor != "postgresql":
        pytest.skip("the read-ahead runs on PostgreSQL only")


def customers_with_histories() -> list[Customer]:
    now = timezone.now()
    customers = []
    for index in range(12):
        customer = CustomerFactory(
            customer_since=timezone.localdate() - timedelta(days=700),
            renewal_date=timezone.localdate() + timedelta(days=10) if index % 3 == 0 else None,
        )
        Customer.objects.filter(pk=customer.pk).update(created_at=now - timedelta(days=700))
        customers.append(customer)
        for days in range(5 + index * 7, 400, 30):
            InteractionFactory(
                customer=customer, kind="call", occurred_at=now - timedelta(days=days)
            )
        if index % 4 == 1:
            InteractionFactory(customer=customer, kind="complaint", occurred_at=now)
        if index % 5 == 2:
            InteractionFactory(customer=customer, kind="cancellation", occurred_at=now)
    return customers


def stored() -> tuple[list, list, list]:
    return (
        list(
            CustomerRisk.objects.order_by("customer_id").values_list(
                "customer_id", "score", "level", "flags"
            )
        ),
        list(
            RiskSnapshot.objects.order_by("customer_id").values_list(
                "customer_id", "as_of", "score", "level"
            )
        ),
        list(
            RiskEvent.objects.order_by("customer_id").values_list("customer_id", "kind", "to_level")
        ),
    )


def test_read_ahead_gives_the_rows_of_reading_each_chunk_itself():
    customers_with_histories()
    today = timezone.localdate()
    with transaction.atomic():  # inside a transaction: no read-ahead, each chunk reads itself
        expected_outcome = risk.compute_all(today, chunk_size=3)
    expected = stored()
    CustomerRisk.objects.all().delete()
    RiskSnapshot.objects.all().delete()
    RiskEvent.objects.all().delete()

    outcome = risk.compute_all(today, chunk_size=3)  # 4 chunks, 3 of them read ahead

    assert outcome == expected_outcome
    assert outcome.changed == 12 and any(row[2] != "low" for row in expected[0])
    assert stored() == expected
