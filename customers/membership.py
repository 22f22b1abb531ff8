"""Membership spells: the periods in which someone was a customer, from their history.

The rules, for one customer (`customer_spells`, no database):
- The first spell starts on the earliest of: customer since, the first status change
  into onboarding, active or at risk, the first purchase. Someone with none of these
  (a lead who never bought) has no spell.
- A spell ends on a status change to churned ("churned"), or, for a customer without a
  contract (no plan and no renewal date), on the day they have gone LAPSED_AFTER_DAYS
  without a purchase: the last purchase (or the spell's start) + N days ("lapsed"). A
  purchase on that very day keeps them; a lapse later than today has not happened.
- Afterwards a status change back into onboarding, active or at risk (from a status
  outside those), or, for a customer without a contract, a purchase, starts a new spell
  ("reactivated"). A churned contract customer who buys once is not a customer again.
- Changes and purchases dated after today have not happened yet. A churned customer
  whose history does not end in churned (rows written past the history: a bulk load,
  SQL) churned on churned_on.
- The monthly value is the customer's; when it is 0, the spell's average monthly spend.
  Spend is net: a refund in a spell (stored negative) lowers its spend, but a refund is
  not a purchase, so it neither starts a spell nor keeps a customer from lapsing.
  Owner, contract and value are today's (they have no history).

`rebuild` recomputes every spell (or some customers') in one transaction: three streamed
queries ordered by customer (customers, status changes, purchases and refunds per day), merged here,
spells written in batches (COPY on PostgreSQL), then the per-day sums the churn figures
read (MembershipDay) from the spells. Idempotent; the nightly task, `manage.py
rebuild_membership` and a merge (for the kept customer) call it.
"""

import itertools
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from operator import itemgetter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from .models import (
    Customer,
    Interaction,
    MembershipBuild,
    MembershipDay,
    MembershipSpell,
    StatusChange,
)

Status = Customer.Status
StartReason = MembershipSpell.StartReason
EndReason = MembershipSpell.EndReason

CUSTOMER_STATUSES = frozenset({Status.ONBOARDING, Status.ACTIVE, Status.AT_RISK})
DAYS_PER_MONTH = Decimal("30.4375")  # 365.25 / 12
CENT = Decimal("0.01")
STREAM_CHUNK = 5000
# The kinds of a customer's history events, in their order on the same day.
PURCHASE, REFUND, CHANGE = 0, 1, 2
WRITE_BATCH = 5000


@dataclass(frozen=True)
class CustomerFacts:
    """What the rules need of a customer's current record."""

    customer_id: int
    owner_id: int | None
    status: str
    customer_since: date | None
    churned_on: date | None
    has_contract: bool
    monthly_value: Decimal


@dataclass
class Spell:
    started_on: date
    start_reason: str
    ended_on: date | None = None
    end_reason: str = ""
    spend: Decimal = field(default_factory=Decimal)


