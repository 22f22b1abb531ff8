"""Customers with known histories get the strengths, probabilities and reasons expected."""

import io
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command
from django.utils import timezone

from customers.models import Customer
from retention.models import (
    CustomerRisk,
    Notification,
    RiskConfig,
    RiskEvent,
    RiskSnapshot,
    SignalSetting,
)
from retention.risk import model, planning, scoring
from retention.risk.backtest import backtest
from retention.risk.panels import describe_flags

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def today():
    return timezone.localdate()


def days_ago(days: float):
    return timezone.now() - timedelta(days=days)


def old_customer(**kwargs) -> Customer:
    """A shop's customer for two years: no plan or renewal date unless given."""
    kwargs.setdefault("customer_since", today() - timedelta(days=730))
    kwargs.setdefault("plan", "")
    kwargs.setdefault("monthly_value", 0)
    customer = CustomerFactory(renewal_date=kwargs.pop("renewal_date", None), **kwargs)
    Customer.objects.filter(pk=customer.pk).update(created_at=timezone.now() - timedelta(days=730))
    return customer


def interact(customer, days: float, kind: str = "call", **kwargs):
    if kind == "purchase":
        kwargs.setdefault("amount", 10)
    return InteractionFactory(customer=customer, kind=kind, occurred_at=days_ago(days), **kwargs)


def buyer(every: int, silent: int, times: int = 8, **kwargs) -> Customer:
    """Bought every `every` days, the last time `silent` days ago."""
    customer = old_customer(**kwargs)
    for n in range(times):
        interact(customer, silent + n * every, kind="purchase")
    return customer


def strengths(as_of=None) -> dict[int, dict[str, float | None]]:
    """Every scored customer's strength per signal (None: no data), as the job sees them."""
    config = planning.load_configuration()
    scores = scoring.assess_chunk(as_of or today(), 0, 10**9, config)
    return {
        int(pk): {
            key: (None if np.isnan(value) else float(value))
            for key, value in zip(scores.features.keys, scores.features.strengths[i], strict=True)
        }
        for i, pk in enumerate(scores.ids)
    }


def assessed(customer) -> CustomerRisk:
    scoring.compute_all(today())
    return CustomerRisk.objects.get(customer=customer)


def reasons_of(customer) -> dict[str, dict]:
    risk = CustomerRisk.objects.get(customer=customer)
    return {flag["key"]: flag for flag in describe_flags(risk.flags)}


class TestSilence:
    def test_within_their_own_rhythm_silence_is_zero(self):
        regular = buyer(every=10, silent=10)  # exactly one usual gap: not yet silent
        assert strengths()[regular.pk]["silence"] == 0.0

    def test_silence_grows_smoothly_against_their_own_rhythm(self):
        a, b, c = buyer(every=10, silent=15), buyer(every=10, silent=30), buyer(every=10, silent=90)
        found = strengths()
        assert 0 < found[a.pk]["silence"] < found[b.pk]["silence"] < found[c.pk]["silence"] < 1

    def test_a_loyal_buyer_pausing_long_is_not_as_silent_as_a_weekly_one(self):
        monthly, weekly = buyer(every=60, silent=70), buyer(every=7, silent=70)
        found = strengths()
        assert found[monthly.pk]["silence"] < found[weekly.pk]["silence"]

    def test_one_time_buyers_have_their_own_signal_graded_by_days(self):
        recent, lapsed = old_customer(), old_customer()
        interact(recent, 61, kind="purchase")
        interact(lapsed, 270, kind="purchase")
        found = strengths()
        assert found[recent.pk]["silence"] is None  # no rhythm yet
        assert 0 < found[recent.pk]["silence_new"] < found[lapsed.pk]["silence_new"]
        scoring.compute_all(today())
        assert (
            CustomerRisk.objects.get(customer=lapsed).score
            > CustomerRisk.objects.get(customer=recent).score
        )

    def test_outbound_contact_does_not_count_as_the_customer_being_active(self):
        customer = buyer(every=10, silent=60)
        interact(customer, 1, kind="email", direction="outbound")
        assert strengths()[customer.pk]["silence"] > 0.9

    def test_repeat_buying_lowers_the_risk(self):
        loyal, once = buyer(every=20, silent=20, times=12), old_customer()
        interact(once, 20, kind="purchase")
        scoring.compute_all(today())
        assert reasons_of(loyal)["repeat_buying"]["contribution"] < 0
        assert (
            CustomerRisk.objects.get(customer=loyal).score
            < CustomerRisk.objects.get(customer=once).score
        )


