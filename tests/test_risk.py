"""Customers with known histories get exactly the flags, scores and levels expected."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import Customer
from retention.models import (
    CustomerRisk,
    Notification,
    RiskEvent,
    RiskSnapshot,
    SignalSetting,
)
from retention.risk import planning, scoring
from retention.risk.backtest import backtest
from retention.risk.panels import describe_flags

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db

# Default weights: inactivity 25, complaints 25, service_requests 15,
# discount_near_renewal 20, renewal_no_contact 20, cancellation 40.


def today():
    return timezone.localdate()


def days_ago(days: int):
    return timezone.now() - timedelta(days=days)


def old_customer(**kwargs) -> Customer:
    """A customer for two years, no renewal date unless given."""
    kwargs.setdefault("customer_since", today() - timedelta(days=730))
    customer = CustomerFactory(renewal_date=kwargs.pop("renewal_date", None), **kwargs)
    Customer.objects.filter(pk=customer.pk).update(created_at=timezone.now() - timedelta(days=730))
    return customer


def interact(customer, days: int, kind: str = "call", **kwargs):
    if kind == "purchase":
        kwargs.setdefault("amount", 10)
    return InteractionFactory(customer=customer, kind=kind, occurred_at=days_ago(days), **kwargs)


def assessed(customer) -> CustomerRisk:
    scoring.compute_all(today())
    return CustomerRisk.objects.get(customer=customer)


def flag_keys(customer_risk: CustomerRisk) -> list[str]:
    return sorted(flag["key"] for flag in customer_risk.flags)


class TestEachSignalAlone:
    def test_a_healthy_regular_customer_has_no_flags(self):
        customer = old_customer()
        for day in (5, 20, 35, 50):
            interact(customer, day)
        result = assessed(customer)
        assert flag_keys(result) == [] and result.score == 0 and result.level == "low"

    def test_inactivity_relative_to_the_customers_own_rhythm(self):
        # Contact every 10 days, then silence for 40 days: 4x the usual gap (limit 3x = 30).
        customer = old_customer()
        for day in (40, 50, 60, 70, 80):
            interact(customer, day)
        result = assessed(customer)
        assert flag_keys(result) == ["inactivity"]
        evidence = result.flags[0]["evidence"]
        assert evidence["usual_gap"] == 10.0 and evidence["limit"] == 30
        assert evidence["since"] == (today() - timedelta(days=40)).isoformat()
        [flag] = describe_flags(result.flags)
        assert flag["reason"] == "No contact for 40 days; usually every 10.0 days."

    @pytest.mark.parametrize("silent_days, flagged", [(30, False), (31, True)])
    def test_inactivity_boundary_is_exclusive(self, silent_days, flagged):
        customer = old_customer()
        for step in range(5):
            interact(customer, silent_days + 10 * step)
        assert (flag_keys(assessed(customer)) == ["inactivity"]) is flagged

    @pytest.mark.parametrize("silent_days, flagged", [(60, False), (61, True)])
    def test_without_a_rhythm_the_window_applies(self, silent_days, flagged):
        customer = old_customer()
        interact(customer, silent_days)  # one contact: no rhythm
        assert ("inactivity" in flag_keys(assessed(customer))) is flagged

    def test_complaints_and_negative_feedback(self):
        customer = old_customer()
        interact(customer, 5, kind="complaint", subject="Broken again")
        result = assessed(customer)
        assert flag_keys(result) == ["complaints"]
        assert result.flags[0]["evidence"] == {"count": 1, "window": 90}

    def test_negative_sentiment_counts_as_negative_feedback(self):
        customer = old_customer()
        interact(customer, 5, kind="call", sentiment="negative")
        assert flag_keys(assessed(customer)) == ["complaints"]

    def test_a_complaint_outside_the_window_is_forgotten(self):
        customer = old_customer()
        interact(customer, 95, kind="complaint")
        for day in (3, 13, 23, 33, 43):
            interact(customer, day)
        assert flag_keys(assessed(customer)) == []

    @pytest.mark.parametrize("requests, flagged", [(2, False), (3, True)])
    def test_service_requests_threshold(self, requests, flagged):
        customer = old_customer()
        for index in range(requests):
            interact(customer, 2 + index, kind="service_request")
        assert (flag_keys(assessed(customer)) == ["service_requests"]) is flagged

    @pytest.mark.parametrize("days_to_renewal, flagged", [(60, True), (61, False), (-10, True)])
    def test_discount_request_near_renewal(self, days_to_renewal, flagged):
        customer = old_customer(renewal_date=today() + timedelta(days=days_to_renewal))
        interact(customer, 3, kind="discount_request")
        assert ("discount_near_renewal" in flag_keys(assessed(customer))) is flagged

    @pytest.mark.parametrize(
        "days_to_renewal, last_contact, flagged",
        [(30, 30, True), (31, 30, False), (30, 29, False), (0, 45, True)],
    )
    def test_renewal_near_with_no_recent_contact(self, days_to_renewal, last_contact, flagged):
        customer = old_customer(renewal_date=today() + timedelta(days=days_to_renewal))
        interact(customer, last_contact)
        assert ("renewal_no_contact" in flag_keys(assessed(customer))) is flagged

    def test_reasons_say_the_days_as_a_reader_would(self):
        def reasons(customer):
            flags = describe_flags(assessed(customer).flags)
            return {flag["key"]: flag["reason"] for flag in flags}

        renewing = old_customer(renewal_date=today() + timedelta(days=1))
        interact(renewing, 40, kind="discount_request")
        assert reasons(renewing) == {
            "discount_near_renewal": "1 discount or contract-change request(s); renewal in 1 day.",
            "renewal_no_contact": "Renewal in 1 day, last contact 40 days ago.",
        }
        leaving = old_customer()
        interact(leaving, 20)
        interact(leaving, 0, kind="cancellation")
        assert reasons(leaving) == {"cancellation": "Asked to cancel or not renew today."}

    def test_cancellation_forces_high(self):
        customer = old_customer()
        for day in (3, 13, 23):
            interact(customer, day)
        interact(customer, 1, kind="cancellation")
        result = assessed(customer)
        assert flag_keys(result) == ["cancellation"]
        assert result.level == "high"


class TestScoring:
    def test_no_interactions_and_new_customer_has_no_score(self):
        customer = CustomerFactory(customer_since=today())
        result = assessed(customer)
        assert result.score is None and result.level == "low" and result.flags == []

    def test_no_interactions_ever_for_an_old_customer_is_inactivity_with_renormalised_weights(self):
        customer = old_customer()
        result = assessed(customer)
        # Only inactivity has data (no history, no renewal date): it carries the whole score.
        assert flag_keys(result) == ["inactivity"]
        assert result.flags[0]["evidence"]["never"] is True
        assert result.flags[0]["contribution"] == 100.0
        assert result.score == 100 and result.level == "high"

    def test_combination_adds_contributions(self):
        customer = old_customer()
        interact(customer, 1, kind="complaint")
        for day in (2, 3, 4):
            interact(customer, day, kind="service_request")
        result = assessed(customer)
        # Data: inactivity 25, complaints 25, service 15, cancellation 40 = 105.
        assert flag_keys(result) == ["complaints", "service_requests"]
        assert result.score == round(100 * 25 / 105 + 100 * 15 / 105)
        assert result.level == "medium"

    def test_onboarding_customers_use_their_own_weights(self):
        customer = old_customer(status=Customer.Status.ONBOARDING)
        for day in (1, 2, 3):
            interact(customer, day, kind="service_request")
        result = assessed(customer)
        # Onboarding weights: inactivity 35, complaints 25, service 20, cancellation 40.
        assert result.flags[0]["contribution"] == round(100 * 20 / 120, 1)

    def test_admin_settings_change_the_result(self):
        customer = old_customer()
        interact(customer, 1, kind="complaint")
        planning.ensure_signal_settings()
        SignalSetting.objects.filter(key="complaints").update(threshold=2)
        assert flag_keys(assessed(customer)) == []

    def test_churned_and_archived_customers_are_not_scored(self):
        churned = old_customer(status=Customer.Status.CHURNED)
        archived = old_customer(archived_at=timezone.now())
        scoring.compute_all(today())
        assert not CustomerRisk.objects.filter(customer__in=[churned, archived]).exists()

    def test_as_of_reads_only_data_up_to_that_date(self):
        customer = old_customer()
        for day in (40, 50, 60, 70, 80):
            interact(customer, day)
        interact(customer, 5, kind="complaint")
        past = today() - timedelta(days=30)
        assessments = scoring.assess_chunk(
            past, customer.pk, customer.pk + 1, planning.load_configuration()
        )
        assert [f.key for f in assessments[0].flags] == []  # 10 days silent then, no complaint yet


class TestRecompute:
    def test_rerunning_the_same_day_changes_nothing(self):
        customers = [old_customer() for _ in range(3)]
        interact(customers[0], 1, kind="complaint")
        first = scoring.compute_all(today())
        rows = list(CustomerRisk.objects.order_by("pk").values())
        counts = (
            RiskSnapshot.objects.count(),
            RiskEvent.objects.count(),
            Notification.objects.count(),
        )
        second = scoring.compute_all(today())
        assert first.changed == 3 and second.changed == 0
        assert list(CustomerRisk.objects.order_by("pk").values()) == rows
        assert (
            RiskSnapshot.objects.count(),
            RiskEvent.objects.count(),
            Notification.objects.count(),
        ) == counts

    def test_chunks_cover_every_customer_once(self):
        customers = [old_customer() for _ in range(7)]
        outcome = scoring.compute_all(today(), chunk_size=3)
        assert outcome.seen == 7
        assert CustomerRisk.objects.filter(customer__in=customers).count() == 7

    def test_a_rise_is_in_the_timeline_and_notifies_the_owner(self, admin_client, manager):
        customer = old_customer(owner=manager)
        for day in (3, 13, 23):
            interact(customer, day)
        assert assessed(customer).level == "low"
        interact(customer, 1, kind="cancellation")
        assert assessed(customer).level == "high"
        event = RiskEvent.objects.get(customer=customer, kind=RiskEvent.Kind.LEVEL_UP)
        assert (event.from_level, event.to_level) == ("low", "high")
        notice = Notification.objects.get(recipient=manager)
        assert customer.name in notice.message and "high" in notice.message
        html = admin_client.get(customer.get_absolute_url()).content.decode()
        assert "Risk Low → High" in html
        assert "Asked to cancel or not renew" in html  # the flag's reason on the risk card

    def test_history_keeps_one_row_per_day_with_contributions(self):
        customer = old_customer()
        interact(customer, 1, kind="complaint")
        scoring.compute_all(today())
        scoring.compute_all(today())
        snapshot = RiskSnapshot.objects.get(customer=customer)
        assert set(snapshot.contributions) == {"complaints"}

    def test_a_night_with_nothing_new_rewrites_nothing_and_the_reason_counts_on(self, monkeypatch):
        customer = old_customer()
        for day in (40, 50, 60, 70, 80):  # every 10 days, silent for 40: inactivity
            interact(customer, day)
        scoring.compute_all(today())
        stored = CustomerRisk.objects.get(customer=customer)
        # The next night: still flagged for the same reason, nothing to write ...
        assert scoring.compute_all(today() + timedelta(days=1)).changed == 0
        assert CustomerRisk.objects.get(customer=customer).computed_for == stored.computed_for
        # ... and the reason, read the next day, counts the extra day.
        tomorrow = timezone.now() + timedelta(days=1)
        monkeypatch.setattr(timezone, "now", lambda: tomorrow)
        [flag] = describe_flags(CustomerRisk.objects.get(customer=customer).flags)
        assert flag["reason"] == "No contact for 41 days; usually every 10.0 days."

    def test_history_grows_when_the_score_changes(self):
        customer = old_customer()
        for day in (40, 50, 60, 70, 80):  # every 10 days, silent for 40: inactivity
            interact(customer, day)
        scoring.compute_all(today())
        scoring.compute_all(today() + timedelta(days=1))
        assert RiskSnapshot.objects.filter(customer=customer).count() == 1  # same score
        interact(customer, 0, kind="complaint")
        scoring.compute_all(today() + timedelta(days=2))
        history = list(
            RiskSnapshot.objects.filter(customer=customer).values_list("as_of", "contributions")
        )
        assert [day for day, _ in history] == [today(), today() + timedelta(days=2)]
        assert set(history[-1][1]) == {"complaints"}  # talked to, but complained


def test_backtest_measures_precision_and_recall():
    as_of = today() - timedelta(days=100)
    flagged_and_lost = old_customer()
    interact(flagged_and_lost, 101, kind="cancellation")
    interact(flagged_and_lost, 105)
    healthy = old_customer()
    for day in (101, 110, 120, 50, 20):
        interact(healthy, day)
    report = backtest(as_of, horizon_days=90)
    high = next(row for row in report.rows if row.name == "level: high")
    assert report.customers == 2 and report.went_bad == 1
    assert (high.flagged, high.hits, high.precision, high.recall) == (1, 1, 1.0, 1.0)
    assert high.lift == 2.0