def customer_spells(
    facts: CustomerFacts,
    changes: Iterable[tuple[date, str]],
    purchases: Iterable[tuple[date, Decimal]],
    *,
    today: date,
    lapse_days: int,
    refunds: Iterable[tuple[date, Decimal]] = (),
) -> list[Spell]:
    """One customer's spells, oldest first, from their status changes (day, to status;
    in recorded order), their purchases and their refunds (day, amount; one per day,
    refunds negative)."""
    changes = [change for change in changes if change[0] <= today]
    purchases = [purchase for purchase in purchases if purchase[0] <= today]
    refunds = [refund for refund in refunds if refund[0] <= today]
    churned_on = facts.churned_on
    if (
        facts.status == Status.CHURNED
        and churned_on is not None
        and churned_on <= today
        and (not changes or changes[-1][1] != Status.CHURNED)
    ):
        changes.append((max(churned_on, changes[-1][0]) if changes else churned_on, Status.CHURNED))

    starts = [day for day, status in changes if status in CUSTOMER_STATUSES][:1]
    starts += [purchase[0] for purchase in purchases[:1]]
    if facts.customer_since is not None and facts.customer_since <= today:
        starts.append(facts.customer_since)
    if not starts:
        return []

    lapses = not facts.has_contract
    lapse = timedelta(days=lapse_days)
    # Purchases, then refunds, before status changes on the same day: bought, then churned.
    events = sorted(
        [(day, PURCHASE, amount) for day, amount in purchases]
        + [(day, REFUND, amount) for day, amount in refunds]
        + [(day, CHANGE, to) for day, to in changes],
        key=itemgetter(0, 1),
    )
    spells: list[Spell] = []
    current: Spell | None = Spell(min(starts), StartReason.NEW)
    reference = current.started_on  # the lapse clock counts from here
    status = ""
    for day, kind, value in events:
        if current is not None and lapses and reference + lapse < day:
            current.ended_on, current.end_reason = reference + lapse, EndReason.LAPSED
            spells.append(current)
            current = None
        if kind == PURCHASE:
            if current is None and lapses:
                current, reference = Spell(day, StartReason.REACTIVATED), day
            if current is not None:
                current.spend += value or 0
                reference = max(reference, day)
            continue
        if kind == REFUND:  # lowers the spend; not a sign of buying (the lapse clock stays)
            if current is not None:
                current.spend += value or 0
            continue
        previous, status = status, value
        if current is None:
            if status in CUSTOMER_STATUSES and previous not in CUSTOMER_STATUSES:
                current, reference = Spell(day, StartReason.REACTIVATED), day
        elif status == Status.CHURNED and day >= current.started_on:
            current.ended_on, current.end_reason = day, EndReason.CHURNED
            spells.append(current)
            current = None
    if current is not None:
        if lapses and reference + lapse <= today:
            current.ended_on, current.end_reason = reference + lapse, EndReason.LAPSED
        spells.append(current)
    return spells


def monthly_value(facts: CustomerFacts, spell: Spell, today: date) -> Decimal:
    """The customer's monthly value, or (when it is 0) the spell's average monthly spend,
    over at least one month."""
    if facts.monthly_value > 0:
        return facts.monthly_value
    days = ((spell.ended_on or today) - spell.started_on).days
    months = max(Decimal(days) / DAYS_PER_MONTH, Decimal(1))
    # More refunded than bought in the spell is worth nothing, not less than nothing.
    return (max(spell.spend, Decimal(0)) / months).quantize(CENT)


# --- Conditions on spells: the customers behind a figure (the customer list's filters) ---


def started_between(start: date, end: date) -> Q:
    """Spells that began in these days (both included): customers gained."""
    return Q(started_on__gte=start, started_on__lte=end)


def ended_between(start: date, end: date) -> Q:
    """Spells that ended in these days (both included): customers lost."""
    return Q(ended_on__gte=start, ended_on__lte=end)


def covering(day: date) -> Q:
    """The spell that made someone a customer on `day`: begun by then, not ended by then
    (on the day a spell ends they are no longer one). A customer has at most one."""
    return Q(started_on__lte=day) & (Q(ended_on__isnull=True) | Q(ended_on__gt=day))


def first_started_between(start: date, end: date) -> Q:
    """Spells of the customers whose first spell began in these days: a cohort."""
    return Q(first_started_on__gte=start, first_started_on__lte=end)


def customers_with_spells(condition: Q) -> QuerySet:
    """The ids of the customers with a spell matching `condition`, as a subquery."""
    return MembershipSpell.objects.filter(condition).values("customer_id")


# --- Rebuilding the table ---------------------------------------------------------------