class TestSignalsWithoutData:
    def test_a_kind_never_logged_has_no_data_for_anyone(self):
        customer = buyer(every=10, silent=5)
        found = strengths()[customer.pk]
        for key in ("complaints", "open_ticket", "cancellation", "service_requests"):
            assert found[key] is None, key

    def test_once_the_business_logs_complaints_everyone_has_data(self):
        calm, angry = buyer(every=10, silent=5), buyer(every=10, silent=5)
        interact(angry, 3, kind="complaint")
        found = strengths()
        assert found[calm.pk]["complaints"] == 0.0
        assert found[angry.pk]["complaints"] > 0.5

    def test_no_data_adds_nothing_to_the_score(self):
        customer = buyer(every=10, silent=5)
        before = assessed(customer).score
        other = buyer(every=10, silent=5)
        interact(other, 2, kind="cancellation")  # now cancellations have data, 0 for customer
        assert assessed(customer).score == before


class TestComplaints:
    def test_recent_and_more_complaints_weigh_more(self):
        one_old, one_new, three = (buyer(every=10, silent=5) for _ in range(3))
        interact(one_old, 80, kind="complaint")
        interact(one_new, 2, kind="complaint")
        for days in (2, 5, 9):
            interact(three, days, kind="complaint")
        found = strengths()
        assert found[one_old.pk]["complaints"] < found[one_new.pk]["complaints"]
        assert found[one_new.pk]["complaints"] < found[three.pk]["complaints"]

    @pytest.mark.parametrize(("open_days", "strong"), [(7, False), (8, True), (30, True)])
    def test_a_complaint_open_longer_than_the_threshold(self, open_days, strong):
        customer = buyer(every=10, silent=5)
        interact(customer, open_days - 0.01, kind="complaint")  # just under N days ago
        value = strengths()[customer.pk]["open_ticket"]
        assert (value > 0) is strong

    def test_a_resolved_complaint_is_not_open_but_was_open_before_it_was_resolved(self):
        customer = buyer(every=10, silent=5, times=20)
        complaint = interact(customer, 40, kind="complaint")
        complaint.resolved_at = days_ago(10)
        complaint.save()
        assert strengths()[customer.pk]["open_ticket"] == 0.0
        twenty_days_ago = today() - timedelta(days=20)
        assert strengths(twenty_days_ago)[customer.pk]["open_ticket"] > 0


