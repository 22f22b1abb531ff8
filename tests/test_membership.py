"""Status history and membership spells: every status change recorded with its day, and
the periods in which someone was a customer rebuilt from it."""

import importlib
import io
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.apps import apps
from django.core.management import call_command

from customers import importing, membership, services, status_history, tasks
from customers.membership import CustomerFacts, customer_spells
from customers.models import (
    Customer,
    Interaction,
    MembershipBuild,
    MembershipDay,
    MembershipSpell,
    StatusChange,
)
from retention.models import CustomerRisk
from retention.risk import queue

from .factories import CustomerFactory, UserFactory, import_job

Status = Customer.Status
pytestmark = pytest.mark.django_db

TODAY = date(2026, 6, 15)


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC)


def history(customer: Customer) -> list[tuple[str, str, date]]:
    return list(
        StatusChange.objects.filter(customer=customer)
        .order_by("changed_on", "id")
        .values_list("from_status", "to_status", "changed_on")
    )


def customer_with(
    changes: list[tuple[date, str]], *, purchases=(), since=None, plan="Growth", **fields
) -> Customer:
    """A customer whose status history is exactly `changes`, with these purchases
    [(day, amount)]; the current status is the last change's."""
    customer = CustomerFactory(
        status=changes[-1][1] if changes else Status.LEAD,
        customer_since=since,
        plan=plan,
        **fields,
    )
    StatusChange.objects.filter(customer=customer).delete()
    previous = ""
    for day, status in changes:
        StatusChange.objects.create(
            customer=customer, from_status=previous, to_status=status, changed_on=day
        )
        previous = status
    Interaction.objects.bulk_create(
        Interaction(
            customer=customer,
            kind=Interaction.Kind.PURCHASE,
            subject="Order",
            amount=Decimal(amount),
            occurred_at=noon(day),
        )
        for day, amount in purchases
    )
    return customer


def spells_of(customer: Customer) -> list[tuple]:
    return list(
        MembershipSpell.objects.filter(customer=customer)
        .order_by("started_on")
        .values_list("started_on", "ended_on", "start_reason", "end_reason")
    )


# --- Recording every status change ------------------------------------------------------


def test_save_records_each_change_once_with_its_day():
    """Given a customer created active on 1 June, at risk on 5 June, and churned today
    (15 June) with churned_on 10 June, when each is saved (the last one twice),
    then the history holds three changes, the churn dated churned_on, nothing twice."""
    with time_machine.travel(noon(date(2026, 6, 1)), tick=False):
        customer = Customer.objects.get(pk=CustomerFactory(status=Status.ACTIVE).pk)
    with time_machine.travel(noon(date(2026, 6, 5)), tick=False):
        customer.status = Status.AT_RISK
        customer.save()
    with time_machine.travel(noon(TODAY), tick=False):
        customer.status = Status.CHURNED
        customer.churned_on = date(2026, 6, 10)
        customer.save()
        customer.notes = "Gone"
        customer.save()

    assert history(customer) == [
        ("", "active", date(2026, 6, 1)),
        ("active", "at_risk", date(2026, 6, 5)),
        ("at_risk", "churned", date(2026, 6, 10)),
    ]


@time_machine.travel(noon(TODAY), tick=False)
def test_a_churn_backdated_past_the_last_change_is_dated_on_that_change():
    """Given a customer moved to at risk today, when churned with churned_on last week,
    then the churn is dated today: the history stays in order."""
    customer = Customer.objects.get(pk=CustomerFactory(status=Status.ACTIVE).pk)
    customer.status = Status.AT_RISK
    customer.save()
    customer.status = Status.CHURNED
    customer.churned_on = TODAY - timedelta(days=7)
    customer.save()

    assert history(customer)[-1] == ("at_risk", "churned", TODAY)


@time_machine.travel(noon(TODAY), tick=False)
def test_a_save_that_does_not_write_the_status_records_nothing():
    """Given a customer, when saved with update_fields without status, or loaded without
    its status and saved, then no change is recorded."""
    customer = CustomerFactory(status=Status.ACTIVE)
    customer.status = Status.AT_RISK  # not written: update_fields below leave it out
    customer.save(update_fields=["notes"])
    Customer.objects.only("id", "name").get(pk=customer.pk).save()

    assert history(customer) == [("", "active", TODAY)]


