"""The at-risk queue: who appears, the row actions, and who may take them."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers.models import Customer
from retention.models import CustomerRisk, RiskEvent

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db
QUEUE = reverse("retention:queue")


def reason(key="complaints", contribution=23, strength=0.8, **evidence) -> dict:
    """One stored reason, in the format the nightly job writes."""
    return {
        "key": key,
        "strength": strength,
        "contribution": contribution,
        "flagged": strength >= 0.5 and contribution > 0,
        "evidence": evidence,
    }


def complaints(contribution=23) -> dict:
    last = (timezone.localdate() - timedelta(days=3)).isoformat()
    return reason("complaints", contribution, count=2, last=last)


def at_risk(
    owner=None, score=50, level="medium", expected_loss=None, flags=None, **kwargs
) -> CustomerRisk:
    """An open case; its value at risk is score % of the plan's value unless given."""
    customer = CustomerFactory(owner=owner, **kwargs)
    today = timezone.localdate()
    value = Decimal(customer.monthly_value)
    if expected_loss is None:
        expected_loss = (value * score / 100).quantize(Decimal("0.01"))
    return CustomerRisk.objects.create(
        customer=customer,
        score=score,
        level=level,
        base=10,
        value=value,
        expected_loss=expected_loss,
        flags=[complaints()] if flags is None else flags,
        computed_for=today,
        level_since=today - timedelta(days=4),
    )


def action(customer, name):
    return reverse("retention:case_action", args=[customer.pk, name])


def queued(response) -> list[str]:
    return [row["customer"].name for row in response.context["rows"]]


def test_queue_lists_medium_and_high_by_value_at_risk(admin_client):
    """Most money likely lost first: a 40 % risk on 500 a month (200) comes before a
    90 % risk on 49 a month (44.10); low risk is not in the queue."""
    at_risk(score=40, name="Medium small", monthly_value=10)
    at_risk(score=40, name="Medium large", monthly_value=500)
    at_risk(score=90, level="high", name="High")
    at_risk(score=10, level="low", name="Low")
    response = admin_client.get(QUEUE)
    assert queued(response) == ["Medium large", "High", "Medium small"]
    assert response.context["rows"][0]["days_at_risk"] == 4


def test_equal_value_at_risk_goes_by_probability_then_plan_value(admin_client):
    at_risk(score=40, expected_loss=Decimal("20.00"), name="Less likely", monthly_value=50)
    at_risk(score=80, expected_loss=Decimal("20.00"), name="More likely", monthly_value=25)
    at_risk(score=40, expected_loss=Decimal("20.00"), name="Larger plan", monthly_value=60)
    assert queued(admin_client.get(QUEUE)) == ["More likely", "Larger plan", "Less likely"]


def test_the_same_score_is_ordered_by_expected_loss(admin_client):
    at_risk(score=60, expected_loss=Decimal("12.00"), name="Smaller loss")
    at_risk(score=60, expected_loss=Decimal("300.00"), name="Larger loss")
    assert queued(admin_client.get(QUEUE)) == ["Larger loss", "Smaller loss"]


def test_the_order_is_not_the_order_of_creation(admin_client):
    """Ids rise with creation; the queue follows the values, not the ids."""
    losses = ["5.00", "90.00", "0.50", "42.00", "17.25"]
    for index, loss in enumerate(losses):
        at_risk(score=50, expected_loss=Decimal(loss), name=f"Case {index}")
    names = queued(admin_client.get(QUEUE))
    ids = [row["risk"].customer_id for row in admin_client.get(QUEUE).context["rows"]]
    assert names == ["Case 1", "Case 3", "Case 4", "Case 0", "Case 2"]
    assert ids != sorted(ids)


def test_a_row_shows_value_at_risk_probability_and_the_top_reason_on_one_line(admin_client):
    """Given a case with three reasons adding risk and one lowering it, the row shows the
    value at risk, the level with the probability and the top reason with "2 more
    reasons"; its title lists all three in words; the lowering one is left out."""
    at_risk(
        score=54,
        expected_loss=Decimal("26.46"),
        name="Ada",
        flags=[
            complaints(contribution=23),
            reason("service_requests", 12, count=4),
            reason("renewal_no_contact", 5, renewal="2099-01-01"),
            reason("repeat_buying", -8, strength=0.9, days=12),
        ],
    )
    response = admin_client.get(QUEUE)
    html = response.content.decode()
    row = response.context["rows"][0]
    assert [flag["key"] for flag in row["flags"]] == [
        "complaints",
        "service_requests",
        "renewal_no_contact",
    ]
    assert "€26.46</strong>/month" in html
    assert "Medium · 54 %</span>" in html
    title, line = re.search(r'data-testid="why" title="([^"]*)">(.*?)</div>', html).groups()
    assert "Complaints or negative feedback</span>" in line and "+23 pts" in line
    assert "2 more reasons" in line and "Many service requests" not in line
    assert title.startswith("Complaints or negative feedback +23 pts: 2 complaints or negative")
    assert "Many service requests +12 pts" in title and "+5 pts" in title
    assert "8 pts" not in title
    assert "Value at risk" in html


def test_account_manager_sees_own_customers_by_default(manager_client, manager, other_manager):
    at_risk(owner=manager, name="Mine")
    at_risk(owner=other_manager, name="Theirs")
    at_risk(name="Nobody's")
    assert queued(manager_client.get(QUEUE)) == ["Mine"]
    assert queued(manager_client.get(QUEUE, {"owner": "none"})) == ["Nobody's"]