class TestProbabilityAndReasons:
    def test_reasons_add_up_to_the_score(self):
        customers = [buyer(every=e, silent=s) for e, s in ((10, 40), (30, 5), (7, 200))]
        interact(customers[0], 3, kind="complaint")
        interact(customers[1], 20, kind="service_request")
        scoring.compute_all(today())
        for customer in customers:
            risk = CustomerRisk.objects.get(customer=customer)
            total = risk.base + sum(flag["contribution"] for flag in risk.flags)
            assert total == risk.score
            assert risk.flags == sorted(risk.flags, key=lambda f: -f["contribution"])

    def test_one_signal_alone_is_exactly_its_share(self):
        weights = planning.Weights(-1.0, {"a": 2.0})
        explained = model.Explained(np.array([[1.0], [np.nan]]), ["a"], weights)
        assert list(explained.score) == [73, 27]  # sigmoid(1) and sigmoid(-1)
        assert list(explained.points[:, 0]) == [46, 0]
        assert list(explained.base) == [27, 27]

    @pytest.mark.parametrize(
        ("score", "level"), [(32, "low"), (33, "medium"), (66, "medium"), (67, "high")]
    )
    def test_levels_are_probability_bands(self, score, level):
        config = planning.load_configuration()
        assert planning.level_for(score, config) == level
        assert scoring.LEVELS[model.levels(np.array([score]), config)[0]] == level

    def test_editable_bands(self):
        RiskConfig.objects.update_or_create(pk=1, defaults={"medium_from": 10, "high_from": 20})
        customer = buyer(every=10, silent=35)
        assert assessed(customer).level == "high"

    def test_the_score_ranks_with_many_distinct_values(self):
        for n in range(30):
            buyer(every=5 + n, silent=3 * n + 1)
        scoring.compute_all(today())
        scores = set(CustomerRisk.objects.values_list("score", flat=True))
        assert len(scores) >= 15

    def test_a_cancellation_makes_the_risk_high(self):
        customer = buyer(every=10, silent=5)
        interact(customer, 2, kind="cancellation")
        assert assessed(customer).level == "high"

    def test_reasons_count_days_to_the_date_the_score_is_for(self):
        customer = buyer(every=10, silent=48)
        scoring.compute_all(today())
        silence = reasons_of(customer)["silence"]
        assert silence["reason"] == "No activity for 48 days; usually every 10 days."
        [past] = describe_flags([silence], as_of=today() - timedelta(days=8))
        assert past["reason"] == "No activity for 40 days; usually every 10 days."

    def test_disabled_signal_and_settings_change_the_result(self):
        customer = buyer(every=10, silent=5)
        interact(customer, 3, kind="complaint")
        with_complaint = assessed(customer).score
        planning.ensure_signal_settings()
        SignalSetting.objects.filter(key="complaints").update(enabled=False)
        assert assessed(customer).score < with_complaint

    def test_value_at_risk_is_probability_times_value(self):
        plan = buyer(every=10, silent=60, monthly_value=Decimal("300"))
        shop = buyer(every=30, silent=5, times=12)  # 12 x 10 in the last year: 10 a month
        scoring.compute_all(today())
        for customer, value in ((plan, Decimal("300")), (shop, Decimal("10"))):
            risk = CustomerRisk.objects.get(customer=customer)
            assert risk.value == value
            assert abs(risk.expected_loss - value * risk.score / 100) <= value / 100

    def test_expected_next_purchase_follows_the_rhythm(self):
        customer = buyer(every=30, silent=10, times=6)
        risk = assessed(customer)
        assert risk.expected_purchase_on == today() + timedelta(days=20)
        assert assessed(old_customer()).expected_purchase_on is None


class TestWhoIsScored:
    def test_churned_and_archived_customers_are_not_scored_today(self):
        churned = buyer(every=10, silent=5, status="churned", churned_on=today())
        archived = buyer(every=10, silent=5)
        Customer.objects.filter(pk=archived.pk).update(archived_at=timezone.now())
        found = strengths()
        assert churned.pk not in found and archived.pk not in found

    def test_imported_history_is_scored_for_a_past_date(self):
        """created_at is the import time; the relationship began at the first purchase."""
        customer = CustomerFactory(customer_since=None, status="active")
        for days in (400, 370, 340, 310):
            interact(customer, days, kind="purchase")
        assert customer.created_at > days_ago(1)
        assert customer.pk in strengths(today() - timedelta(days=300))
        assert customer.pk not in strengths(today() - timedelta(days=401))

    def test_customers_who_churned_later_are_scored_as_they_were(self):
        customer = buyer(every=10, silent=5, status="churned", churned_on=today() - timedelta(5))
        assert customer.pk in strengths(today() - timedelta(days=30))
        assert customer.pk not in strengths(today() - timedelta(days=4))


