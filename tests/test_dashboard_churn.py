"""The dashboard's churn figures and cohorts, on hand-built histories, and the customer
list's filters that show the customers behind each figure."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from customers import membership
from customers.models import Customer, Interaction, StatusChange
from dashboard import churn
from dashboard.periods import MONTH, QUARTER, custom_period, period_containing
from dashboard.scope import EVERYONE, Scope

from .factories import UserFactory

Status = Customer.Status
pytestmark = pytest.mark.django_db

Q1 = period_containing(QUARTER, date(2026, 1, 1))
JAN, FEB, MAR = (period_containing(MONTH, date(2026, month, 1)) for month in (1, 2, 3))


def make(name: str, changes=(), *, purchases=(), since=None, plan="Growth", **fields):
    """A customer with exactly this status history [(day, status)] and these purchases
    [(day, amount)]; the current status is the last change's. Written in bulk (no save)."""
    customer = Customer.objects.create(
        name=name,
        status=changes[-1][1] if changes else Status.LEAD,
        customer_since=since,
        plan=plan,
        **fields,
    )
    StatusChange.objects.filter(customer=customer).delete()
    previous = ""
    rows = []
    for day, status in changes:
        rows.append(StatusChange(customer=customer, from_status=previous, to_status=status,
                                 changed_on=day))  # fmt: skip
        previous = status
    StatusChange.objects.bulk_create(rows)
    Interaction.objects.bulk_create(
        Interaction(
            customer=customer,
            kind=Interaction.Kind.PURCHASE,
            subject="Order",
            amount=Decimal(amount),
            occurred_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        )
        for day, amount in purchases
    )
    return customer


def many(count: int, prefix: str, first_day: date, *, churn_day=None, span_days=1, **fields):
    """`count` contract customers who became active from first_day on (one a day over
    span_days), churned on churn_day if given."""
    customers = Customer.objects.bulk_create(
        Customer(
            name=f"{prefix} {n}",
            status=Status.CHURNED if churn_day else Status.ACTIVE,
            plan="Growth",
            monthly_value=Decimal("10"),
            **fields,
        )
        for n in range(count)
    )
    changes = []
    for n, customer in enumerate(customers):
        start = first_day + timedelta(days=n % span_days)
        changes.append(StatusChange(customer=customer, to_status="active", changed_on=start))
        if churn_day:
            changes.append(
                StatusChange(
                    customer=customer, from_status="active", to_status="churned",
                    changed_on=churn_day,
                )
            )  # fmt: skip
    StatusChange.objects.bulk_create(changes)
    return customers


def rebuilt(today: date) -> None:
    membership.rebuild(today=today)


def figures_tuple(figures: churn.ChurnFigures) -> tuple:
    return (figures.gained, figures.lost, figures.at_start, figures.at_end, figures.net)


def listed(client, query: str) -> set[str]:
    """The names the customer list shows for this query string (all pages)."""
    response = client.get(reverse("customers:list") + "?" + query + "&sort=name")
    assert response.status_code == 200
    assert not response.context["filter"].errors
    page = response.context["page"]
    assert page.paginator.count <= 25, "the test lists one page"
    return {customer.name for customer in response.context["customers"]}


# --- The two churn rates ----------------------------------------------------------------------


def test_ten_lost_against_250_gained_in_a_quarter_is_4_percent():
    """Given 100 customers from last year, 10 of whom churn in February, and 250 new
    customers spread over the quarter, when the quarter's figures are read,
    then gained 250, lost 10, 100 at the start, 340 at the end: 4.0 % of those gained
    and 10.0 % of those at the start."""
    many(90, "Stayer", date(2025, 6, 1))
    many(10, "Leaver", date(2025, 6, 1), churn_day=date(2026, 2, 15))
    many(250, "Newcomer", Q1.start, span_days=90)
    rebuilt(date(2026, 4, 15))

    figures = churn.churn_figures(EVERYONE, Q1)

    assert figures_tuple(figures) == (250, 10, 100, 340, 240)
    assert (figures.gained_new, figures.gained_reactivated) == (250, 0)
    assert (figures.lost_churned, figures.lost_lapsed) == (10, 0)
    assert figures.rate_vs_gained == 4.0
    assert figures.rate_vs_start == 10.0
    assert figures.value_lost == Decimal("100.00")  # 10 x 10 a month


