"""The dashboard as each role sees it: the home page after login, its controls, its
links to the customers behind the figures, its CSV downloads, and a query count that
does not grow with the data."""

from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from customers import membership
from customers.models import Customer
from dashboard.tables import Series, Table, csv_response

from .factories import CustomerFactory

pytestmark = pytest.mark.django_db
TODAY = date(2026, 12, 1)
HOME = "/"


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel("2026-12-01 09:00 +00:00", tick=False):
        yield


def gained_in_november(owner, count: int) -> list[Customer]:
    customers = [
        CustomerFactory(
            owner=owner, status=Customer.Status.ACTIVE, customer_since=date(2026, 11, 3)
        )
        for _ in range(count)
    ]
    membership.rebuild(today=TODAY)
    return customers


def test_anonymous_visitors_are_sent_to_the_login_and_users_without_a_role_refused(
    client, roleless_user
):
    response = client.get(HOME)
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert client.get(reverse("dashboard:table_csv", args=["churn"])).status_code == 302
    client.force_login(roleless_user)
    assert client.get(HOME).status_code == 403


@pytest.mark.parametrize("persona", ["admin_client", "manager_client", "staff_client"])
def test_every_role_starts_on_the_dashboard_with_every_section(request, persona):
    response = request.getfixturevalue(persona).get(HOME)
    assert response.status_code == 200
    for section in ("churn", "revenue", "effect", "risk", "nps", "onboarding_loyalty", "cohorts"):
        assert f'data-testid="section-{section}"' in response.content.decode()


def test_an_account_manager_starts_on_their_own_book(manager_client, manager, other_manager):
    gained_in_november(manager, 2)
    gained_in_november(other_manager, 3)
    page = manager_client.get(HOME)
    board = page.context["board"]
    assert board.scope.owner_id == manager.pk
    assert board.figures.churn[-1].gained == 2
    everyone = manager_client.get(HOME, {"owner": "all"}).context["board"]
    assert everyone.figures.churn[-1].gained == 5


def test_an_admin_sees_everyone_first_and_can_choose_one_managers_book(
    admin_client, manager, other_manager
):
    gained_in_november(manager, 2)
    gained_in_november(other_manager, 3)
    assert admin_client.get(HOME).context["board"].figures.churn[-1].gained == 5
    one = admin_client.get(HOME, {"owner": str(other_manager.pk)}).context["board"]
    assert one.figures.churn[-1].gained == 3


def test_the_gained_figure_links_to_exactly_the_customers_behind_it(admin_client, manager):
    """Follow the tile's link as a user would: the list shows the November customers."""
    gained = gained_in_november(manager, 2)
    CustomerFactory(owner=manager, status=Customer.Status.ACTIVE, customer_since=date(2026, 9, 1))
    membership.rebuild(today=TODAY)
    board = admin_client.get(HOME).context["board"]
    tile = next(t for s in board.sections for t in s.tiles if t.key == "gained")
    assert tile.value == 2
    listed = admin_client.get(tile.link).context["customers"]
    assert {c.pk for c in listed} == {c.pk for c in gained}


def test_staff_get_no_links_to_pages_they_cannot_open(staff_client, admin_client):
    queue = reverse("retention:queue")
    assert queue not in _tile_links(staff_client.get(HOME))
    assert queue in _tile_links(admin_client.get(HOME))


def _tile_links(response) -> str:
    board = response.context["board"]
    return " ".join(t.link for s in board.sections for t in s.tiles)


@pytest.mark.parametrize(
    "query",
    [
        {"on": "²"},
        {"on": "2026-02-30"},
        {"period": "custom", "start": "2026-03-10", "end": "2026-03-01"},
        {"period": "custom"},
        {"period": "decade", "owner": "999999"},
        {"owner": "\x00"},
    ],
)
def test_bad_input_shows_a_field_error_and_the_default_period_never_a_500(admin_client, query):
    response = admin_client.get(HOME, query)
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["board"].period.start == date(2026, 11, 1)
    assert (
        "invalid-feedback" in response.content.decode()
        or "alert-danger" in response.content.decode()
    )


def test_earlier_and_later_move_by_one_period_and_keep_the_other_choices(admin_client, manager):
    response = admin_client.get(
        HOME, {"period": "quarter", "on": "2026-05-05", "owner": manager.pk}
    )
    assert response.context["previous_query"] == f"period=quarter&on=2026-01-01&owner={manager.pk}"
    assert response.context["next_query"] == f"period=quarter&on=2026-07-01&owner={manager.pk}"


def test_each_chart_table_downloads_as_csv_with_the_pages_numbers(admin_client, manager):
    gained_in_november(manager, 2)
    response = admin_client.get(reverse("dashboard:table_csv", args=["churn"]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Period,Gained,Lost,Net")
    assert len(lines) == 1 + 12  # the header and twelve months
    assert lines[-1].startswith("2026-11,2,0,2,")
    assert admin_client.get(reverse("dashboard:table_csv", args=["nope"])).status_code == 404


def test_csv_cells_a_spreadsheet_would_run_are_neutralised_but_numbers_stay_numbers():
    table = Table(
        "t", "T", ["Reason", "Net"], [['=HYPERLINK("x")', -5], ["@SUM(A1)", Decimal("1.50")]]
    )
    text = csv_response(table, "t.csv").content.decode("utf-8-sig")
    assert text.splitlines() == ["Reason,Net", '"\'=HYPERLINK(""x"")",-5', "'@SUM(A1),1.50"]


def test_a_chart_without_any_figure_is_not_drawn_but_its_table_is_shown():
    empty = Table("e", "E", ["Period", "N"], [["2026-01", 0], ["2026-02", None]], [Series("N", 1)])
    assert empty.chart() is None
    full = Table("f", "F", ["Period", "N"], [["2026-01", 0], ["2026-02", 3]], [Series("N", 1)])
    assert full.chart()["series"][0]["data"] == [0, 3]


def test_the_page_needs_the_same_queries_with_more_data_and_fewer_from_the_cache(
    admin_client, manager, django_assert_max_num_queries
):
    gained_in_november(manager, 2)
    with django_assert_max_num_queries(45) as first:
        admin_client.get(HOME, {"period": "quarter"})
    few = len(first.captured_queries)
    from django.core.cache import cache

    cache.clear()
    gained_in_november(manager, 30)
    with django_assert_max_num_queries(few) as second:
        admin_client.get(HOME, {"period": "quarter"})
    with django_assert_max_num_queries(10) as cached:
        admin_client.get(HOME, {"period": "quarter"})
    assert len(cached.captured_queries) < len(second.captured_queries) / 2