@time_machine.travel(noon(TODAY), tick=False)
def test_a_second_churn_is_not_dated_on_the_first_churns_day():
    """Given a customer who churned in January, came back in March (churned_on kept, as the
    form does), when they churn again today, then that churn is dated today."""
    customer = customer_with(
        [(date(2025, 6, 1), Status.ACTIVE), (date(2026, 1, 10), Status.CHURNED)],
        since=date(2025, 6, 1),
        churned_on=date(2026, 1, 10),
    )
    customer = Customer.objects.get(pk=customer.pk)
    with time_machine.travel(noon(date(2026, 3, 1)), tick=False):
        customer.status = Status.ACTIVE
        customer.save()
    customer.status = Status.CHURNED
    customer.save()

    assert history(customer)[-2:] == [
        ("churned", "active", date(2026, 3, 1)),
        ("active", "churned", TODAY),
    ]


def test_other_apps_still_see_the_change_after_it_is_recorded(
    django_capture_on_commit_callbacks,
):
    """Given a loaded lead, when moved to onboarding and saved, then the change is recorded
    and the onboarding receiver still starts the checklist (it compares loaded_status too)."""
    from .factories import ChecklistTemplateFactory

    ChecklistTemplateFactory(is_default=True)
    customer = Customer.objects.get(pk=CustomerFactory(status=Status.LEAD).pk)
    with django_capture_on_commit_callbacks(execute=True):
        customer.status = Status.ONBOARDING
        customer.save()

    assert [row[:2] for row in history(customer)] == [("", "lead"), ("lead", "onboarding")]
    assert customer.checklists.count() == 1


@time_machine.travel(noon(TODAY), tick=False)
def test_a_receiver_that_moves_loaded_status_on_first_does_not_hide_the_change():
    """Given a receiver that runs before ours and moves loaded_status on (as the
    onboarding and survey receivers do), when a status change is saved, then it is still
    recorded: the status before the save was fixed before any receiver ran."""
    from django.db.models.signals import pre_save

    def move_on(sender, instance, **kwargs):
        instance.loaded_status = instance.status

    customer = Customer.objects.get(pk=CustomerFactory(status=Status.ACTIVE).pk)
    pre_save.connect(move_on, sender=Customer, dispatch_uid="test_move_on")
    try:
        customer.status = Status.AT_RISK
        customer.save()
    finally:
        pre_save.disconnect(dispatch_uid="test_move_on", sender=Customer)

    assert history(customer)[-1] == ("active", "at_risk", TODAY)


@time_machine.travel(noon(TODAY), tick=False)
def test_the_import_records_created_and_changed_statuses_in_bulk(manager):
    """Given an existing active customer, when a file creates one customer and moves the
    existing one to churned, then both changes are recorded (the churn dated today, as
    the import sets churned_on)."""
    existing = CustomerFactory(email="old@example.org", status=Status.ACTIVE)
    content = "name,email,status\nNew One,new@example.org,active\nOld One,old@example.org,churned\n"
    job = importing.validate_import(
        import_job(target="customers", filename="f.csv", content=content, created_by=manager)
    )
    importing.apply_import(job)

    created = Customer.objects.get(email="new@example.org")
    assert history(created) == [("", "active", TODAY)]
    assert history(existing) == [("", "active", TODAY), ("active", "churned", TODAY)]


def test_the_import_records_in_a_fixed_number_of_queries():
    """Given 5 or 50 loaded customers whose status changed, when recorded in bulk, then
    the number of queries is the same."""
    counts = []
    for size in (5, 50):
        Customer.objects.all().delete()
        CustomerFactory.create_batch(size, status=Status.ACTIVE)
        loaded = list(Customer.objects.all())
        for customer in loaded:
            customer.status = Status.CHURNED
            customer.churned_on = date(2026, 1, 1)
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert status_history.record_bulk(loaded, created=False) == size
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 2


@time_machine.travel(noon(TODAY), tick=False)
def test_resolving_an_at_risk_case_as_lost_records_the_churn(manager):
    """Given an at-risk case, when resolved as lost, then the customer's churn today is in
    the history."""
    customer = CustomerFactory(owner=manager, status=Status.AT_RISK)
    case = CustomerRisk.objects.create(
        customer=customer, score=60, level="medium", base=10, computed_for=TODAY, level_since=TODAY
    )
    case = CustomerRisk.objects.select_related("customer").get(pk=case.pk)
    queue.case_resolve(risk=case, outcome="lost", reason="Too expensive", user=manager)

    assert history(customer)[-1] == ("at_risk", "churned", TODAY)