def test_rates_are_none_without_a_denominator():
    """Given nobody, then both rates are None (not 0, not an error)."""
    figures = churn.churn_figures(EVERYONE, Q1)
    assert figures_tuple(figures) == (0, 0, 0, 0, 0)
    assert (figures.rate_vs_gained, figures.rate_vs_start) == (None, None)


# --- Changes inside and across periods --------------------------------------------------------


@pytest.fixture
def first_quarter():
    """Customers whose status changes inside January, across months, on the edges."""
    make(
        "Across",  # a customer since December, lost in February
        [(date(2025, 12, 1), Status.ACTIVE), (date(2026, 2, 10), Status.CHURNED)],
    )
    make(
        "Inside",  # came and went in January
        [(date(2026, 1, 5), Status.ACTIVE), (date(2026, 1, 20), Status.CHURNED)],
    )
    make(
        "Wobbly",  # gained in January; at risk and back change nothing
        [
            (date(2026, 1, 25), Status.ACTIVE),
            (date(2026, 2, 3), Status.AT_RISK),
            (date(2026, 3, 1), Status.ACTIVE),
        ],
    )
    make(
        "Last day",  # lost on 31 January: no longer a customer at its end
        [(date(2025, 5, 1), Status.ACTIVE), (date(2026, 1, 31), Status.CHURNED)],
    )
    make("First day", [(date(2026, 2, 1), Status.ACTIVE)])  # gained on 1 February
    make(
        "Lost on the 1st",  # lost on 1 March: still a customer when March starts
        [(date(2025, 11, 1), Status.ACTIVE), (date(2026, 3, 1), Status.CHURNED)],
    )
    make("Lead", [(date(2026, 1, 2), Status.LEAD)])  # never a customer
    rebuilt(date(2026, 4, 1))


def test_status_changes_inside_and_across_months(first_quarter):
    """Given those histories, then per month (gained, lost, at start, at end, net):
    January (2, 2, 3, 3, 0): Inside and Wobbly gained, Inside and Last day lost;
    February (1, 1, 3, 3, 0): First day gained, Across lost; March (0, 1, 3, 2, -1):
    Lost on the 1st."""
    series = churn.churn_series(EVERYONE, [JAN, FEB, MAR])

    assert [figures_tuple(figures) for figures in series] == [
        (2, 2, 3, 3, 0),
        (1, 1, 3, 3, 0),
        (0, 1, 3, 2, -1),
    ]
    assert [figures.rate_vs_start for figures in series] == [66.7, 33.3, 33.3]
    assert [figures.rate_vs_gained for figures in series] == [100.0, 100.0, None]


def test_the_series_equals_the_figures_of_each_period(first_quarter):
    """The trend and the single-period figures agree, period by period, also for periods
    given out of order and with gaps between them (April's start counts the changes of
    February and March)."""
    april = MAR.next()
    assert churn.churn_figures(EVERYONE, april).at_start == 2
    for periods in (MAR.trailing(12), [april, JAN], [FEB, Q1.previous()]):
        assert churn.churn_series(EVERYONE, periods) == [
            churn.churn_figures(EVERYONE, period) for period in periods
        ]


def test_overlapping_periods_are_refused():
    with pytest.raises(ValueError, match="overlap"):
        churn.churn_series(EVERYONE, [Q1, FEB])


