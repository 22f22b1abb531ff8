"""The queue after the perf work: count and rows from two queries agree, and each
row's action forms (rendered once per page, then stamped) act on that row."""

from datetime import timedelta

import pytest
from django.utils import timezone

from retention.risk import queue
from retention.risk.views import CaseActions

from .test_queue import QUEUE, action, at_risk, queued

pytestmark = pytest.mark.django_db


def test_count_and_rows_leave_out_the_same_cases(admin_client):
    at_risk(name="Open")
    at_risk(score=80, level="high", name="Open high")
    at_risk(name="Archived", archived_at=timezone.now())
    snoozed = at_risk(name="Snoozed")
    snoozed.snoozed_until = timezone.localdate() + timedelta(days=3)
    snoozed.save()
    resolved = at_risk(name="Resolved")
    resolved.resolved_at = timezone.now()
    resolved.save()
    at_risk(score=10, level="low", name="Low")

    response = admin_client.get(QUEUE)

    assert queued(response) == ["Open high", "Open"]
    assert response.context["page"].paginator.count == 2
    assert "2 customers need attention" in response.content.decode()
    assert queue.open_cases_to_count().count() == queue.open_cases().count() == 2


def test_count_follows_the_filters(manager_client, manager, other_manager):
    at_risk(owner=manager, name="Mine")
    at_risk(owner=manager, score=90, level="high", name="Mine high")
    at_risk(owner=manager, name="Mine archived", archived_at=timezone.now())
    at_risk(owner=other_manager, name="Theirs")

    response = manager_client.get(QUEUE, {"level": "high"})

    assert queued(response) == ["Mine high"]
    assert response.context["page"].paginator.count == 1
    assert manager_client.get(QUEUE).context["page"].paginator.count == 2


def test_a_snooze_that_ended_brings_the_case_back(admin_client):
    case = at_risk(name="Back")
    case.snoozed_until = timezone.localdate()  # snoozed until today: open again today
    case.save()
    response = admin_client.get(QUEUE)
    assert queued(response) == ["Back"]
    assert response.context["page"].paginator.count == 1


def test_each_row_acts_on_its_own_customer(admin_client, manager):
    owned = at_risk(owner=manager, name="Owned")
    unowned = at_risk(score=80, level="high", name="Unowned")

    html = admin_client.get(QUEUE).content.decode()

    for case in (owned, unowned):
        for name in ("assign", "outreach", "snooze", "resolve"):
            assert f'action="{action(case.customer, name)}"' in html
    assert f'action="{action(unowned.customer, "claim")}"' in html
    assert f'action="{action(owned.customer, "claim")}"' not in html
    assert str(CaseActions.PLACEHOLDER) not in html
    assert html.count('name="csrfmiddlewaretoken"') >= 2 * 4
