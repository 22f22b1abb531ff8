"""Refunds: an interaction kind stored with a negative amount, taken into account by loyalty
(the points of its amount taken back, once, never below zero) and by the spend figures
(risk features and membership spells count it as negative spend, never as a purchase)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError

from customers import importing, membership
from customers.membership import CustomerFacts, customer_spells, monthly_value
from customers.models import Customer, ImportJob, Interaction, MembershipSpell
from customers.timeline import interaction_entry
from retention.loyalty import ledger, nightly
from retention.loyalty.refunds import remove_unsettled_refunds
from retention.models import LoyaltySettings, PointsAccount, PointsEntry
from retention.risk.history import history_aggregates

from .factories import CustomerFactory, InteractionFactory, import_job

pytestmark = pytest.mark.django_db

Kind = Interaction.Kind
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def loyalty(points_per_unit="1") -> None:
    rules = LoyaltySettings.load()
    rules.points_per_unit = Decimal(points_per_unit)
    rules.purchases_since = date(2000, 1, 1)
    rules.save()


def balance(customer) -> tuple[int, int]:
    account = PointsAccount.objects.get(customer=customer)
    return account.balance, account.lifetime_points


def logged(customer, kind, amount, **fields) -> Interaction:
    """An interaction as the form logs it: cleaned (the refund's sign), then saved."""
    interaction = Interaction(
        customer=customer, kind=kind, amount=Decimal(amount), subject="Order", **fields
    )
    interaction.full_clean()
    interaction.save()
    return interaction


# --- The amount's sign ---------------------------------------------------------------------


@pytest.mark.parametrize("written", ["12.99", "-12.99"])
def test_a_refund_of_either_sign_is_stored_negative(customer, written):
    refund = logged(customer, Kind.REFUND, written)
    refund.refresh_from_db()
    assert refund.amount == Decimal("-12.99")


@pytest.mark.parametrize(
    ("kind", "amount", "message"),
    [
        (Kind.REFUND, "0", "A refund needs an amount other than 0."),
        (Kind.REFUND, None, "A refund needs an amount."),
        (
            Kind.PURCHASE,
            "-5",
            "Only a refund can have a negative amount; log money given back as a refund.",
        ),
        (
            Kind.CANCELLATION,
            "-5",
            "Only a refund can have a negative amount; log money given back as a refund.",
        ),
    ],
)
def test_amounts_of_the_wrong_sign_are_refused(customer, kind, amount, message):
    interaction = Interaction(
        customer=customer,
        kind=kind,
        subject="x",
        amount=None if amount is None else Decimal(amount),
    )
    with pytest.raises(ValidationError) as refused:
        interaction.full_clean()
    assert refused.value.message_dict["amount"] == [message]


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("mode", [ImportJob.Mode.ALL_OR_NOTHING, ImportJob.Mode.VALID_ROWS])
def test_a_refund_of_0_in_a_file_is_a_row_error_on_amount(manager, customer, mode):
    """Given a file with a good refund and a refund of 0, then row 3 is an error on amount;
    all-or-nothing imports nothing, valid rows imports the good row (stored negative)."""
    content = (
        "customer_email,kind,amount,occurred_at\n"
        f"{customer.email},refund,4.50,2026-02-02\n"
        f"{customer.email},refund,0,2026-02-03\n"
    )
    job = import_job(
        target="interactions", mode=mode, filename="f.csv", content=content, created_by=manager
    )
    job = importing.validate_import(job)
    assert [(e["row"], e["field"], e["message"]) for e in job.errors] == [
        (3, "amount", "A refund needs an amount other than 0.")
    ]
    if mode == ImportJob.Mode.ALL_OR_NOTHING:
        with pytest.raises(importing.ImportRefused):
            importing.apply_import(job)
        assert not Interaction.objects.exists()
    else:
        importing.apply_import(job)
        assert list(Interaction.objects.values_list("amount", "subject")) == [
            (Decimal("-4.50"), "Refund of 4.50 on 2026-02-02")
        ]


# --- Loyalty -----------------------------------------------------------------------------


def test_a_refund_logged_takes_back_the_points_of_its_amount(customer):
    """Given a purchase of 40 that earned 40 points, when it is refunded, then the points
    are taken back (balance and lifetime), with an "adjust" entry naming the refund."""
    loyalty()
    logged(customer, Kind.PURCHASE, "40")
    assert balance(customer) == (40, 40)
    refund = logged(customer, Kind.REFUND, "40", direction="outbound")
    assert balance(customer) == (0, 0)
    entry = PointsEntry.objects.get(source_key=f"refund:{refund.pk}")
    assert (entry.kind, entry.points, entry.reason) == ("adjust", -40, "Refund: Order")
    nightly.nightly()
    assert balance(customer) == (0, 0)
    assert PointsEntry.objects.count() == 2


def test_imported_refunds_are_settled_by_the_nightly_job_once(customer):
    """Given an imported purchase of 50 and a partial refund of 20.90 (no post_save), when the
    nightly job runs twice, then 50 are earned and 20 taken back, once."""
    loyalty()
    Interaction.objects.bulk_create(
        [
            Interaction(customer=customer, kind=Kind.PURCHASE, subject="A", amount=Decimal("50")),
            Interaction(customer=customer, kind=Kind.REFUND, subject="B", amount=Decimal("-20.90")),
            Interaction(customer=customer, kind=Kind.REFUND, subject="C", amount=Decimal("-0.40")),
        ]
    )
    assert nightly.nightly()["refunds"] == 1  # 0.40 takes back no point: nothing to settle
    assert balance(customer) == (30, 30)
    assert nightly.nightly()["refunds"] == 0
    assert balance(customer) == (30, 30)
    assert sorted(PointsEntry.objects.values_list("points", flat=True)) == [-20, 50]


def test_a_refund_never_takes_the_balance_below_zero_and_settles_once(customer, admin_user):
    """Given 40 points earned and 30 spent, when 40 are refunded, then the 10 left are taken
    back (not 40), and points earned later are not taken by that refund."""
    loyalty()
    logged(customer, Kind.PURCHASE, "40")
    ledger.points_adjust(customer=customer, points=-30, reason="Spent", author=admin_user)
    Interaction.objects.bulk_create(
        [Interaction(customer=customer, kind=Kind.REFUND, subject="R", amount=Decimal("-40"))]
    )
    nightly.nightly()
    assert balance(customer)[0] == 0
    assert PointsEntry.objects.filter(kind="adjust", reason="Refund: R").get().points == -10
    logged(customer, Kind.PURCHASE, "7")
    nightly.nightly()
    assert balance(customer)[0] == 7


def test_the_nightly_refunds_take_a_fixed_number_of_queries(django_assert_max_num_queries):
    loyalty()
    customers = [CustomerFactory() for _ in range(5)]
    Interaction.objects.bulk_create(
        Interaction(customer=c, kind=Kind.REFUND, subject="R", amount=Decimal("-5"))
        for c in customers
    )
    with django_assert_max_num_queries(20):
        assert remove_unsettled_refunds() == 5


# --- Spend ----------------------------------------------------------------------------------


def test_the_risk_spend_aggregates_count_refunds_as_negative_spend(customer):
    """Given purchases of 100 (200 days ago) and 60 (10 days ago) and a refund of 25
    (5 days ago), then spend is net: year 135, recent 35, prior 100; the last purchase is
    the purchase's day, not the refund's."""
    end = NOW
    for kind, amount, days in [
        (Kind.PURCHASE, "100", 200),
        (Kind.PURCHASE, "60", 10),
        (Kind.REFUND, "-25", 5),
    ]:
        InteractionFactory(
            customer=customer,
            kind=kind,
            amount=Decimal(amount),
            direction="",
            occurred_at=end - timedelta(days=days),
        )
    wanted = ("spend_year", "spend_recent", "spend_prior", "last_purchase", "purchase_days_2y")
    aggregates = history_aggregates(end)
    row = (
        Interaction.objects.filter(customer=customer)
        .values("customer")
        .annotate(**{name: aggregates[name] for name in wanted})
        .get()
    )
    assert (row["spend_year"], row["spend_recent"], row["spend_prior"]) == (135.0, 35.0, 100.0)
    assert row["purchase_days_2y"] == 2
    ten_days_ago = (end - timedelta(days=10)).timestamp() / 86400
    assert row["last_purchase"] == pytest.approx(ten_days_ago, abs=1)


def facts(**fields) -> CustomerFacts:
    values = {
        "customer_id": 1,
        "owner_id": None,
        "status": Customer.Status.ACTIVE,
        "customer_since": None,
        "churned_on": None,
        "has_contract": False,
        "monthly_value": Decimal("0"),
    }
    return CustomerFacts(**{**values, **fields})


def test_a_refund_lowers_the_spells_spend_but_does_not_keep_the_customer():
    """Given a shop customer who bought 90 on 1 January and was refunded 30 on 1 March
    (lapse after 90 days), then the spell's spend is 60 and it lapsed on 1 April, 90 days
    after the purchase: the refund is no sign of buying."""
    today = date(2026, 6, 1)
    spells = customer_spells(
        facts(),
        [],
        [(date(2026, 1, 1), Decimal("90"))],
        today=today,
        lapse_days=90,
        refunds=[(date(2026, 3, 1), Decimal("-30"))],
    )
    assert [(s.started_on, s.ended_on, s.end_reason, s.spend) for s in spells] == [
        (date(2026, 1, 1), date(2026, 4, 1), "lapsed", Decimal("60"))
    ]
    # 60 over the spell's 90 days, at 30.4375 days a month: 20.29 a month.
    assert monthly_value(facts(), spells[0], today) == Decimal("20.29")


def test_a_refund_alone_starts_no_spell_and_a_net_refund_is_worth_nothing():
    today = date(2026, 6, 1)
    assert customer_spells(facts(), [], [], today=today, lapse_days=90, refunds=[]) == []
    assert (
        customer_spells(
            facts(), [], [], today=today, lapse_days=90, refunds=[(date(2026, 3, 1), Decimal("-5"))]
        )
        == []
    )
    spells = customer_spells(
        facts(),
        [],
        [(date(2026, 5, 1), Decimal("10"))],
        today=today,
        lapse_days=90,
        refunds=[(date(2026, 5, 2), Decimal("-40"))],
    )
    assert spells[0].spend == Decimal("-30")
    assert monthly_value(facts(), spells[0], today) == Decimal("0.00")


@time_machine.travel(datetime(2026, 6, 1, 12, tzinfo=UTC), tick=False)
def test_the_membership_rebuild_reads_refunds_as_negative_spend(settings):
    """End to end through the streamed history: one spell, spend 90 - 30."""
    settings.LAPSED_AFTER_DAYS = 365
    customer = CustomerFactory(plan="", renewal_date=None, customer_since=None, monthly_value=0)
    Interaction.objects.bulk_create(
        [
            Interaction(
                customer=customer,
                kind=kind,
                subject="x",
                amount=Decimal(amount),
                occurred_at=datetime(2026, month, 1, 12, tzinfo=UTC),
            )
            for kind, amount, month in [(Kind.PURCHASE, "90", 1), (Kind.REFUND, "-30", 3)]
        ]
    )
    membership.rebuild(customer_ids=[customer.pk])
    spell = MembershipSpell.objects.get(customer=customer)
    assert (spell.started_on, spell.spend) == (date(2026, 1, 1), Decimal("60"))


# --- Timeline ---------------------------------------------------------------------------


def test_the_timeline_shows_a_refund_with_its_badge_and_minus(customer):
    refund = logged(customer, Kind.REFUND, "12.99")
    entry = interaction_entry(refund)
    assert (entry.kind, entry.kind_label, entry.badge) == ("refund", "Refund", "danger")
    assert "Amount: -€12.99" in entry.detail