def test_reactivated_customers_count_as_lost_then_gained():
    """Given a contract customer churned on 10 January and active again on 5 March, and a
    shop customer (no contract) whose last purchase (5 July 2025, 30.00) lapses on
    1 January (+ 180 days) who buys again on 14 February, when the months are read,
    then January loses both (one churned, one lapsed; the shop's spend lost 30.00),
    February and March each gain one back, reactivated."""
    make(
        "Comeback",
        [
            (date(2025, 3, 1), Status.ACTIVE),
            (date(2026, 1, 10), Status.CHURNED),
            (date(2026, 3, 5), Status.ACTIVE),
        ],
        monthly_value=Decimal("80"),
    )
    make(
        "Shopper",
        purchases=[(date(2025, 7, 5), 30), (date(2026, 2, 14), 12)],
        plan="",
    )
    rebuilt(date(2026, 4, 1))

    jan, feb, mar = churn.churn_series(EVERYONE, [JAN, FEB, MAR])

    assert (jan.lost, jan.lost_churned, jan.lost_lapsed, jan.gained) == (2, 1, 1, 0)
    assert jan.spend_lost == Decimal("30.00")
    # 80 a month from the plan, 30 over the shop's spell of 180 days (5.92 months) = 5.07.
    assert jan.value_lost == Decimal("85.07")
    assert (feb.gained, feb.gained_reactivated, feb.lost) == (1, 1, 0)
    assert (mar.gained, mar.gained_reactivated, mar.at_end) == (1, 1, 2)


def test_a_lapse_counts_on_the_day_last_purchase_plus_n():
    """Given a shop customer whose last purchase was on 1 December 2025, then they are
    lost on 30 May 2026 (+ 180 days): not in the figures rebuilt on 29 May, in those
    rebuilt on 30 May, and a contract customer silent as long is never lost."""
    make("Shop", purchases=[(date(2025, 12, 1), 20)], plan="")
    make("Contract", purchases=[(date(2025, 12, 1), 20)], plan="Growth")
    may = period_containing(MONTH, date(2026, 5, 1))

    rebuilt(date(2026, 5, 29))
    assert churn.churn_figures(EVERYONE, may).lost == 0
    rebuilt(date(2026, 5, 30))
    figures = churn.churn_figures(EVERYONE, may)
    assert (figures.lost, figures.lost_lapsed, figures.at_end) == (1, 1, 1)
    assert (
        churn.churn_figures(EVERYONE, custom_period(date(2026, 5, 30), date(2026, 5, 30))).lost == 1
    )


# --- Scope ------------------------------------------------------------------------------------


def test_an_account_managers_scope_counts_their_book_only():
    """Given 3 customers gained in Q1 by one manager and 2 by another (one lost), then
    each scope counts its own, and everyone all of them."""
    mine, theirs = UserFactory(), UserFactory()
    many(3, "Mine", date(2026, 1, 10), owner=mine)
    many(1, "Theirs", date(2026, 1, 10), owner=theirs)
    many(1, "Theirs lost", date(2026, 1, 10), owner=theirs, churn_day=date(2026, 3, 1))
    rebuilt(date(2026, 4, 1))

    assert figures_tuple(churn.churn_figures(Scope(mine.pk), Q1)) == (3, 0, 0, 3, 3)
    assert figures_tuple(churn.churn_figures(Scope(theirs.pk), Q1)) == (2, 1, 0, 1, 1)
    assert figures_tuple(churn.churn_figures(EVERYONE, Q1)) == (5, 1, 0, 4, 4)


# --- Query counts ---------------------------------------------------------------------------


def test_the_selectors_use_a_fixed_number_of_queries(first_quarter, django_assert_num_queries):
    """One period or twelve: 1 query; the cohort table: 1."""
    with django_assert_num_queries(1):
        churn.churn_figures(EVERYONE, Q1)
    with django_assert_num_queries(1):
        churn.churn_series(Scope(owner_id=1), MAR.trailing(12))
    with django_assert_num_queries(1):
        churn.cohorts(EVERYONE, date(2026, 4, 1))


