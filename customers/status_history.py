"""The status history: every change of Customer.status kept as a StatusChange row.

A change takes effect on `churned_on` when the customer becomes churned and that day is
set, else today (the business's time zone). A churned_on no later than the customer's
last recorded churn is that earlier churn's day (the form keeps it when a customer comes
back): this churn is dated today. A churned_on before the last recorded change is moved
to that change's day, so the history stays in order.

Customer.save records through customers.receivers (post_save); paths that write in bulk
(the CSV import, the demo data) call record_bulk with the instances they wrote.
"""

from collections.abc import Iterable, Sequence
from datetime import date

from django.db.models import Max, Q
from django.utils import timezone

from .models import Customer, StatusChange

WRITE_BATCH_SIZE = 1000


def record_saved(customer: Customer, *, created: bool, update_fields=None) -> None:
    """After Customer.save: record the change if the status it saved is a new one."""
    if update_fields is not None and "status" not in update_fields:
        return
    if "status" not in customer.__dict__:
        return  # deferred when loaded and not set since: the save did not write it
    before = "" if created else getattr(customer, "status_before_save", None)
    _record([(customer, before)])


def record_bulk(customers: Iterable[Customer], *, created: bool) -> int:
    """After a bulk_create or bulk_update of these customers: record their changes in bulk.

    Updated instances compare with the status they were loaded with (`loaded_status`);
    created ones start from nothing. Returns how many changes were recorded.
    """
    pairs = [
        (customer, "" if created else getattr(customer, "loaded_status", None))
        for customer in customers
    ]
    recorded = 0
    for start in range(0, len(pairs), WRITE_BATCH_SIZE):
        recorded += _record(pairs[start : start + WRITE_BATCH_SIZE])
    for customer, _ in pairs:
        customer.loaded_status = customer.status  # saved again, no new change
    return recorded


def _record(pairs: Sequence[tuple[Customer, str | None]]) -> int:
    """Write a StatusChange for each customer whose status differs from `before`.

    `before` None means unknown (the status was not loaded): the last recorded change
    tells it. Two queries at most for the whole batch, and one INSERT.
    """
    unknown = [customer.pk for customer, before in pairs if before is None]
    last_status = _last_recorded_status(unknown) if unknown else {}
    changes = []
    for customer, before in pairs:
        before = last_status.get(customer.pk, "") if before is None else before
        if before != customer.status:
            changes.append((customer, before))
    if not changes:
        return 0
    dated = [c.pk for c, _ in changes if c.status == Customer.Status.CHURNED and c.churned_on]
    last_days = _last_recorded_days(dated) if dated else {}
    today = timezone.localdate()
    now = timezone.now()
    StatusChange.objects.bulk_create(
        [
            StatusChange(
                customer_id=customer.pk,
                from_status=before,
                to_status=customer.status,
                changed_on=change_day(customer, today, *last_days.get(customer.pk, (None, None))),
                recorded_at=now,
            )
            for customer, before in changes
        ]
    )
    return len(changes)


def change_day(
    customer: Customer,
    today: date,
    last_change: date | None = None,
    last_churn: date | None = None,
) -> date:
    """The day a change to the customer's current status takes effect.

    `last_change` and `last_churn` are the days of the customer's last recorded change
    and last recorded change to churned, if any.
    """
    churned_on = customer.churned_on
    if customer.status != Customer.Status.CHURNED or churned_on is None:
        return today
    if last_churn is not None and churned_on <= last_churn:
        return today  # the day of an earlier churn, kept when they came back
    # A churn backdated past a later change stays after it: the history keeps its order.
    return max(churned_on, last_change) if last_change else churned_on


def _last_recorded_status(customer_ids: list[int]) -> dict[int, str]:
    rows = StatusChange.objects.filter(customer_id__in=customer_ids).order_by(
        "customer_id", "-changed_on", "-id"
    )
    last: dict[int, str] = {}
    for customer_id, to_status in rows.values_list("customer_id", "to_status"):
        last.setdefault(customer_id, to_status)
    return last


def _last_recorded_days(customer_ids: list[int]) -> dict[int, tuple[date, date | None]]:
    """Per customer: the day of the last recorded change, and of the last one to churned."""
    rows = (
        StatusChange.objects.filter(customer_id__in=customer_ids)
        .values("customer_id")
        .annotate(
            last=Max("changed_on"),
            last_churn=Max("changed_on", filter=Q(to_status=Customer.Status.CHURNED)),
        )
    )
    return {row["customer_id"]: (row["last"], row["last_churn"]) for row in rows}