def rebuild(*, today: date | None = None, customer_ids: Iterable[int] | None = None) -> int:
    """Recompute the spells of every customer (or of `customer_ids`), replacing the old
    ones in one transaction. Returns how many spells were written.

    A full rebuild is recorded as a MembershipBuild ("figures as of"); a partial one (a
    merge) is not. Two rebuilds at once take turns (a table lock on PostgreSQL; SQLite
    writes one transaction at a time). Readers see the old spells until the commit.
    """
    today = today or timezone.localdate()
    ids = None if customer_ids is None else sorted(set(customer_ids))
    build = MembershipBuild.objects.create(as_of=today) if ids is None else None
    lapse_days = settings.LAPSED_AFTER_DAYS
    customers_seen = written = 0
    with transaction.atomic():
        _lock_spells()
        spells = MembershipSpell.objects.all()
        (spells if ids is None else spells.filter(customer_id__in=ids)).delete()
        batch: list[tuple] = []
        for facts, changes, purchases, refunds in _histories(ids):
            customers_seen += 1
            found = customer_spells(
                facts, changes, purchases, today=today, lapse_days=lapse_days, refunds=refunds
            )
            batch.extend(_rows(facts, found, today))
            if len(batch) >= WRITE_BATCH:
                written += _write(batch)
                batch = []
        written += _write(batch)
        rebuild_days()
    if build is not None:
        _tidy_up()
        build.finished_at = timezone.now()
        build.customers, build.spells = customers_seen, written
        build.save(update_fields=["finished_at", "customers", "spells"])
    return written


def rebuild_days() -> int:
    """Rewrite MembershipDay from the spells: per day and owner, the spells started
    (new, reactivated) and ended (churned, lapsed, with their value and spend).

    Two GROUP BY queries over the spells and one INSERT of a few thousand rows (one per
    day with a change, per owner). Returns how many rows.
    """
    spells = MembershipSpell.objects.order_by()
    days: dict[tuple[date, int | None], MembershipDay] = {}

    def day_row(day: date, owner_id: int | None) -> MembershipDay:
        if (day, owner_id) not in days:
            days[day, owner_id] = MembershipDay(
                day=day, owner_id=owner_id, value_lost=Decimal(0), spend_lost=Decimal(0)
            )
        return days[day, owner_id]

    started = spells.values_list("started_on", "owner_id", "start_reason").annotate(n=Count("id"))
    for day, owner_id, reason, count in started:
        setattr(day_row(day, owner_id), f"gained_{reason}", count)
    ended = (
        spells.filter(ended_on__isnull=False)
        .values_list("ended_on", "owner_id", "end_reason")
        .annotate(n=Count("id"), value=Sum("monthly_value"), spend=Sum("spend"))
    )
    for day, owner_id, reason, count, value, spend in ended:
        row = day_row(day, owner_id)
        setattr(row, f"lost_{reason}", count)
        row.value_lost += value or 0
        row.spend_lost += spend or 0
    MembershipDay.objects.all().delete()
    MembershipDay.objects.bulk_create(days.values(), batch_size=WRITE_BATCH)
    return len(days)


