"""Loyalty rules: earning from each rule, expiry, tiers, badges, redemption, coupons."""

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers import services
from customers.models import Interaction
from customers.timeline import timeline_page
from retention.loyalty import (
    anniversaries,
    expiry,
    ledger,
    nightly,
    redemption,
    selectors,
    tiers,
)
from retention.loyalty.tasks import nightly_loyalty
from retention.models import (
    ChecklistTemplate,
    Coupon,
    CustomerBadge,
    LoyaltySettings,
    PointsAccount,
    PointsEntry,
    PointsMonth,
    Reward,
    Tier,
)
from retention.onboarding import checklists

from .factories import CustomerFactory, InteractionFactory, RewardFactory

pytestmark = pytest.mark.django_db


def rules(**changes) -> LoyaltySettings:
    settings = LoyaltySettings.load()
    for field, value in changes.items():
        setattr(settings, field, value)
    settings.purchases_since = changes.get("purchases_since", date(2000, 1, 1))
    settings.save()
    return settings


def account(customer) -> PointsAccount:
    return PointsAccount.objects.select_related("tier").get(customer=customer)


def badges(customer) -> set[str]:
    return set(
        CustomerBadge.objects.filter(account__customer=customer).values_list("kind", flat=True)
    )


def give(customer, points: int, key: str = "") -> PointsEntry:
    return ledger.points_earn(
        customer=customer,
        points=points,
        reason="Test",
        source_key=key or f"test:{points}:{id(key)}",
    )


# --- Earning -------------------------------------------------------------------------


def test_a_logged_purchase_earns_points_per_unit_spent_once(customer, manager):
    rules(points_per_unit=Decimal("2"))
    interaction = services.interaction_log(
        customer=customer,
        recorded_by=manager,
        kind=Interaction.Kind.PURCHASE,
        subject="Annual plan",
        amount=Decimal("120.75"),
    )
    assert account(customer).balance == 241  # 120.75 × 2, rounded down
    assert badges(customer) == {CustomerBadge.Kind.FIRST_PURCHASE}
    # The same purchase seen again (a signal re-sent, the nightly job) pays nothing more.
    assert ledger.award_purchase(interaction=interaction) is None
    nightly_loyalty.delay()
    assert account(customer).balance == 241
    assert PointsEntry.objects.filter(customer=customer).count() == 1


def test_purchases_before_the_programme_started_earn_nothing(customer):
    rules(purchases_since=timezone.localdate())
    InteractionFactory(
        customer=customer,
        kind="purchase",
        amount=Decimal("50"),
        occurred_at=timezone.now() - timedelta(days=3),
    )
    nightly_loyalty.delay()
    assert not PointsEntry.objects.exists()


def test_imported_purchases_are_awarded_by_the_nightly_job_once(customer):
    """CSV imports bulk-create interactions (no post_save): the nightly job pays them."""
    rules()
    other = CustomerFactory()
    Interaction.objects.bulk_create(
        [
            Interaction(customer=customer, kind="purchase", subject="A", amount=Decimal("10")),
            Interaction(customer=customer, kind="purchase", subject="B", amount=Decimal("5.50")),
            Interaction(customer=other, kind="purchase", subject="C", amount=Decimal("0.40")),
            Interaction(customer=other, kind="call", subject="Not a purchase"),
        ]
    )
    assert not PointsEntry.objects.exists()
    nightly_loyalty.delay()
    assert account(customer).balance == 15
    assert CustomerBadge.Kind.FIRST_PURCHASE in badges(customer)
    assert not PointsEntry.objects.filter(customer=other).exists()  # 0.40 earns 0 points
    nightly_loyalty.delay()
    assert account(customer).balance == 15
    assert PointsEntry.objects.count() == 2


def test_completing_onboarding_earns_the_bonus_and_badge_once(customer, manager):
    rules(onboarding_bonus=150)
    template = ChecklistTemplate.objects.create(name="Basics")
    template.steps.create(title="Kick-off call", position=0)
    checklist = checklists.checklist_start(customer=customer, template=template)
    step = checklist.steps.get()
    checklists.step_complete(step=step, user=manager)
    assert account(customer).balance == 150
    assert CustomerBadge.Kind.ONBOARDING_COMPLETED in badges(customer)
    # Reopened and completed again: still one bonus.
    checklists.step_reopen(step=step, user=manager)
    checklists.step_complete(step=checklist.steps.get(), user=manager)
    assert account(customer).balance == 150