@time_machine.travel(noon(TODAY), tick=False)
def test_merge_moves_the_status_history_to_the_kept_customer(admin_user):
    """Given two records of one person, when merged, then the kept one holds both
    histories and the other record's changes are gone with it."""
    keep = customer_with([(date(2024, 1, 5), Status.ACTIVE)], since=date(2024, 1, 5))
    drop = customer_with(
        [(date(2023, 3, 1), Status.ACTIVE), (date(2023, 9, 1), Status.CHURNED)],
        since=date(2023, 3, 1),
    )
    services.customer_merge(survivor=keep, duplicate=drop, merged_by=admin_user)

    assert [(to, day) for _, to, day in history(keep)] == [
        ("active", date(2023, 3, 1)),
        ("churned", date(2023, 9, 1)),
        ("active", date(2024, 1, 5)),
    ]
    assert StatusChange.objects.count() == 3


# --- The backfill migration -------------------------------------------------------------


@time_machine.travel(noon(TODAY), tick=False)
def test_the_backfill_dates_what_the_customer_rows_tell():
    """Given customers from before the history (no changes), when the migration's backfill
    runs (twice), then each has a first change on customer_since (else its creation day),
    churned ones a change to churned on churned_on (else their last contact), once."""
    rows = {
        "active": CustomerFactory(status=Status.ACTIVE, customer_since=date(2024, 2, 1)),
        "lead": CustomerFactory(
            status=Status.LEAD, customer_since=None, created_at=noon(date(2025, 5, 5))
        ),
        "churned": CustomerFactory(
            status=Status.CHURNED, customer_since=date(2023, 1, 1), churned_on=date(2025, 7, 1)
        ),
        "undated": CustomerFactory(
            status=Status.CHURNED,
            customer_since=date(2023, 1, 1),
            churned_on=None,
            last_interaction_at=noon(date(2025, 8, 9)),
        ),
    }
    StatusChange.objects.all().delete()
    backfill = importlib.import_module("customers.migrations.0009_backfill_status_history")

    backfill.backfill(apps, None)
    backfill.backfill(apps, None)

    assert history(rows["active"]) == [("", "active", date(2024, 2, 1))]
    assert history(rows["lead"]) == [("", "lead", date(2025, 5, 5))]
    assert history(rows["churned"]) == [
        ("", "active", date(2023, 1, 1)),
        ("active", "churned", date(2025, 7, 1)),
    ]
    assert history(rows["undated"])[-1] == ("active", "churned", date(2025, 8, 9))
    assert StatusChange.objects.count() == 6


# --- The rules, one customer at a time ----------------------------------------------------


def facts(**fields) -> CustomerFacts:
    defaults = {
        "customer_id": 1,
        "owner_id": None,
        "status": Status.ACTIVE,
        "customer_since": None,
        "churned_on": None,
        "has_contract": True,
        "monthly_value": Decimal("50"),
    }
    return CustomerFacts(**{**defaults, **fields})


def spans(spells) -> list[tuple]:
    return [(s.started_on, s.ended_on, s.start_reason, s.end_reason) for s in spells]


def rules(customer_facts, changes=(), purchases=(), today=TODAY, lapse_days=180):
    return spans(
        customer_spells(customer_facts, changes, purchases, today=today, lapse_days=lapse_days)
    )


def test_the_first_spell_starts_on_the_earliest_sign():
    """Given customer since in March, active from February and a first purchase in January,
    then the one open spell starts in January, as a new customer."""
    assert rules(
        facts(customer_since=date(2026, 3, 1)),
        changes=[(date(2026, 2, 1), Status.ACTIVE)],
        purchases=[(date(2026, 1, 20), Decimal("10"))],
    ) == [(date(2026, 1, 20), None, "new", "")]


def test_a_lead_who_never_bought_has_no_spell():
    """Given a lead with no customer-since and no purchase, then there is no spell."""
    assert rules(facts(status=Status.LEAD), changes=[(date(2026, 1, 1), Status.LEAD)]) == []