def test_staff_cannot_open_the_queue(staff_client):
    assert staff_client.get(QUEUE).status_code == 403


def test_query_count_is_fixed(admin_client, django_assert_max_num_queries):
    for _ in range(3):
        at_risk()
    with django_assert_max_num_queries(20) as few:
        admin_client.get(QUEUE)
    for _ in range(20):
        at_risk()
    with django_assert_max_num_queries(len(few.captured_queries)):
        admin_client.get(QUEUE)


class TestActions:
    def test_snooze_hides_until_the_date(self, manager_client, manager):
        case = at_risk(owner=manager)
        until = timezone.localdate() + timedelta(days=7)
        response = manager_client.post(
            action(case.customer, "snooze"), {"until": until.isoformat()}
        )
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.snoozed_until == until
        assert queued(manager_client.get(QUEUE)) == []
        assert RiskEvent.objects.filter(customer=case.customer, kind="snoozed").exists()

    def test_snooze_in_the_past_is_refused_with_a_reason(self, manager_client, manager):
        case = at_risk(owner=manager)
        response = manager_client.post(
            action(case.customer, "snooze"), {"until": "2000-01-01"}, HTTP_HX_REQUEST="true"
        )
        assert "Snooze until a day in the future." in response.content.decode()
        case.refresh_from_db()
        assert case.snoozed_until is None

    def test_log_outreach_creates_an_interaction(self, manager_client, manager):
        case = at_risk(owner=manager)
        response = manager_client.post(
            action(case.customer, "outreach"),
            {"kind": "call", "subject": "Called about renewal"},
            HTTP_HX_REQUEST="true",
        )
        assert "Outreach logged" in response.content.decode()
        interaction = case.customer.interactions.get()
        assert (interaction.kind, interaction.recorded_by) == ("call", manager)
        case.refresh_from_db()
        assert case.last_outreach_at == interaction.occurred_at

    def test_resolve_lost_churns_the_customer(self, manager_client, manager):
        case = at_risk(owner=manager)
        response = manager_client.post(
            action(case.customer, "resolve"),
            {"outcome": "lost", "reason": "Moved to a competitor"},
            HTTP_HX_REQUEST="true",
        )
        assert "removed from the queue" in response.content.decode()
        customer = Customer.objects.get(pk=case.customer_id)
        assert customer.status == "churned" and customer.churned_on == timezone.localdate()
        assert customer.churn_reason == "Moved to a competitor"

    def test_resolve_lost_needs_a_reason(self, manager_client, manager):
        case = at_risk(owner=manager)
        manager_client.post(action(case.customer, "resolve"), {"outcome": "lost", "reason": ""})
        assert Customer.objects.get(pk=case.customer_id).status == "active"

    def test_resolve_saved_leaves_until_risk_rises(self, manager_client, manager):
        case = at_risk(owner=manager)
        manager_client.post(
            action(case.customer, "resolve"), {"outcome": "saved", "reason": "Discount"}
        )
        assert queued(manager_client.get(QUEUE)) == []

    def test_claim_an_unassigned_customer(self, manager_client, manager):
        case = at_risk()
        manager_client.post(action(case.customer, "claim"))
        assert Customer.objects.get(pk=case.customer_id).owner == manager

    def test_manager_cannot_act_on_another_managers_customer(self, manager_client, other_manager):
        case = at_risk(owner=other_manager)
        for name, data in [
            ("claim", {}),
            ("snooze", {"until": "2099-01-01"}),
            ("resolve", {"outcome": "lost", "reason": "x"}),
            ("outreach", {"kind": "call", "subject": "x"}),
        ]:
            assert manager_client.post(action(case.customer, name), data).status_code == 403, name
        assert Customer.objects.get(pk=case.customer_id).status == "active"

    def test_only_admins_assign_to_someone_else(
        self, manager_client, admin_client, manager, other_manager
    ):
        case = at_risk(owner=manager)
        manager_client.post(action(case.customer, "assign"), {"owner": other_manager.pk})
        assert Customer.objects.get(pk=case.customer_id).owner == manager
        admin_client.post(action(case.customer, "assign"), {"owner": other_manager.pk})
        assert Customer.objects.get(pk=case.customer_id).owner == other_manager

    def test_unknown_customer_is_404(self, admin_client):
        assert (
            admin_client.post(reverse("retention:case_action", args=[999, "claim"])).status_code
            == 404
        )


def test_recompute_now_shows_progress(admin_client, django_capture_on_commit_callbacks):
    CustomerFactory.create_batch(3)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(reverse("retention:recompute"))
    assert response.status_code == 302
    page = admin_client.get(response["Location"])
    assert page.context["run"].status == "done"
    assert "100%" in page.content.decode()


def test_managers_cannot_recompute(manager_client):
    assert manager_client.post(reverse("retention:recompute")).status_code == 403


def test_notifications_page_and_mark_read(manager_client, manager):
    from retention.models import Notification

    Notification.objects.create(recipient=manager, message="Ada is now at high risk")
    assert 'data-testid="unread-count">1<' in manager_client.get(QUEUE).content.decode()
    manager_client.post(reverse("retention:notifications"))
    assert not Notification.objects.filter(read_at__isnull=True).exists()