def test_answering_a_survey_earns_the_feedback_bonus_once(customer):
    rules(survey_bonus=30)
    assert ledger.award_feedback(customer=customer, response_id=7) is not None
    assert ledger.award_feedback(customer=customer, response_id=7) is None
    ledger.award_feedback(customer=customer, response_id=8)
    assert account(customer).balance == 60
    assert badges(customer) == {CustomerBadge.Kind.SURVEY_ANSWERED}


def test_a_referral_pays_one_referrer_per_new_customer(customer, manager):
    rules(referral_bonus=200)
    newcomer = CustomerFactory(name="Grace Hopper")
    ledger.award_referral(customer=customer, referred=newcomer, author=manager)
    assert account(customer).balance == 200
    entry = PointsEntry.objects.get(customer=customer)
    assert (entry.reason, entry.author) == ("Referred Grace Hopper", manager)
    with pytest.raises(ValidationError, match="already rewarded"):
        ledger.award_referral(customer=CustomerFactory(), referred=newcomer, author=manager)
    with pytest.raises(ValidationError, match="cannot refer themselves"):
        ledger.award_referral(customer=customer, referred=customer, author=manager)
    assert account(customer).balance == 200


def test_anniversaries_pay_once_a_year_and_award_the_one_year_badge():
    rules(anniversary_bonus=50)
    with time_machine.travel(datetime(2026, 6, 10, 12, tzinfo=timezone.get_current_timezone())):
        today = timezone.localdate()
        two_years = CustomerFactory(customer_since=date(2024, 6, 9))  # yesterday: caught up
        later_this_year = CustomerFactory(customer_since=date(2023, 9, 1))
        new = CustomerFactory(customer_since=today - timedelta(days=30))
        churned = CustomerFactory(customer_since=date(2024, 6, 10), status="churned")
        nightly_loyalty.delay()
        nightly_loyalty.delay()  # a re-run pays nothing twice
        assert account(two_years).balance == 50
        assert account(later_this_year).balance == 0
        assert not PointsAccount.objects.filter(customer__in=[new, churned]).exists()
        assert CustomerBadge.Kind.ONE_YEAR in badges(two_years)
        assert CustomerBadge.Kind.ONE_YEAR in badges(later_this_year)
        assert "2 years" in PointsEntry.objects.get(customer=two_years).reason
    with time_machine.travel(datetime(2026, 9, 1, 12, tzinfo=timezone.get_current_timezone())):
        nightly_loyalty.delay()
        assert account(later_this_year).balance == 50
    with time_machine.travel(datetime(2027, 6, 9, 12, tzinfo=timezone.get_current_timezone())):
        nightly_loyalty.delay()
        assert account(two_years).balance == 100


def test_leap_day_customers_celebrate_on_the_28th_in_other_years():
    rules(anniversary_bonus=10)
    leap = CustomerFactory(customer_since=date(2024, 2, 29))
    assert anniversaries.award_anniversaries(today=date(2025, 2, 28)) == 1
    assert account(leap).balance == 10


# --- Expiry ---------------------------------------------------------------------------


def test_expiry_takes_the_unspent_part_of_old_points_first_in_first_out(customer):
    rules(expiry_months=12)
    reward = RewardFactory(points_price=30)
    tz = timezone.get_current_timezone()
    with time_machine.travel(datetime(2025, 1, 15, tzinfo=tz)):
        give(customer, 100, "old")
    with time_machine.travel(datetime(2025, 8, 1, tzinfo=tz)):
        redemption.reward_redeem(customer=customer, reward=reward)  # spends 30 of the old 100
    with time_machine.travel(datetime(2025, 12, 20, tzinfo=tz)):
        give(customer, 50, "recent")
    with time_machine.travel(datetime(2026, 1, 10, tzinfo=tz)):
        assert expiry.expire_points() == 0  # nothing is 12 months old yet
    with time_machine.travel(datetime(2026, 1, 20, tzinfo=tz)):
        assert expiry.expire_points() == 70
        assert expiry.expire_points() == 0  # the same night again: nothing more
        nightly_loyalty.delay()
    state = account(customer)
    assert state.balance == 50  # only the recent points remain
    assert state.lifetime_points == 150  # expiry does not cost the tier
    expired = PointsEntry.objects.get(kind=PointsEntry.Kind.EXPIRE)
    assert expired.points == -70
    with time_machine.travel(datetime(2027, 1, 1, tzinfo=tz)):
        assert expiry.expire_points() == 50
    assert account(customer).balance == 0


