from datetime import timedelta

import pytest
from django.utils import timezone

from customers import timeline
from customers.timeline import Cursor, TimelineEntry, timeline_page

from .factories import CustomerFactory, InteractionFactory

pytestmark = pytest.mark.django_db


def _walk(customer, size):
    """Every entry, page after page, as the "Show older entries" button would."""
    seen, cursor = [], None
    for _ in range(100):
        page = timeline_page(customer, cursor=cursor, size=size)
        seen.extend(page.entries)
        if page.next_cursor is None:
            return seen
        cursor = page.next_cursor
    raise AssertionError("timeline did not end")


def test_entries_are_newest_first():
    customer = CustomerFactory()
    now = timezone.now()
    old = InteractionFactory(customer=customer, occurred_at=now - timedelta(days=2), subject="old")
    new = InteractionFactory(customer=customer, occurred_at=now, subject="new")
    page = timeline_page(customer, cursor=None, size=10)
    assert [e.pk for e in page.entries] == [new.pk, old.pk]
    assert page.next_cursor is None


def test_paging_visits_every_entry_once_even_with_identical_timestamps():
    customer = CustomerFactory()
    moment = timezone.now() - timedelta(hours=1)
    ids = {InteractionFactory(customer=customer, occurred_at=moment).pk for _ in range(7)}
    ids |= {
        InteractionFactory(customer=customer, occurred_at=moment - timedelta(minutes=i)).pk
        for i in range(1, 6)
    }
    seen = _walk(customer, size=3)
    assert [e.pk for e in seen if e.source == "interaction"] and len(seen) == len(ids)
    assert {e.pk for e in seen} == ids


def test_other_customers_entries_never_appear():
    customer = CustomerFactory()
    InteractionFactory(customer=CustomerFactory())
    assert timeline_page(customer, cursor=None, size=10).entries == []


def test_a_registered_source_is_merged_in_time_order(monkeypatch):
    """Later apps (emails, surveys, points) plug in by registering a source."""
    customer = CustomerFactory()
    now = timezone.now()
    InteractionFactory(customer=customer, occurred_at=now - timedelta(days=1), subject="call")

    def survey_answers(cust, until, limit):
        return [
            TimelineEntry(
                occurred_at=now, source="survey", pk=1, kind="nps", kind_label="NPS", title="9/10"
            )
        ]

    monkeypatch.setitem(timeline._sources, "survey", survey_answers)
    titles = [e.title for e in timeline_page(customer, cursor=None, size=10).entries]
    assert titles == ["9/10", "call"]


def test_cursor_survives_a_round_trip_through_the_query_string():
    cursor = Cursor(until=timezone.now(), skip=2)
    assert Cursor.from_params(cursor.as_params()) == cursor
    assert Cursor.from_params({"until": "garbage"}) is None