def test_churned_then_active_again_is_lost_then_gained():
    """Given active from January, churned on 1 March, active again on 1 May, then two
    spells: January to 1 March (churned), and from 1 May, reactivated."""
    assert rules(
        facts(),
        changes=[
            (date(2026, 1, 1), Status.ACTIVE),
            (date(2026, 3, 1), Status.CHURNED),
            (date(2026, 5, 1), Status.ACTIVE),
        ],
    ) == [
        (date(2026, 1, 1), date(2026, 3, 1), "new", "churned"),
        (date(2026, 5, 1), None, "reactivated", ""),
    ]


def test_moves_between_customer_statuses_change_nothing():
    """Given active, at risk, active again, onboarding, then one open spell."""
    assert rules(
        facts(),
        changes=[
            (date(2026, 1, 1), Status.ACTIVE),
            (date(2026, 2, 1), Status.AT_RISK),
            (date(2026, 3, 1), Status.ACTIVE),
            (date(2026, 4, 1), Status.ONBOARDING),
        ],
    ) == [(date(2026, 1, 1), None, "new", "")]


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        (date(2026, 6, 29), [(date(2025, 12, 1), None, "new", "")]),
        (date(2026, 6, 30), [(date(2025, 12, 1), date(2026, 6, 30), "new", "lapsed")]),
    ],
    ids=["one day before: still a customer", "on last purchase + 180: lapsed"],
)
def test_a_lapse_counts_on_the_day_after_n_days_without_a_purchase(today, expected):
    """Given a shop customer (no contract) whose last purchase was on 1 January 2026,
    then they lapse on 30 June (1 January + 180 days), not a day earlier."""
    purchases = [(date(2025, 12, 1), Decimal("20")), (date(2026, 1, 1), Decimal("30"))]
    assert rules(facts(has_contract=False), purchases=purchases, today=today) == expected


def test_a_purchase_on_the_lapse_day_keeps_the_customer():
    """Given a shop customer buying again exactly 180 days after the last purchase, then
    they never lapsed."""
    purchases = [(date(2025, 1, 1), Decimal("20")), (date(2025, 6, 30), Decimal("20"))]
    assert rules(facts(has_contract=False), purchases=purchases, today=date(2025, 12, 1)) == [
        (date(2025, 1, 1), None, "new", "")
    ]


def test_lapsed_then_buying_again_is_lost_then_gained():
    """Given a shop customer who bought on 1 January 2025 and next on 1 March 2026, then
    they lapsed on 30 June 2025 and were reactivated on 1 March 2026."""
    purchases = [(date(2025, 1, 1), Decimal("20")), (date(2026, 3, 1), Decimal("20"))]
    assert rules(facts(has_contract=False), purchases=purchases) == [
        (date(2025, 1, 1), date(2025, 6, 30), "new", "lapsed"),
        (date(2026, 3, 1), None, "reactivated", ""),
    ]


def test_a_contract_customer_never_lapses():
    """Given a customer with a plan whose one purchase was two years ago, then their
    spell is still open."""
    assert rules(facts(has_contract=True), purchases=[(date(2024, 6, 1), Decimal("9"))]) == [
        (date(2024, 6, 1), None, "new", "")
    ]


def test_a_churned_contract_customer_buying_once_is_not_back():
    """Given a contract customer churned in January who buys in March, then no new spell
    (a shop customer's purchase would start one)."""
    changes = [(date(2025, 6, 1), Status.ACTIVE), (date(2026, 1, 1), Status.CHURNED)]
    purchase = [(date(2026, 3, 1), Decimal("9"))]
    assert len(rules(facts(), changes, purchase)) == 1
    assert rules(facts(has_contract=False), changes, purchase)[-1] == (
        date(2026, 3, 1),
        None,
        "reactivated",
        "",
    )


def test_a_purchase_on_the_day_of_the_churn_belongs_to_the_spell_that_ends():
    """Given a shop customer who buys and is marked churned on the same day, then that
    purchase is the ended spell's last, not a comeback."""
    spells = customer_spells(
        facts(has_contract=False, status=Status.CHURNED),
        [(date(2026, 1, 1), Status.ACTIVE), (date(2026, 3, 1), Status.CHURNED)],
        [(date(2026, 3, 1), Decimal("25"))],
        today=TODAY,
        lapse_days=180,
    )
    assert spans(spells) == [(date(2026, 1, 1), date(2026, 3, 1), "new", "churned")]
    assert spells[0].spend == Decimal("25")