def _tidy_up() -> None:
    """After a full rebuild on PostgreSQL: reclaim the rows it replaced and refresh the
    planner's statistics now, not whenever autovacuum gets to it (the first dashboard
    reads after a rebuild were several times slower). Not possible inside a transaction
    (a test's), where it is skipped."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        for model in (MembershipSpell, MembershipDay):
            cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(model._meta.db_table)}")


# The columns _rows fills, in its order.
SPELL_COLUMNS = (
    "customer_id",
    "owner_id",
    "started_on",
    "ended_on",
    "start_reason",
    "end_reason",
    "first_started_on",
    "monthly_value",
    "spend",
    "has_contract",
)


def _rows(facts: CustomerFacts, spells: list[Spell], today: date) -> Iterator[tuple]:
    for spell in spells:
        yield (
            facts.customer_id,
            facts.owner_id,
            spell.started_on,
            spell.ended_on,
            spell.start_reason,
            spell.end_reason,
            spells[0].started_on,
            monthly_value(facts, spell, today),
            spell.spend,
            facts.has_contract,
        )


def _write(batch: list[tuple]) -> int:
    """Insert these spell rows: with COPY on PostgreSQL (bulk_create's INSERTs took most
    of a rebuild's time there), bulk_create elsewhere."""
    if not batch:
        return 0
    if connection.vendor != "postgresql":
        MembershipSpell.objects.bulk_create(
            [MembershipSpell(**dict(zip(SPELL_COLUMNS, row, strict=True))) for row in batch],
            batch_size=WRITE_BATCH,
        )
        return len(batch)
    quote = connection.ops.quote_name
    table = quote(MembershipSpell._meta.db_table)
    columns = ", ".join(quote(name) for name in SPELL_COLUMNS)
    sql = f"COPY {table} ({columns}) FROM STDIN"
    # cursor.cursor: the psycopg 3 cursor under Django's wrapper.
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in batch:
            copy.write_row(row)
    return len(batch)


def _lock_spells() -> None:
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(MembershipSpell._meta.db_table)
        with connection.cursor() as cursor:
            # Blocks another rebuild's writes until this one commits; reads go on.
            cursor.execute(f"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE")


def _histories(ids: list[int] | None) -> Iterator[tuple[CustomerFacts, list, list, list]]:
    """Each customer's facts, status changes, daily purchases and refunds, by customer id.

    Three streamed queries in customer order, merged as they are read, so memory holds
    one customer's history at a time whatever the number of customers.
    """
    customers = Customer.objects.order_by("pk")
    changes = StatusChange.objects.order_by("customer_id", "changed_on", "id")
    purchases = Interaction.objects.filter(kind__in=Interaction.KINDS_OF_SPEND)
    if ids is not None:
        customers = customers.filter(pk__in=ids)
        changes = changes.filter(customer_id__in=ids)
        purchases = purchases.filter(customer_id__in=ids)
    customer_rows = customers.values_list(
        "pk",
        "owner_id",
        "status",
        "customer_since",
        "churned_on",
        "plan",
        "renewal_date",
        "monthly_value",
    )
    change_rows = changes.values_list("customer_id", "changed_on", "to_status")
    # One row per customer and day (in the business's time zone), purchases and refunds
    # summed apart (one query for both: a day may have either or both).
    bought, refunded = Q(kind=Interaction.Kind.PURCHASE), Q(kind=Interaction.Kind.REFUND)
    purchase_rows = (
        purchases.annotate(day=TruncDate("occurred_at"))
        .values_list("customer_id", "day")
        .annotate(
            purchases=Count("id", filter=bought),
            total=Sum("amount", filter=bought),
            refunds=Count("id", filter=refunded),
            refunded=Sum("amount", filter=refunded),
        )
        .order_by("customer_id", "day")
    )
    change_groups = _Groups(change_rows.iterator(chunk_size=STREAM_CHUNK))
    purchase_groups = _Groups(purchase_rows.iterator(chunk_size=STREAM_CHUNK))
    for pk, owner_id, status, since, churned_on, plan, renewal, value in customer_rows.iterator(
        chunk_size=STREAM_CHUNK
    ):
        facts = CustomerFacts(
            customer_id=pk,
            owner_id=owner_id,
            status=status,
            customer_since=since,
            churned_on=churned_on,
            has_contract=bool(plan) or renewal is not None,
            monthly_value=value,
        )
        money = purchase_groups.take(pk)
        yield (
            facts,
            change_groups.take(pk),
            [(day, total) for day, bought_n, total, _n, _refunded in money if bought_n],
            [(day, refunded) for day, _n, _total, refund_n, refunded in money if refund_n],
        )


class _Groups:
    """Rows (customer id first) ordered by customer id, handed out one customer at a time."""

    def __init__(self, rows: Iterator[tuple]) -> None:
        self._groups = itertools.groupby(rows, key=itemgetter(0))
        self._next = next(self._groups, None)

    def take(self, customer_id: int) -> list[tuple]:
        """The rows of this customer (without the id); rows of customers before it, which
        the customer stream no longer has (deleted meanwhile), are skipped."""
        while self._next is not None and self._next[0] < customer_id:
            self._next = next(self._groups, None)
        if self._next is None or self._next[0] != customer_id:
            return []
        rows = [row[1:] for row in self._next[1]]
        self._next = next(self._groups, None)
        return rows
