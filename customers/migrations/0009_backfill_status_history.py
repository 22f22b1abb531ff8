"""The status history of the customers that existed before it was recorded: what their
rows tell.

Each customer gets a first change to their status on customer_since (or the day the
record was created). A churned customer's first status is taken to be active, and a
second change to churned follows on churned_on (or, when that is empty, the day of their
last contact, else of the record's last change; never before the first). Customers that
already have a history are left alone, so running it twice adds nothing.
"""

from django.db import migrations
from django.utils import timezone

CHUNK = 2000


def history_of(customer) -> list[tuple[str, str, object]]:
    """(from status, to status, day) rows for one customer row."""
    start = customer.customer_since or timezone.localdate(customer.created_at)
    if customer.status != "churned":
        return [("", customer.status, start)]
    churned = customer.churned_on
    if churned is None:
        moment = customer.last_interaction_at or customer.updated_at
        churned = timezone.localdate(moment) if moment else start
    return [("", "active", start), ("active", "churned", max(churned, start))]


def backfill(apps, schema_editor) -> None:
    Customer = apps.get_model("customers", "Customer")
    StatusChange = apps.get_model("customers", "StatusChange")
    recorded_at = timezone.now()
    fields = (
        "pk",
        "status",
        "customer_since",
        "churned_on",
        "created_at",
        "updated_at",
        "last_interaction_at",
    )
    last_pk = 0
    # Keyset pages read before each write: no cursor stays open over the table written.
    while True:
        page = list(
            Customer.objects.filter(pk__gt=last_pk)
            .exclude(pk__in=StatusChange.objects.values("customer_id"))
            .order_by("pk")
            .only(*fields)[:CHUNK]
        )
        if not page:
            return
        StatusChange.objects.bulk_create(
            StatusChange(
                customer_id=customer.pk,
                from_status=from_status,
                to_status=to_status,
                changed_on=day,
                recorded_at=recorded_at,
            )
            for customer in page
            for from_status, to_status, day in history_of(customer)
        )
        last_pk = page[-1].pk


class Migration(migrations.Migration):
    dependencies = [
        ("customers", "0008_status_history_and_membership"),
    ]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
    ]