def test_points_never_expire_when_no_expiry_is_set(customer):
    rules(expiry_months=None)
    with time_machine.travel(datetime(2020, 1, 1, tzinfo=timezone.get_current_timezone())):
        give(customer, 100, "ancient")
    assert expiry.expire_points() == 0
    assert account(customer).balance == 100


# --- Tiers and badges ----------------------------------------------------------------------


def test_tiers_follow_lifetime_points_up_and_down(customer, manager):
    rules()
    silver, gold = Tier.objects.get(name="Silver"), Tier.objects.get(name="Gold")
    give(customer, 499, "a")
    assert account(customer).tier.name == "Bronze"
    give(customer, 1, "b")
    assert account(customer).tier == silver
    give(customer, 1500, "c")
    assert account(customer).tier == gold
    # Spending points keeps the tier...
    redemption.reward_redeem(customer=customer, reward=RewardFactory(points_price=1800))
    assert account(customer).tier == gold
    # ...a correction downwards can lower it...
    ledger.points_adjust(customer=customer, points=-100, reason="Refunded order", author=manager)
    assert (account(customer).tier, account(customer).lifetime_points) == (silver, 1900)
    # ...and so can a raised threshold (the admin recomputes every account).
    silver.threshold = 1950
    silver.save()
    tiers.tiers_recompute()
    assert account(customer).tier.name == "Bronze"


def test_tier_progress_shows_the_way_to_the_next_tier():
    all_tiers = tiers.tiers()
    halfway = tiers.tier_progress(1250, all_tiers)
    assert (halfway.tier.name, halfway.next_tier.name) == ("Silver", "Gold")
    assert (halfway.points_to_next, halfway.percent) == (750, 50)
    top = tiers.tier_progress(5000, all_tiers)
    assert (top.tier.name, top.next_tier, top.percent) == ("Gold", None, 100)


def test_badges_are_awarded_once(customer):
    rules()
    for number in range(3):
        InteractionFactory(
            customer=customer, kind="purchase", amount=Decimal("10"), subject=f"{number}"
        )
    assert CustomerBadge.objects.filter(account__customer=customer).count() == 1
    assert account(customer).balance == 30


# --- Redemption, adjustments, coupons --------------------------------------------------


def test_redeeming_deducts_points_issues_a_coupon_and_shows_in_the_timeline(customer):
    rules(coupon_valid_days=30)
    give(customer, 250, "start")
    reward = RewardFactory(name="10% off", points_price=100, stock=5)
    coupon = redemption.reward_redeem(customer=customer, reward=reward)
    assert account(customer).balance == 150
    reward.refresh_from_db()
    assert reward.stock == 4
    assert len(coupon.code) == 11 and coupon.code[5] == "-"
    assert set(coupon.code.replace("-", "")) <= set(redemption.CODE_ALPHABET)
    assert coupon.expires_on == timezone.localdate() + timedelta(days=30)
    assert coupon.entry.points == -100
    entry = timeline_page(customer, cursor=None, size=10).entries[0]
    assert entry.source == "loyalty"
    assert coupon.code in entry.detail and "Redeemed: 10% off" in entry.title


def test_redeeming_without_enough_points_is_refused_clearly_and_writes_nothing(customer):
    reward = RewardFactory(points_price=100, stock=3)
    with pytest.raises(ValidationError, match="Not enough points: 0 available, 100 needed"):
        redemption.reward_redeem(customer=customer, reward=reward)
    give(customer, 99, "almost")
    with pytest.raises(ValidationError, match="Not enough points: 99 available, 100 needed"):
        redemption.reward_redeem(customer=customer, reward=reward)
    reward.refresh_from_db()
    assert (reward.stock, account(customer).balance) == (3, 99)
    assert not Coupon.objects.exists()
    assert PointsEntry.objects.filter(kind=PointsEntry.Kind.REDEEM).count() == 0