# --- Cohorts ----------------------------------------------------------------------------------


def test_cohorts_count_who_is_still_a_customer_k_months_on():
    """Given six customers first active in March 2026 (one stays; one lost on 10 April;
    one on 20 May; one churned on 2 April and back on 15 May; one churned in March and
    back on 1 April; one lost on 1 May) and one from January, read on 15 June,
    then March's cohort has 6, of whom 100 % on 1 April, 50 % on 1 May (the one lost
    that day no longer counts) and 50 % on 1 June (the comebacks count again, the May
    leaver no more); later months are None; January's one stays."""
    make("Stays", [(date(2026, 3, 2), Status.ACTIVE)])
    make("April", [(date(2026, 3, 5), Status.ACTIVE), (date(2026, 4, 10), Status.CHURNED)])
    make("May", [(date(2026, 3, 6), Status.ACTIVE), (date(2026, 5, 20), Status.CHURNED)])
    make(
        "Back",
        [
            (date(2026, 3, 31), Status.ACTIVE),
            (date(2026, 4, 2), Status.CHURNED),
            (date(2026, 5, 15), Status.ACTIVE),
        ],
    )
    make(
        "Back on the 1st",
        [
            (date(2026, 3, 10), Status.ACTIVE),
            (date(2026, 3, 20), Status.CHURNED),
            (date(2026, 4, 1), Status.ACTIVE),
        ],
    )
    make(
        "Gone on the 1st", [(date(2026, 3, 12), Status.ACTIVE), (date(2026, 5, 1), Status.CHURNED)]
    )
    make("January", [(date(2026, 1, 15), Status.ACTIVE)])
    make("Too old", [(date(2025, 5, 31), Status.ACTIVE)])
    today = date(2026, 6, 15)
    rebuilt(today)

    table = churn.cohorts(EVERYONE, today)

    assert table.offsets == tuple(range(1, 13))
    assert [row.month for row in table.rows][:1] == [date(2025, 6, 1)]
    assert [row.month for row in table.rows][-1] == date(2026, 6, 1)
    assert len(table.rows) == 13
    march = next(row for row in table.rows if row.month == date(2026, 3, 1))
    assert march.size == 6
    assert march.retained[:4] == (6, 3, 3, None)
    assert march.shares[:4] == (100.0, 50.0, 50.0, None)
    assert set(march.retained[3:]) == {None}
    january = next(row for row in table.rows if row.month == date(2026, 1, 1))
    assert (january.size, january.retained[:6]) == (1, (1, 1, 1, 1, 1, None))
    june = table.rows[-1]
    assert (june.size, set(june.shares)) == (0, {None})
    assert sum(row.size for row in table.rows) == 7  # "Too old" is before the window


# --- The customers behind each figure ---------------------------------------------------------


def test_the_customer_list_shows_exactly_the_customers_behind_each_figure(
    admin_client, first_quarter
):
    """Given the first-quarter histories (and an archived customer lost in January), then
    each figure's link lists exactly the customers it counts."""
    make(
        "Archived",
        [(date(2025, 1, 1), Status.ACTIVE), (date(2026, 1, 12), Status.CHURNED)],
        archived_at=datetime(2026, 1, 20, tzinfo=UTC),
    )
    rebuilt(date(2026, 4, 1))
    jan = churn.churn_figures(EVERYONE, JAN)

    gained = listed(admin_client, churn.customers_link("gained", JAN))
    assert gained == {"Inside", "Wobbly"} and len(gained) == jan.gained
    lost = listed(admin_client, churn.customers_link("lost", JAN))
    assert lost == {"Inside", "Last day", "Archived"} and len(lost) == jan.lost
    assert listed(admin_client, churn.customers_link("lost_churned", JAN)) == lost
    assert listed(admin_client, churn.customers_link("lost_lapsed", JAN)) == set()
    at_start = listed(admin_client, churn.customers_link("at_start", JAN))
    assert at_start == {"Across", "Last day", "Archived", "Lost on the 1st"}
    assert len(at_start) == jan.at_start
    at_end = listed(admin_client, churn.customers_link("at_end", JAN))
    assert at_end == {"Across", "Wobbly", "Lost on the 1st"} and len(at_end) == jan.at_end
    march_start = listed(admin_client, churn.customers_link("at_start", MAR))
    assert march_start == {"Wobbly", "First day", "Lost on the 1st"}


