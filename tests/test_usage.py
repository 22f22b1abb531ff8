"""Usage and visit events: batches added to daily counts per customer and event name."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse

from customers.models import UsageDay
from customers.usage import UsageEvent, customer_activity, normalise_event, usage_record
from retention.risk.signals import registered
from retention.risk.usage_signals import FALLING_USE, describe, falling_use_facts

from .factories import CustomerFactory
from .test_api_permissions import api

pytestmark = pytest.mark.django_db

NOW = "2026-03-10 12:00Z"


@pytest.fixture
def shop_customer(db):
    return CustomerFactory(external_id="K-1001", email="Ana@Example.com")


def post(user, events):
    return api(user).post(reverse("api:usage"), {"events": events}, format="json")


def counts() -> list[tuple]:
    return list(UsageDay.objects.order_by("day", "event").values_list("day", "event", "count"))


@time_machine.travel(NOW, tick=False)
def test_three_clicks_of_one_event_on_one_day_are_one_row_of_three(staff_user, shop_customer):
    """Given three 'logged in' events the same day, when posted in one batch, then one row
    with count 3; a second batch adds to it rather than replacing it."""
    click = {"customer_external_id": "K-1001", "event": "logged in", "at": "2026-03-09T08:00Z"}
    response = post(staff_user, [click, click, click])
    assert response.status_code == 201
    assert response.json() == {"events": 3, "clicks": 3, "rows": 1}
    assert counts() == [(date(2026, 3, 9), "logged in", 3)]

    post(staff_user, [{**click, "count": 2}])
    assert counts() == [(date(2026, 3, 9), "logged in", 5)]


@time_machine.travel(NOW, tick=False)
def test_names_are_normalised_and_email_matches_in_any_case(staff_user, shop_customer):
    """Given ' Logged   IN ' by email in other case and no time, then it counts as
    'logged in' today, with the same customer's 'logged in'."""
    response = post(
        staff_user,
        [
            {"customer_email": "ana@example.COM", "event": " Logged   IN "},
            {"customer_external_id": "K-1001", "event": "logged in"},
        ],
    )
    assert response.status_code == 201
    assert counts() == [(date(2026, 3, 10), "logged in", 2)]
    assert UsageDay.objects.get().customer == shop_customer
    assert normalise_event("\tVisited  Pricing\nPage ") == "visited pricing page"


GOOD = {"customer_external_id": "K-1001", "event": "logged in"}


@pytest.mark.parametrize(
    "bad, key",
    [
        ({"customer_external_id": "NOPE", "event": "x"}, "events[1].customer_external_id"),
        ({"customer_email": "nobody@example.com", "event": "x"}, "events[1].customer_email"),
        ({"event": "x"}, "events[1].customer_external_id"),
        ({**GOOD, "event": "   "}, "events[1].event"),
        ({**GOOD, "event": "x" * 61}, "events[1].event"),
        ({**GOOD, "count": 0}, "events[1].count"),
        ({**GOOD, "count": -2}, "events[1].count"),
        ({**GOOD, "count": "3"}, "events[1].count"),
        ({**GOOD, "at": "yesterday"}, "events[1].at"),
        ("logged in", "events[1]"),
    ],
)
def test_a_bad_row_is_a_400_naming_it_and_nothing_is_written(staff_user, shop_customer, bad, key):
    """Given a good first line and a bad second one, then 400 keyed by the second line's
    field, and not even the good line is counted."""
    response = post(staff_user, [GOOD, bad])
    assert response.status_code == 400
    assert list(response.json()) == [key]
    assert not UsageDay.objects.exists()


def test_more_than_a_thousand_events_is_a_400(staff_user, shop_customer):
    assert post(staff_user, [GOOD] * 1000).status_code == 201
    response = post(staff_user, [GOOD] * 1001)
    assert response.status_code == 400
    assert list(response.json()) == ["events"]
    assert UsageDay.objects.get().count == 1000