def test_changes_after_today_have_not_happened():
    """Given a churn dated next month (the contract's end), then the spell is open today."""
    changes = [(date(2026, 1, 1), Status.ACTIVE), (date(2026, 7, 31), Status.CHURNED)]
    assert rules(facts(status=Status.CHURNED), changes) == [(date(2026, 1, 1), None, "new", "")]


def test_a_churn_written_past_the_history_counts_on_churned_on():
    """Given a churned customer (churned_on 1 April) whose history never recorded the
    churn (a bulk load), then the spell ends on 1 April."""
    customer = facts(status=Status.CHURNED, customer_since=date(2025, 1, 1))
    assert rules(customer.__class__(**{**customer.__dict__, "churned_on": date(2026, 4, 1)})) == [
        (date(2025, 1, 1), date(2026, 4, 1), "new", "churned")
    ]


def test_the_value_of_a_shop_customer_is_their_average_monthly_spend():
    """Given a shop customer (no monthly value) spending 300 over a spell of 91 days
    (about 3 months), then its monthly value is 300 / (91 / 30.4375) = 100.34."""
    customer = facts(has_contract=False, monthly_value=Decimal("0"))
    spell = membership.Spell(date(2026, 1, 1), "new", date(2026, 4, 2), "lapsed", Decimal(300))
    assert membership.monthly_value(customer, spell, TODAY) == Decimal("100.34")
    assert membership.monthly_value(facts(), spell, TODAY) == Decimal("50")


# --- Rebuilding the table -------------------------------------------------------------------


def test_the_rebuild_writes_the_spells_with_owner_value_spend_and_cohort():
    """Given a customer churned and back, owned by a manager, with purchases in each spell,
    when rebuilt, then two spells with the owner, the plan's value, each spell's spend and
    the first start as cohort."""
    owner = UserFactory()
    customer = customer_with(
        [
            (date(2025, 1, 10), Status.ACTIVE),
            (date(2025, 8, 1), Status.CHURNED),
            (date(2026, 2, 1), Status.ACTIVE),
        ],
        purchases=[(date(2025, 3, 1), 40), (date(2025, 4, 1), 60), (date(2026, 3, 1), 5)],
        owner=owner,
        monthly_value=Decimal("49"),
    )
    assert membership.rebuild(today=TODAY) == 2

    rows = list(
        MembershipSpell.objects.filter(customer=customer)
        .order_by("started_on")
        .values_list("owner_id", "first_started_on", "monthly_value", "spend", "has_contract")
    )
    assert rows == [
        (owner.pk, date(2025, 1, 10), Decimal("49"), Decimal("100"), True),
        (owner.pk, date(2025, 1, 10), Decimal("49"), Decimal("5"), True),
    ]
    build = MembershipBuild.last_finished()
    assert (build.as_of, build.customers, build.spells) == (TODAY, 1, 2)


def test_the_rebuild_is_idempotent():
    """Given a few histories, when rebuilt twice, then the same rows (but their ids)."""
    customer_with([(date(2025, 1, 1), Status.ACTIVE), (date(2025, 5, 1), Status.CHURNED)])
    customer_with([], purchases=[(date(2025, 2, 1), 10)], plan="")
    customer_with([(date(2024, 1, 1), Status.ACTIVE)], archived_at=noon(date(2025, 1, 1)))

    def rows():
        return sorted(
            MembershipSpell.objects.values_list(
                "customer_id", "started_on", "ended_on", "start_reason", "end_reason", "spend"
            )
        )

    membership.rebuild(today=TODAY)
    first = rows()
    membership.rebuild(today=TODAY)

    assert rows() == first
    assert len(first) == 3  # the archived customer keeps their spell
    assert MembershipSpell.objects.count() == 3


def test_a_rebuild_after_a_merge_counts_the_kept_customer_once(admin_user):
    """Given two records of one active customer, each with a spell, when merged (which
    rebuilds the kept one) and rebuilt, then one spell, from the earlier start."""
    keep = customer_with([(date(2025, 3, 1), Status.ACTIVE)], since=date(2025, 3, 1))
    drop = customer_with([(date(2024, 9, 1), Status.ACTIVE)], since=date(2024, 9, 1))
    membership.rebuild(today=TODAY)
    assert MembershipSpell.objects.count() == 2

    services.customer_merge(survivor=keep, duplicate=drop, merged_by=admin_user)
    assert spells_of(keep) == [(date(2024, 9, 1), None, "new", "")]
    # The per-day sums follow at once: one customer gained, on the earlier day.
    assert list(MembershipDay.objects.values_list("day", "gained_new")) == [(date(2024, 9, 1), 1)]
    membership.rebuild(today=TODAY)

    assert spells_of(keep) == [(date(2024, 9, 1), None, "new", "")]
    assert MembershipSpell.objects.count() == 1


