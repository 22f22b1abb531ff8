"""The at-risk queue as a work list: compact rows, one opened row with the actions, bulk
claim and assign for admins, and the next case opening after one leaves the list."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from customers.access import STAFF
from customers.models import Customer
from retention.models import CustomerRisk, RiskEvent
from retention.risk import queue

from .factories import UserFactory
from .test_queue import QUEUE, action, at_risk, queued

pytestmark = pytest.mark.django_db
BULK = reverse("retention:queue_bulk")


def case_url(risk) -> str:
    return reverse("retention:case", args=[risk.customer_id])


def cases_in_order(count: int, **kwargs) -> list[CustomerRisk]:
    """`count` open cases, the first the most value at risk (the queue's order)."""
    return [
        at_risk(expected_loss=Decimal(1000 - n), name=f"Case {n}", **kwargs) for n in range(count)
    ]


def owners(risks) -> list:
    return [Customer.objects.get(pk=risk.customer_id).owner for risk in risks]


def opened_ids(html: str) -> list[int]:
    return [int(pk) for pk in re.findall(r'id="case-(\d+)-actions"', html)]


class TestCompactRows:
    def test_the_page_has_compact_rows_and_no_action_forms(self, admin_client):
        """Given five cases, the page lists five closed rows and not one action form."""
        cases_in_order(5)
        html = admin_client.get(QUEUE).content.decode()
        assert html.count('data-testid="case"') == 5
        assert html.count('aria-expanded="false"') >= 5
        assert "data-case-action=" not in html
        assert "Log outreach</button>" not in html
        assert opened_ids(html) == []

    def test_open_in_the_address_opens_that_row_only(self, admin_client):
        """Given three cases, ?open=<the second> shows its forms once, and only its."""
        risks = cases_in_order(3)
        second = risks[1]
        html = admin_client.get(QUEUE, {"open": second.customer_id}).content.decode()
        assert opened_ids(html) == [second.customer_id]
        assert html.count("data-case-action=") == 5  # claim, assign, outreach, snooze, resolve
        assert html.count(f'action="{action(second.customer, "resolve")}"') == 1
        for other in (risks[0], risks[2]):
            assert f'action="{action(other.customer, "resolve")}"' not in html
        toggle = re.search(rf'href="[^"]*#case-{second.customer_id}"\s+aria-expanded="(\w+)"', html)
        assert toggle.group(1) == "true"

    def test_open_with_a_bad_id_opens_nothing(self, admin_client):
        cases_in_order(2)
        for bad in ("²", "abc", "99999999999999999999", "0"):
            response = admin_client.get(QUEUE, {"open": bad})
            assert response.status_code == 200, bad
            assert opened_ids(response.content.decode()) == [], bad

    def test_a_row_says_since_when_and_who_owns_it(self, admin_client, manager):
        at_risk(owner=manager, name="Owned")
        html = admin_client.get(QUEUE).content.decode()
        assert re.search(
            r'data-testid="days-at-risk" title="At this level since [^"]+">4 days<', html
        )
        assert 'data-testid="owner">' + (manager.get_full_name() or manager.username) in html


class TestOpeningARow:
    def test_htmx_gets_the_row_opened_with_its_actions(self, manager_client, manager):
        """Given a manager's case, the row's partial is that row opened, with the queue's
        place (filters, page) in every form's `next`."""
        risk = at_risk(owner=manager, name="Ada")
        response = manager_client.get(
            case_url(risk), {"level": "", "page": "1"}, HTTP_HX_REQUEST="true"
        )
        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith(f'<li id="case-{risk.customer_id}"')
        assert "<html" not in html
        assert opened_ids(html) == [risk.customer_id]
        assert 'aria-expanded="true"' in html
        assert (
            html.count('name="next" value="/retention/queue/?level=&amp;page=1&amp;owner=me"') == 3
        )
        assert 'action="' + action(risk.customer, "claim") + '"' not in html  # already theirs

    def test_without_htmx_the_row_opens_on_the_queue_page(self, manager_client, manager):
        risk = at_risk(owner=manager)
        response = manager_client.get(case_url(risk), {"owner": "none", "page": "2"})
        assert response.status_code == 302
        assert response["Location"] == (
            f"/retention/queue/?owner=none&page=2&open={risk.customer_id}#case-{risk.customer_id}"
        )

    def test_another_managers_case_is_refused_and_an_unknown_one_is_404(
        self, manager_client, other_manager, staff_client
    ):
        theirs = at_risk(owner=other_manager)
        assert manager_client.get(case_url(theirs), HTTP_HX_REQUEST="true").status_code == 403
        assert staff_client.get(case_url(theirs), HTTP_HX_REQUEST="true").status_code == 403
        unknown = reverse("retention:case", args=[999999])
        assert manager_client.get(unknown, HTTP_HX_REQUEST="true").status_code == 404

    def test_claiming_keeps_the_row_open_and_is_audited(self, manager_client, manager):
        risk = at_risk(name="Nobody's")
        response = manager_client.post(
            action(risk.customer, "claim"), {"next": QUEUE + "?owner=none"}, HTTP_HX_REQUEST="true"
        )
        html = response.content.decode()
        assert "You now own Nobody&#x27;s." in html
        assert opened_ids(html) == [risk.customer_id]
        entry = AuditEntry.objects.get()
        assert (entry.action, entry.user, entry.target_id) == (
            "queue.assigned",
            manager,
            str(risk.customer_id),
        )
        assert entry.details == {"owner": manager.pk, "customers": [risk.customer_id], "count": 1}


class TestNextCase:
    def test_resolving_opens_the_next_row_in_the_same_order(self, manager_client, manager):
        """Given cases A, B, C (most value at risk first), when A is resolved, the notice
        that replaces A names B as the case to open."""
        a, b, _c = cases_in_order(3, owner=manager)
        response = manager_client.post(
            action(a.customer, "resolve"),
            {"outcome": "saved", "reason": "Discount", "next": QUEUE},
            HTTP_HX_REQUEST="true",
        )
        html = response.content.decode()
        assert "removed from the queue" in html
        assert f'data-next-case="{b.customer_id}"' in html
        assert f'data-next-url="/retention/queue/?owner=me&amp;open={b.customer_id}#case-' in html
        assert opened_ids(html) == []

    def test_without_htmx_the_redirect_opens_the_next_row(self, manager_client, manager):
        a, b, _c = cases_in_order(3, owner=manager)
        response = manager_client.post(
            action(b.customer, "resolve"),
            {"outcome": "saved", "next": QUEUE + "?level=&page=1"},
        )
        assert response["Location"] == (
            f"/retention/queue/?level=&page=1&owner=me&open={_c.customer_id}#case-{_c.customer_id}"
        )
        page = manager_client.get(response["Location"])
        assert queued(page) == ["Case 0", "Case 2"]
        assert opened_ids(page.content.decode()) == [_c.customer_id]

    def test_the_last_row_of_a_page_hands_over_to_the_first_of_the_next(
        self, manager_client, manager, settings
    ):
        """Two to a page: resolving the second of page 1 opens the third case, which
        moves up into page 1."""
        settings.CUSTOMERS_PER_PAGE = 2
        _a, b, c = cases_in_order(3, owner=manager)
        response = manager_client.post(
            action(b.customer, "resolve"),
            {"outcome": "saved", "next": QUEUE + "?page=1"},
            HTTP_HX_REQUEST="true",
        )
        assert f'data-next-case="{c.customer_id}"' in response.content.decode()
        assert queued(manager_client.get(QUEUE, {"page": 1})) == ["Case 0", "Case 2"]

    def test_the_next_row_follows_the_filters(self, manager_client, manager):
        """With "High only", the next case is the next high one, not the medium between."""
        first = at_risk(owner=manager, level="high", score=90, expected_loss=Decimal(900))
        at_risk(owner=manager, level="medium", score=50, expected_loss=Decimal(800))
        high = at_risk(owner=manager, level="high", score=80, expected_loss=Decimal(700))
        response = manager_client.post(
            action(first.customer, "snooze"),
            {
                "until": (timezone.localdate() + timedelta(days=3)).isoformat(),
                "next": QUEUE + "?level=high",
            },
            HTTP_HX_REQUEST="true",
        )
        assert f'data-next-case="{high.customer_id}"' in response.content.decode()

    def test_the_last_case_has_no_next_and_a_refusal_stays_open(self, manager_client, manager):
        (only,) = cases_in_order(1, owner=manager)
        refused = manager_client.post(
            action(only.customer, "resolve"),
            {"outcome": "lost", "reason": "", "next": QUEUE},
            HTTP_HX_REQUEST="true",
        ).content.decode()
        assert "Say why the customer was lost." in refused
        assert opened_ids(refused) == [only.customer_id] and "data-next-case" not in refused
        done = manager_client.post(
            action(only.customer, "resolve"),
            {"outcome": "saved", "next": QUEUE},
            HTTP_HX_REQUEST="true",
        ).content.decode()
        assert "removed from the queue" in done and "data-next-case" not in done

    def test_next_elsewhere_on_the_site_is_followed_and_another_host_is_not(
        self, manager_client, manager
    ):
        a, b = cases_in_order(2, owner=manager)
        customer_page = a.customer.get_absolute_url()
        response = manager_client.post(
            action(a.customer, "outreach"), {"kind": "call", "subject": "Hi", "next": customer_page}
        )
        assert response["Location"] == customer_page
        response = manager_client.post(
            action(b.customer, "outreach"),
            {"kind": "call", "subject": "Hi", "next": "//evil.example/"},
        )
        assert response["Location"] == (
            f"/retention/queue/?owner=me&open={b.customer_id}#case-{b.customer_id}"
        )


class TestBulk:
    def test_admin_assigns_the_ticked_cases_to_an_account_manager(
        self, admin_client, admin_user, manager
    ):
        """Given three unassigned cases, when the admin ticks two and assigns them to a
        manager, both are the manager's, the third unassigned; one audit entry with the
        ids, one claimed event per case; back to the same place in the queue."""
        risks = cases_in_order(3)
        ids = [risks[0].customer_id, risks[2].customer_id]
        response = admin_client.post(
            BULK,
            {"ids": ids, "assign": "1", "owner": manager.pk, "next": QUEUE + "?owner=none"},
        )
        assert response.status_code == 302
        assert response["Location"] == "/retention/queue/?owner=none"
        assert owners(risks) == [manager, None, manager]
        events = RiskEvent.objects.filter(kind="claimed").order_by("customer_id")
        assert [event.customer_id for event in events] == sorted(ids)
        assert {event.actor for event in events} == {admin_user}
        entry = AuditEntry.objects.get()
        assert (entry.action, entry.user, entry.target_id) == ("queue.assigned", admin_user, "")
        assert entry.details == {"owner": manager.pk, "customers": sorted(ids), "count": 2}
        page = admin_client.get(response["Location"])
        assert "2 cases assigned to" in page.content.decode()

    def test_admin_claims_the_ticked_cases(self, admin_client, admin_user):
        risks = cases_in_order(2)
        admin_client.post(BULK, {"ids": [r.customer_id for r in risks]})
        assert owners(risks) == [admin_user, admin_user]

    def test_a_manager_sees_no_bulk_bar_and_is_refused(self, manager_client, manager, admin_client):
        """A manager's queue has no checkboxes; their bulk POST is a 403 that changes
        nothing (no owner, no event, no audit entry)."""
        risks = cases_in_order(2)
        page = manager_client.get(QUEUE, {"owner": "none"}).content.decode()
        assert 'data-testid="bulk-bar"' not in page and 'name="ids"' not in page
        assert 'data-testid="bulk-bar"' in admin_client.get(QUEUE).content.decode()
        response = manager_client.post(BULK, {"ids": [r.customer_id for r in risks]})
        assert response.status_code == 403
        assert owners(risks) == [None, None]
        assert not RiskEvent.objects.exists() and not AuditEntry.objects.exists()

    def test_one_unknown_id_refuses_the_whole_batch(self, admin_client):
        risks = cases_in_order(2)
        for bad in ("999999", "²", "abc"):
            response = admin_client.post(BULK, {"ids": [risks[0].customer_id, bad]})
            assert response.status_code == 404, bad
        assert owners(risks) == [None, None]
        assert not AuditEntry.objects.exists()

    def test_a_batch_of_exactly_the_limit_passes_one_more_is_refused(
        self, admin_client, admin_user, monkeypatch
    ):
        monkeypatch.setattr(queue, "MAX_BULK_CASES", 2)
        risks = cases_in_order(3)
        response = admin_client.post(BULK, {"ids": [r.customer_id for r in risks]}, follow=True)
        assert "Assign at most 2 cases at once." in response.content.decode()
        assert owners(risks) == [None, None, None]
        admin_client.post(BULK, {"ids": [r.customer_id for r in risks[:2]]})
        assert owners(risks) == [admin_user, admin_user, None]

    def test_nothing_ticked_or_nobody_chosen_or_staff_chosen_changes_nothing(self, admin_client):
        risks = cases_in_order(1)
        staff = UserFactory(username="bulk_staff", role=STAFF)
        for data, error in [
            ({}, "Choose at least one case."),
            ({"ids": [risks[0].customer_id], "assign": "1"}, "Choose someone to assign to."),
            (
                {"ids": [risks[0].customer_id], "assign": "1", "owner": staff.pk},
                "Choose someone to assign to.",  # staff are not in the list
            ),
        ]:
            response = admin_client.post(BULK, data, follow=True)
            assert error in response.content.decode(), data
        assert owners(risks) == [None]
        assert not AuditEntry.objects.exists()

    def test_bulk_assign_costs_the_same_queries_for_two_or_twenty_cases(
        self, admin_client, manager, django_assert_max_num_queries
    ):
        risks = cases_in_order(22)
        with django_assert_max_num_queries(30) as few:
            admin_client.post(
                BULK,
                {
                    "ids": [r.customer_id for r in risks[:2]],
                    "assign": "1",
                    "owner": manager.pk,
                },
            )
        with django_assert_max_num_queries(len(few.captured_queries)):
            admin_client.post(
                BULK,
                {
                    "ids": [r.customer_id for r in risks[2:]],
                    "assign": "1",
                    "owner": manager.pk,
                },
            )
        assert owners(risks) == [manager] * 22


def test_the_page_with_an_opened_row_costs_the_same_queries_for_3_or_25_cases(
    admin_client, django_assert_max_num_queries
):
    risks = cases_in_order(3)
    with django_assert_max_num_queries(25) as few:
        admin_client.get(QUEUE, {"open": risks[1].customer_id})
    risks += cases_in_order(22)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = admin_client.get(QUEUE, {"open": risks[1].customer_id})
    assert len(response.context["rows"]) == 25


def test_the_cases_mode_still_lists_the_dashboards_cases(admin_client):
    today = timezone.localdate().isoformat()
    response = admin_client.get(QUEUE, {"cases": "opened", "from": today, "to": today})
    assert response.status_code == 200
    assert "retention/risk/cases.html" in [t.name for t in response.templates]