class TestPastDates:
    def test_a_past_date_writes_only_that_dates_history(self, manager):
        customer = buyer(every=10, silent=100, owner=manager)
        past = today() - timedelta(days=30)
        out = io.StringIO()
        call_command("compute_risk", "--as-of", past.isoformat(), stdout=out)
        assert "written to that date's history only" in out.getvalue()
        assert not CustomerRisk.objects.exists()
        assert not RiskEvent.objects.exists() and not Notification.objects.exists()
        snapshot = RiskSnapshot.objects.get(customer=customer, as_of=past)
        assert snapshot.score is not None and snapshot.score > 0

    def test_a_past_date_after_today_leaves_the_current_risk_as_it_is(self):
        customer = buyer(every=10, silent=100)
        scoring.compute_all(today())
        current = CustomerRisk.objects.get(customer=customer)
        events = RiskEvent.objects.count()
        scoring.compute_all(today() - timedelta(days=60))
        again = CustomerRisk.objects.get(customer=customer)
        assert (again.score, again.computed_for, again.flags) == (
            current.score,
            current.computed_for,
            current.flags,
        )
        assert RiskEvent.objects.count() == events
        past = RiskSnapshot.objects.get(customer=customer, as_of=today() - timedelta(days=60))
        assert past.score < current.score  # 40 days silent then, 100 now

    def test_as_of_reads_only_data_up_to_that_date(self):
        customer = buyer(every=10, silent=50)
        interact(customer, 1, kind="purchase")
        then = strengths(today() - timedelta(days=2))[customer.pk]["silence"]
        now = strengths()[customer.pk]["silence"]
        assert then > 0.5 and now == 0.0


class TestRecompute:
    def test_rerunning_the_same_day_writes_nothing(self, django_assert_max_num_queries):
        for n in range(5):
            buyer(every=10, silent=10 * n + 5)
        first = scoring.compute_all(today())
        assert first.changed == 5
        again = scoring.compute_all(today())
        assert again.changed == 0 and again.rose == 0
        assert RiskSnapshot.objects.count() == 5

    def test_chunks_cover_every_customer_once(self):
        customers = [buyer(every=10, silent=5, times=2) for _ in range(7)]
        outcome = scoring.compute_all(today(), chunk_size=3)
        assert outcome.seen == 7
        assert CustomerRisk.objects.filter(customer__in=customers).count() == 7

    def test_a_rise_is_in_the_timeline_and_notifies_the_owner(self, admin_client, manager):
        customer = buyer(every=10, silent=5, owner=manager)
        scoring.compute_all(today())
        interact(customer, 1, kind="cancellation")
        scoring.compute_all(today())
        event = RiskEvent.objects.get(customer=customer, kind="level_up")
        assert event.to_level == "high" and "cancellation" in event.summary
        [notice] = Notification.objects.filter(recipient=manager)
        assert "likely to be lost within 90 days" in notice.message
        html = admin_client.get(customer.get_absolute_url()).content.decode()
        assert "Risk Low → High" in html
        assert "Asked to cancel or not renew 1 day ago." in html  # the reason on the risk card

    def test_customers_no_longer_scored_drop_to_low(self):
        customer = buyer(every=10, silent=200)
        assert assessed(customer).level != "low"
        Customer.objects.filter(pk=customer.pk).update(status="churned", churned_on=today())
        risk = assessed(customer)
        assert (risk.level, risk.score, risk.flags) == ("low", None, [])


def test_backtest_ranks_and_compares_with_the_baseline():
    """Customers who stopped buying 100+ days ago did not come back; regular ones did."""
    as_of = today() - timedelta(days=100)
    for n in range(40):
        stopped = buyer(every=10, silent=130 + n)
        regular = buyer(every=10, silent=2 + n % 5, times=30)
        assert stopped.pk != regular.pk
    for n in range(20):
        once = old_customer()
        interact(once, 150 + n, kind="purchase")
    report = backtest(as_of, 90)
    assert report["customers"] == 100
    assert report["lost"] == 60  # the stopped and the one-time buyers
    assert report["model"]["auc"] > 0.9
    assert report["model"]["top20"]["precision"] == 1.0
    assert set(report["baseline"]) >= {"auc", "top10", "top20"}
    assert len(report["calibration"]) == 10
    assert not CustomerRisk.objects.exists() and not RiskSnapshot.objects.exists()