def test_cohort_links_list_the_cohort_and_who_was_left(admin_client):
    """Given January's cohort of two, one lost in February, then the cohort link lists
    both and the cell for 1 March lists the one left."""
    make("Left", [(date(2026, 1, 3), Status.ACTIVE), (date(2026, 2, 3), Status.CHURNED)])
    make("Kept", [(date(2026, 1, 9), Status.ACTIVE)])
    make("December", [(date(2025, 12, 9), Status.ACTIVE)])
    rebuilt(date(2026, 4, 1))

    assert listed(admin_client, churn.cohort_link(date(2026, 1, 1))) == {"Left", "Kept"}
    assert listed(admin_client, churn.cohort_link(date(2026, 1, 1), 2)) == {"Kept"}


def test_links_carry_the_scope_and_the_reason():
    """The query strings: a day range with an optional reason, the archived included,
    the owner for a manager's scope."""
    assert churn.customers_link("gained", JAN) == "gained=2026-01-01..2026-01-31&archived=all"
    assert churn.customers_link("lost_lapsed", Q1, Scope(7)) == (
        "lost=2026-01-01..2026-03-31%3Alapsed&archived=all&owner=7"
    )
    assert churn.customers_link("at_start", FEB) == "customer_on=2026-01-31&archived=all"
    assert churn.cohort_link(date(2026, 1, 1), 3) == (
        "cohort=2026-01&customer_on=2026-04-01&archived=all"
    )


def test_an_active_figure_filter_shows_as_a_chip_and_stays_in_the_links(admin_client, settings):
    """Given 3 customers lost in January and 1 per page, when the lost link is opened,
    then a chip names the filter and removes it, the form keeps it as a hidden field,
    the next page's link keeps it, and the export exports those three."""
    settings.CUSTOMERS_PER_PAGE = 1
    many(3, "Gone", date(2025, 6, 1), churn_day=date(2026, 1, 12))
    many(2, "Here", date(2025, 6, 1))
    rebuilt(date(2026, 4, 1))

    response = admin_client.get(reverse("customers:list") + "?" + churn.customers_link("lost", JAN))
    html = response.content.decode()

    assert response.context["page"].paginator.count == 3
    assert "Lost 2026-01-01 – 2026-01-31" in html
    assert 'href="?archived=all"' in html  # the chip's link drops the filter
    assert '<input type="hidden" name="lost" value="2026-01-01..2026-01-31"' in html
    assert "lost=2026-01-01..2026-01-31&amp;archived=all&amp;page=2" in html
    export = admin_client.get(
        reverse("customers:export_customers") + "?" + churn.customers_link("lost", JAN)
    )
    rows = b"".join(export.streaming_content).decode().strip().splitlines()
    assert len(rows) == 1 + 3  # the header and the three lost


@pytest.mark.parametrize(
    "query",
    ["gained=2026-01-01", "lost=2026-02-01..2026-01-01", "gained=2026-01-01..2026-01-31:gone",
     "cohort=2026-13", "customer_on=yesterday"],
)  # fmt: skip
def test_a_bad_figure_filter_is_an_error_not_a_crash(admin_client, query):
    response = admin_client.get(reverse("customers:list") + "?" + query)
    assert response.status_code == 200
    assert response.context["filter"].errors
    assert "Some filters are not valid" in response.content.decode()