def test_an_empty_or_missing_list_is_a_400(staff_user):
    assert post(staff_user, []).status_code == 400
    response = api(staff_user).post(reverse("api:usage"), {}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == ["events"]


def test_a_batch_takes_a_fixed_number_of_queries(django_assert_num_queries):
    """Given 300 events over 30 customers (by external id and email), 2 days and 5
    events, then three queries: customers by external id, by email, one upsert."""
    customers = [CustomerFactory(external_id=f"E{number}") for number in range(30)]
    batch = [
        UsageEvent(
            event=f"event {n % 5}",
            customer_external_id=c.external_id if n % 2 else "",
            customer_email="" if n % 2 else c.email,
        )
        for n, c in enumerate(customers * 10)
    ]
    with django_assert_num_queries(3):
        result = usage_record(batch)
    assert result.clicks == 300
    with django_assert_num_queries(3):
        usage_record(batch)
    assert sum(UsageDay.objects.values_list("count", flat=True)) == 600


@time_machine.travel(NOW, tick=False)
def test_the_activity_card_shows_90_days_and_the_top_events(
    admin_client, shop_customer, django_assert_max_num_queries
):
    """Given usage on day 1 and day 90 of the window and one day before it, then the card
    charts 90 days, the earlier day left out, with the events ranked in the table."""
    usage_record(
        [
            UsageEvent(event="logged in", customer_external_id="K-1001", count=4),
            UsageEvent(
                event="used reports",
                customer_external_id="K-1001",
                at=datetime(2025, 12, 11, 12, tzinfo=UTC),  # first day of the window
            ),
            UsageEvent(
                event="visited pricing page",
                customer_external_id="K-1001",
                at=datetime(2025, 12, 10, 12, tzinfo=UTC),  # the day before it
                count=7,
            ),
        ]
    )
    activity = customer_activity(shop_customer.pk, date(2026, 3, 10))
    assert len(activity.days) == 90
    assert activity.days[0] == date(2025, 12, 11)
    assert activity.totals[0] == 1 and activity.totals[-1] == 4 and activity.total == 5
    assert activity.top_events == [("logged in", 4), ("used reports", 1)]

    url = reverse("customers:panel", args=[shop_customer.pk, "usage"])
    with django_assert_max_num_queries(12):
        card = admin_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'data-testid="usage-card"' in card
    assert 'id="usage-data"' in card and "js/usage.js" in card
    assert "<td>logged in</td>" in card and "visited pricing page" not in card
    page = admin_client.get(shop_customer.get_absolute_url() + "?cards=all")
    assert 'data-testid="usage-card"' in page.content.decode()


def test_the_activity_card_without_usage_says_so(admin_client, customer):
    url = reverse("customers:panel", args=[customer.pk, "usage"])
    card = admin_client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "No product usage or website visits in the last 90 days." in card
    assert "usage-chart" not in card


# --- The "falling use" risk signal ----------------------------------------------------

AS_OF = date(2026, 3, 10)
PARAMS = FALLING_USE.default_params  # 30-day window, at least 5 events a window before


def usage_on(customer, day: date, count: int) -> None:
    UsageDay.objects.create(customer=customer, day=day, event="logged in", count=count)


def facts_for(customer) -> dict:
    return falling_use_facts(customer.pk, customer.pk + 1, AS_OF, PARAMS)


@pytest.mark.parametrize("recent, strength", [(30, 0.0), (45, 0.0), (15, 0.5), (3, 0.9), (0, 1.0)])
def test_falling_use_is_the_fall_against_the_60_days_before(customer, recent, strength):
    """Given 60 events in the 60 days before the last 30 (30 a window), then the strength
    is 1 - recent / 30: none when as high or higher, full at no use at all."""
    usage_on(customer, AS_OF - timedelta(days=30), 40)  # first day before the window
    usage_on(customer, AS_OF - timedelta(days=89), 20)  # last day counted before it
    usage_on(customer, AS_OF - timedelta(days=90), 500)  # too early: not counted
    usage_on(customer, AS_OF + timedelta(days=1), 500)  # after the as-of date
    if recent:
        usage_on(customer, AS_OF - timedelta(days=29), recent)  # first day of the window
    value, evidence = facts_for(customer)[customer.pk]
    assert value == pytest.approx(strength)
    assert evidence == {"recent": recent, "usual": 30.0, "window": 30}
    assert describe(evidence, AS_OF) == (
        f"{recent} usage events in the last 30 days; usually 30.0."
    )


def test_no_usage_or_too_little_before_is_no_data(customer, others_customer):
    """Given one customer without usage and one with 9 events before (4.5 a window,
    under the threshold of 5), then neither has data; 10 before (5 a window) has."""
    usage_on(others_customer, AS_OF - timedelta(days=40), 9)
    assert falling_use_facts(customer.pk, others_customer.pk + 1, AS_OF, PARAMS) == {}
    usage_on(others_customer, AS_OF - timedelta(days=41), 1)
    facts = falling_use_facts(customer.pk, others_customer.pk + 1, AS_OF, PARAMS)
    assert list(facts) == [others_customer.pk] and facts[others_customer.pk][0] == 1.0


def test_falling_use_is_registered():
    assert registered()["falling_use"] is FALLING_USE
