"""Usage and visit events: a batch of clicks added to daily counts per customer and event.

A batch is checked whole before anything is written (all or nothing), aggregated in
Python into (customer, day, event) -> count, and added to UsageDay with one
INSERT ... ON CONFLICT DO UPDATE (PostgreSQL, and SQLite >= 3.24): bulk_create's
update_conflicts would replace the count, not add to it. Queries per batch: one per
way of naming customers used in it (external id, email), plus one write.
"""

import re
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from .models import Customer, UsageDay

MAX_EVENTS = 1000
MAX_COUNT = 1_000_000
EVENT_MAX_LENGTH = 60


@dataclass(frozen=True)
class UsageEvent:
    """One line of a batch, as sent: the customer by external id or email."""

    event: str
    customer_external_id: str = ""
    customer_email: str = ""
    at: datetime | None = None
    count: int = 1


@dataclass(frozen=True)
class UsageResult:
    events: int  # lines in the batch
    clicks: int  # sum of their counts
    rows: int  # (customer, day, event) rows written or added to


def normalise_event(name: str) -> str:
    """ "  Logged   In " -> "logged in": one name per thing, however it was typed."""
    return re.sub(r"\s+", " ", name).strip().lower()


def events_from_json(rows: Any) -> list[UsageEvent]:
    """The API's body "events" list as UsageEvents; a ValidationError keyed
    "events[<index>].<field>" for every bad line."""
    if not isinstance(rows, list) or not rows:
        raise ValidationError({"events": [_("Send a non-empty list of events.")]})
    if len(rows) > MAX_EVENTS:
        raise ValidationError(
            {"events": [_("At most %(max)d events per batch.") % {"max": MAX_EVENTS}]}
        )
    errors: dict[str, list[str]] = {}
    events = []
    for index, row in enumerate(rows):
        key = f"events[{index}]"
        if not isinstance(row, dict):
            errors[key] = [_("An event is an object.")]
            continue
        external_id = str(row.get("customer_external_id") or "").strip()
        email = str(row.get("customer_email") or "").strip()
        if not external_id and not email:
            errors[f"{key}.customer_external_id"] = [
                _("Give customer_external_id or customer_email.")
            ]
        at = None
        if row.get("at") not in (None, ""):
            at = parse_datetime(str(row["at"])) if isinstance(row["at"], str) else None
            if at is None:
                errors[f"{key}.at"] = [_("Not an ISO 8601 date and time.")]
        count = row.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
            errors[f"{key}.count"] = [_("A whole number from 1 to %(max)d.") % {"max": MAX_COUNT}]
        events.append(
            UsageEvent(
                event=row.get("event") if isinstance(row.get("event"), str) else "",
                customer_external_id=external_id,
                customer_email=email,
                at=at,
                count=count if isinstance(count, int) else 1,
            )
        )
        name = normalise_event(events[-1].event)
        if not name:
            errors[f"{key}.event"] = [_("An event needs a name.")]
        elif len(name) > EVENT_MAX_LENGTH:
            errors[f"{key}.event"] = [_("At most %(max)d characters.") % {"max": EVENT_MAX_LENGTH}]
    if errors:
        raise ValidationError(errors)
    return events


def _day(at: datetime | None, today: date) -> date:
    if at is None:
        return today
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    return timezone.localdate(at)


def _customer_ids(events: list[UsageEvent]) -> tuple[dict[str, int], dict[str, int]]:
    external_ids = {e.customer_external_id for e in events if e.customer_external_id}
    emails = {e.customer_email.lower() for e in events if not e.customer_external_id}
    by_external_id: dict[str, int] = {}
    by_email: dict[str, int] = {}
    if external_ids:
        # exclude(""): the partial unique index, for batches of over 100 ids (see
        # customers/importing/matching.py).
        known = Customer.objects.filter(external_id__in=external_ids).exclude(external_id="")
        by_external_id = dict(known.values_list("external_id", "id"))
    if emails:
        # Oldest first, so the first customer with an email wins when two share it.
        rows = (
            Customer.objects.annotate(email_lower=Lower("email"))
            .filter(email_lower__in=emails)
            .order_by("-id")
            .values_list("email_lower", "id")
        )
        by_email = dict(rows)
    return by_external_id, by_email


def usage_record(events: list[UsageEvent], *, now: datetime | None = None) -> UsageResult:
    """Add a batch of events to the daily counts; nothing is written if a line names a
    customer that does not exist (ValidationError keyed events[<index>].<field>)."""
    today = timezone.localdate(now or timezone.now())
    by_external_id, by_email = _customer_ids(events)
    totals: Counter[tuple[int, date, str]] = Counter()
    errors: dict[str, list[str]] = {}
    for index, event in enumerate(events):
        if event.customer_external_id:
            customer_id = by_external_id.get(event.customer_external_id)
            field = "customer_external_id"
        else:
            customer_id = by_email.get(event.customer_email.lower())
            field = "customer_email"
        if customer_id is None:
            errors[f"events[{index}].{field}"] = [_("No customer with this value.")]
            continue
        totals[(customer_id, _day(event.at, today), normalise_event(event.event))] += event.count
    if errors:
        raise ValidationError(errors)
    if totals:
        _add_counts(totals)
    return UsageResult(events=len(events), clicks=sum(totals.values()), rows=len(totals))


def _add_counts(totals: Counter) -> None:
    table = connection.ops.quote_name(UsageDay._meta.db_table)
    values = ", ".join(["(%s, %s, %s, %s)"] * len(totals))
    params: list = []
    # In key order: two batches adding to the same rows lock them in the same order, so
    # they wait for each other instead of deadlocking (PostgreSQL).
    for (customer_id, day, event), count in sorted(totals.items()):
        params += [customer_id, day, event, count]
    sql = (
        # Names from the model, values as parameters.
        f"INSERT INTO {table} (customer_id, day, event, count) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (customer_id, day, event) "
        f"DO UPDATE SET count = {table}.count + EXCLUDED.count"
    )
    # One statement: all of the batch or none of it, with no transaction around it.
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


ACTIVITY_DAYS = 90
TOP_EVENTS = 5


@dataclass(frozen=True)
class Activity:
    """A customer's last ACTIVITY_DAYS days: one total per day (oldest first, zeros
    included) and the most frequent events over the window."""

    days: list[date]
    totals: list[int]
    top_events: list[tuple[str, int]]

    @property
    def total(self) -> int:
        return sum(self.totals)


def customer_activity(customer_id: int, today: date) -> Activity:
    """One query: the window's rows are already one per day and event (at most 90 times
    the number of event names), so the day and event totals are summed here."""
    start = today - timedelta(days=ACTIVITY_DAYS - 1)
    per_day: Counter[date] = Counter()
    per_event: Counter[str] = Counter()
    rows = UsageDay.objects.filter(customer_id=customer_id, day__range=(start, today))
    for day, event, count in rows.values_list("day", "event", "count"):
        per_day[day] += count
        per_event[event] += count
    top = sorted(per_event.items(), key=lambda item: (-item[1], item[0]))[:TOP_EVENTS]
    days = [start + timedelta(days=n) for n in range(ACTIVITY_DAYS)]
    return Activity(days=days, totals=[per_day[day] for day in days], top_events=top)