def test_out_of_stock_and_withdrawn_rewards_cannot_be_redeemed(customer):
    give(customer, 1000, "rich")
    sold_out = RewardFactory(stock=0)
    with pytest.raises(ValidationError, match="out of stock"):
        redemption.reward_redeem(customer=customer, reward=sold_out)
    assert account(customer).balance == 1000  # the deduction was rolled back
    withdrawn = RewardFactory(active=False)
    with pytest.raises(ValidationError, match="no longer offered"):
        redemption.reward_redeem(customer=customer, reward=withdrawn)
    last = RewardFactory(stock=1, points_price=10)
    redemption.reward_redeem(customer=customer, reward=last)
    with pytest.raises(ValidationError, match="out of stock"):
        redemption.reward_redeem(customer=customer, reward=last)
    assert account(customer).balance == 990


def test_a_negative_adjustment_beyond_the_balance_is_refused(customer, manager):
    give(customer, 40, "some")
    with pytest.raises(ValidationError) as error:
        ledger.points_adjust(customer=customer, points=-41, reason="Oops", author=manager)
    assert "at most 40 can be taken off" in str(error.value)
    with pytest.raises(ValidationError, match="Say why"):
        ledger.points_adjust(customer=customer, points=5, reason="  ", author=manager)
    ledger.points_adjust(customer=customer, points=-40, reason="Duplicate award", author=manager)
    assert account(customer).balance == 0
    entries = list(PointsEntry.objects.filter(customer=customer).order_by("id"))
    assert [(e.kind, e.points) for e in entries] == [("earn", 40), ("adjust", -40)]


def test_the_database_refuses_a_negative_balance(customer):
    give(customer, 10, "ten")
    with pytest.raises(IntegrityError), transaction.atomic():
        PointsAccount.objects.filter(customer=customer).update(balance=-1)


def test_accounts_rebuild_from_the_ledger(customer):
    """The repair used after bulk writes and merges: the ledger is the truth."""
    give(customer, 600, "a")
    PointsAccount.objects.filter(customer=customer).update(balance=0, lifetime_points=0, tier=None)
    ledger.accounts_rebuild([customer.pk])
    state = account(customer)
    assert (state.balance, state.lifetime_points, state.tier.name) == (600, 600, "Silver")


def test_coupon_codes_are_unique_across_100000_issued(customer):
    """100,000 codes from the generator, stored under the real unique constraint.

    Inserted with executemany rather than model instances: the same table and
    constraint, about ten times faster than bulk_create for this many rows.
    """
    reward = RewardFactory()
    total = 100_000
    now = timezone.now()
    expires = timezone.localdate() + timedelta(days=30)
    codes = [redemption.generate_code() for _ in range(total)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO retention_pointsentry "
            "(customer_id, kind, points, reason, source_key, created_at) "
            "VALUES (%s, 'redeem', -1, 'bulk', '', %s)",
            [(customer.pk, now)] * total,
        )
        entry_ids = PointsEntry.objects.filter(reason="bulk").values_list("pk", flat=True)
        cursor.executemany(
            "INSERT INTO retention_coupon (code, customer_id, reward_id, entry_id, points_spent, "
            "reward_name, reward_kind, expires_on, created_at) "
            "VALUES (%s, %s, %s, %s, 1, 'bulk', 'percent_off', %s, %s)",
            [
                (code, customer.pk, reward.pk, entry_id, expires, now)
                for code, entry_id in zip(codes, entry_ids, strict=True)
            ],
        )
    stored = Coupon.objects.values_list("code", flat=True)
    assert stored.count() == total
    assert stored.distinct().count() == total