def test_the_rebuild_uses_a_fixed_number_of_queries():
    """Given 3 or 30 customers with histories and purchases, when rebuilt, then the same
    number of queries (streamed reads, batched writes)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    counts = []
    for size in (3, 30):
        for _ in range(size):
            customer_with(
                [(date(2025, 1, 1), Status.ACTIVE), (date(2025, 9, 1), Status.CHURNED)],
                purchases=[(date(2025, 2, 1), 10), (date(2025, 3, 1), 10)],
            )
        with CaptureQueriesContext(connection) as captured:
            membership.rebuild(today=TODAY)
        counts.append(len(captured))
    assert counts[0] == counts[1]


def test_tiny_chunks_and_batches_give_the_same_spells(monkeypatch):
    """Given histories over more customers than a read chunk and a write batch, when
    rebuilt with chunks of 2 and batches of 3, then the spells are those of one pass
    (the streams stay in step across chunks; writes interleave with open reads)."""
    for n in range(7):
        customer_with(
            [(date(2025, 1, 1 + n), Status.ACTIVE), (date(2025, 9, 1), Status.CHURNED)],
            purchases=[(date(2025, 2, 1 + n), 10)],
        )
    customer_with([], purchases=[(date(2025, 1, 1), 5), (date(2026, 1, 2), 5)], plan="")

    def rows():
        return sorted(
            MembershipSpell.objects.values_list(
                "customer_id", "started_on", "ended_on", "end_reason", "spend"
            )
        )

    membership.rebuild(today=TODAY)
    expected = rows()
    monkeypatch.setattr(membership, "STREAM_CHUNK", 2)
    monkeypatch.setattr(membership, "WRITE_BATCH", 3)
    membership.rebuild(today=TODAY)

    assert rows() == expected
    assert len(expected) == 9


def test_the_task_and_the_command_rebuild():
    """Given a customer, when the nightly task or the command runs, then their spell is
    there and the build is recorded."""
    customer_with([(date(2025, 1, 1), Status.ACTIVE)])
    tasks.rebuild_membership.delay()
    assert MembershipSpell.objects.count() == 1
    call_command("rebuild_membership", "--as-of", "2024-12-31", stdout=io.StringIO())
    assert MembershipSpell.objects.count() == 0  # not yet a customer on that day
    assert MembershipBuild.objects.filter(finished_at__isnull=False).count() == 2


def test_the_nightly_rebuild_is_scheduled_after_the_risk_job(settings):
    """The beat runs the rebuild at MEMBERSHIP_NIGHTLY_HOUR:MINUTE (02:45 by default)."""
    entry = settings.CELERY_BEAT_SCHEDULE["nightly-membership"]
    assert entry["task"] == "customers.tasks.rebuild_membership"
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({2}, {45})


# --- The demo data ----------------------------------------------------------------------


@time_machine.travel(noon(TODAY), tick=False)
def test_the_demo_data_gains_and_loses_customers_every_month_of_18():
    """Given `make run`'s demo data (seed_demo, here 1,000 customers) rebuilt, then each of
    the last 18 complete months gains customers and loses some by churn, and across
    them churned customers come back and shop customers lapse."""
    from dashboard.churn import churn_series
    from dashboard.periods import MONTH, period_containing
    from dashboard.scope import EVERYONE

    call_command("seed_demo", customers=1000, stdout=io.StringIO(), stderr=io.StringIO())
    membership.rebuild()
    months = period_containing(MONTH, TODAY).previous().trailing(18)

    series = churn_series(EVERYONE, months)

    assert all(figures.gained and figures.lost_churned for figures in series), [
        (figures.period.label, figures.gained, figures.lost_churned) for figures in series
    ]
    comebacks = StatusChange.objects.filter(from_status=Status.CHURNED, to_status=Status.ACTIVE)
    assert comebacks.filter(changed_on__gte=months[0].start).count() >= 18
    assert sum(figures.lost_lapsed for figures in series) >= 18