def test_a_code_collision_is_retried(customer, monkeypatch):
    give(customer, 500, "some")
    reward = RewardFactory(points_price=10)
    first = redemption.reward_redeem(customer=customer, reward=reward)
    codes = iter([first.code, first.code, "ZZZZZ-ZZZZZ"])
    monkeypatch.setattr(redemption, "generate_code", lambda: next(codes))
    second = redemption.reward_redeem(customer=customer, reward=reward)
    assert second.code == "ZZZZZ-ZZZZZ"
    assert account(customer).balance == 480


def test_coupons_are_used_once_and_expire(customer, staff_user):
    give(customer, 500, "some")
    reward = RewardFactory(points_price=10)
    coupon = redemption.reward_redeem(customer=customer, reward=reward)
    redemption.coupon_mark_used(coupon=coupon, user=staff_user)
    assert coupon.status() == "used" and coupon.used_by == staff_user
    with pytest.raises(ValidationError, match="already used"):
        redemption.coupon_mark_used(coupon=coupon, user=staff_user)
    stale = redemption.reward_redeem(customer=customer, reward=reward)
    Coupon.objects.filter(pk=stale.pk).update(expires_on=timezone.localdate() - timedelta(days=1))
    stale.refresh_from_db()
    assert stale.status() == "expired"
    with pytest.raises(ValidationError, match="expired on"):
        redemption.coupon_mark_used(coupon=stale, user=staff_user)


def test_the_ledger_cannot_be_edited_or_deleted_in_the_admin(admin_client, customer):
    entry = give(customer, 5, "five")
    assert admin_client.get(f"/admin/retention/pointsentry/{entry.pk}/delete/").status_code == 403
    response = admin_client.post(
        f"/admin/retention/pointsentry/{entry.pk}/change/", {"points": 500, "reason": "x"}
    )
    assert response.status_code == 403
    entry.refresh_from_db()
    assert entry.points == 5


def test_reward_values_display():
    assert Reward(kind="percent_off", value=Decimal("10.00")).value_display == "10 %"
    assert Reward(kind="amount_off", value=Decimal("5")).value_display == "€5.00"  # EUR, en
    assert Reward(kind="free_month").value_display == ""


def test_merging_two_customers_with_points_keeps_every_point(
    admin_user, django_capture_on_commit_callbacks
):
    rules()
    survivor, duplicate = CustomerFactory(), CustomerFactory()
    give(survivor, 300, "survivor")
    give(duplicate, 250, "duplicate")
    redemption.reward_redeem(customer=duplicate, reward=RewardFactory(points_price=50))
    with django_capture_on_commit_callbacks(execute=True):
        services.customer_merge(survivor=survivor, duplicate=duplicate, merged_by=admin_user)
    state = account(survivor)
    assert (state.balance, state.lifetime_points, state.tier.name) == (500, 550, "Silver")
    assert PointsEntry.objects.filter(customer=survivor).count() == 3
    assert Coupon.objects.get().customer == survivor
    assert ledger.accounts_reconcile() == []


def test_the_monthly_totals_stay_in_step_with_the_ledger(customer, manager):
    """The overview reads PointsMonth; every kind of write keeps it equal to the ledger."""
    rules(expiry_months=1)
    tz = timezone.get_current_timezone()
    with time_machine.travel(datetime(2026, 1, 10, tzinfo=tz)):
        give(customer, 300, "jan")
        Interaction.objects.bulk_create(
            [Interaction(customer=customer, kind="purchase", subject="A", amount=Decimal("40"))]
        )
        nightly.award_unawarded_purchases()
        redemption.reward_redeem(customer=customer, reward=RewardFactory(points_price=100))
        ledger.points_adjust(customer=customer, points=-20, reason="Fix", author=manager)
    with time_machine.travel(datetime(2026, 3, 5, tzinfo=tz)):
        expiry.expire_points()
        kept = list(PointsMonth.objects.values_list("month", "issued", "redeemed", "expired"))
        assert kept == [(date(2026, 1, 1), 340, 100, 0), (date(2026, 3, 1), 0, 0, 220)]
        ledger.months_rebuild()
        assert (
            list(PointsMonth.objects.values_list("month", "issued", "redeemed", "expired")) == kept
        )
        totals = selectors.monthly_totals(months=3)
    assert [row["issued"] for row in totals] == [340, 0, 0]
    assert [row["expired"] for row in totals] == [0, 0, 220]
