"""CSV export: the list's filters, formula-safe cells, re-importable, constant queries."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from customers import importing
from customers.exporting import neutralise_cell, unneutralise_cell
from customers.models import Customer, ImportJob, Interaction, Tag

from .factories import CompanyFactory, CustomerFactory, InteractionFactory, import_job

pytestmark = pytest.mark.django_db

CUSTOMERS_URL = reverse("customers:export_customers")
INTERACTIONS_URL = reverse("customers:export_interactions")


def download(client, url: str, params: dict | None = None) -> str:
    response = client.get(url, params or {})
    assert response.status_code == 200, response.content
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")  # so that Excel reads UTF-8
    return text.removeprefix("\ufeff")


def rows_of(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def reimport(user, text: str, target: str) -> ImportJob:
    job = import_job(target=target, filename="x.csv", content=text, created_by=user)
    job = importing.validate_import(job)
    assert job.error_rows == 0, job.errors
    return importing.apply_import(job)


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (
            '=HYPERLINK("http://evil.example","click")',
            '\'=HYPERLINK("http://evil.example","click")',
        ),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("'=already quoted", "''=already quoted"),
        ("'plain quote", "'plain quote"),
        ("O'Brien", "O'Brien"),
        ("plain", "plain"),
        (None, ""),
        (True, "yes"),
        (False, "no"),
        (Decimal("12.50"), "12.50"),
        (date(2024, 2, 29), "2024-02-29"),
    ],
)
def test_cells_that_a_spreadsheet_would_run_are_neutralised(value, cell):
    assert neutralise_cell(value) == cell
    if isinstance(value, str):
        assert unneutralise_cell(cell) == value  # the import gets the text back


def test_export_is_a_dated_csv_attachment(manager_client):
    response = manager_client.get(CUSTOMERS_URL)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    expected = f'attachment; filename="customers-{timezone.localdate():%Y-%m-%d}.csv"'
    assert response["Content-Disposition"] == expected


def test_formula_cells_are_neutralised_in_the_file(admin_client):
    CustomerFactory(
        name='=HYPERLINK("http://evil.example","click")',
        plan="+1+1",
        city="-2+3",
        notes="@SUM(A1:A9)",
        email="evil@example.org",
    )
    [row] = rows_of(download(admin_client, CUSTOMERS_URL))
    assert row["name"] == '\'=HYPERLINK("http://evil.example","click")'
    assert row["plan"] == "'+1+1"
    assert row["city"] == "'-2+3"
    assert row["notes"] == "'@SUM(A1:A9)"
    assert row["phone"].startswith("'+44")


def test_customers_round_trip_through_export_and_import(admin_user, admin_client, manager):
    vip, late = Tag.objects.create(name="vip"), Tag.objects.create(name="pays late")
    CustomerFactory(
        name='=Ada, the "first" programmer',
        email="ada@example.org",
        company=CompanyFactory(name="Analytical; Engines"),
        address="12 St James's Square\nLondon",
        city="London",
        country="United Kingdom",
        preferred_language="de",
        owner=manager,
        status=Customer.Status.AT_RISK,
        renewal_date=date(2026, 1, 31),
        monthly_value=Decimal("1234.56"),
        marketing_consent=True,
        notes="-likes tea\nand cake",
        tags=[vip, late],
    )
    CustomerFactory.create_batch(3, tags=[vip])
    CustomerFactory(name="Bare", email="", phone="", company=None, customer_since=None, plan="")
    exported = download(admin_client, CUSTOMERS_URL)
    before = rows_of(exported)
    assert len(before) == 5

    # Re-importing over the same customers changes nothing...
    job = reimport(admin_user, exported, "customers")
    assert (job.created_count, job.updated_count) == (1, 4)  # "Bare" has no email to match
    Customer.objects.filter(name="Bare").order_by("id").last().delete()
    assert download(admin_client, CUSTOMERS_URL) == exported

    # ...and into an empty database gives the same customers back.
    Customer.objects.all().delete()
    job = reimport(admin_user, exported, "customers")
    assert job.created_count == 5
    assert download(admin_client, CUSTOMERS_URL) == exported
    ada = Customer.objects.get(email="ada@example.org")
    assert ada.name == '=Ada, the "first" programmer'
    assert ada.notes == "-likes tea\nand cake"
    assert ada.phone_normalized.startswith("+44")


def test_interactions_round_trip_through_export_and_import(manager, manager_client, customer):
    now = timezone.now()
    InteractionFactory(
        customer=customer,
        kind=Interaction.Kind.PURCHASE,
        amount=Decimal("99.90"),
        sentiment="positive",
        subject="=Bought, again",
        body='Paid "cash"\nat the desk',
        occurred_at=now - timedelta(days=2),
    )
    InteractionFactory(customer=customer, direction="", subject="-", occurred_at=now)
    exported = download(manager_client, INTERACTIONS_URL)
    assert len(rows_of(exported)) == 2

    Interaction.objects.all().delete()
    job = reimport(manager, exported, "interactions")

    assert job.created_count == 2
    assert download(manager_client, INTERACTIONS_URL) == exported
    customer.refresh_from_db()
    assert customer.last_interaction_at == now


def test_exports_follow_the_customer_list_filters(admin_client):
    active = CustomerFactory(name="Active one", status=Customer.Status.ACTIVE)
    churned = CustomerFactory(name="Churned one", status=Customer.Status.CHURNED)
    CustomerFactory(name="Archived one", archived_at=timezone.now())
    InteractionFactory(customer=active, subject="About the active one")
    InteractionFactory(customer=churned, subject="About the churned one")

    everyone = rows_of(download(admin_client, CUSTOMERS_URL))
    assert [row["name"] for row in everyone] == ["Active one", "Churned one"]
    only_churned = rows_of(download(admin_client, CUSTOMERS_URL, {"status": "churned"}))
    assert [row["name"] for row in only_churned] == ["Churned one"]
    searched = rows_of(download(admin_client, CUSTOMERS_URL, {"q": "ACTIVE"}))
    assert [row["name"] for row in searched] == ["Active one"]
    interactions = rows_of(download(admin_client, INTERACTIONS_URL, {"status": "churned"}))
    assert [row["subject"] for row in interactions] == ["About the churned one"]


def test_an_account_manager_exports_their_own_book_by_default_as_in_the_list(
    manager_client, customer, others_customer
):
    rows = rows_of(download(manager_client, CUSTOMERS_URL))
    assert [row["email"] for row in rows] == [customer.email]
    rows = rows_of(download(manager_client, CUSTOMERS_URL, {"owner": ""}))
    assert len(rows) == 2


def test_invalid_filters_get_a_clear_error(admin_client):
    response = admin_client.get(CUSTOMERS_URL, {"status": "sleepy"})
    assert response.status_code == 400
    assert "status" in response.content.decode()


def _customers_with_tags(count: int) -> None:
    tags = [Tag.objects.create(name=f"tag{i}") for i in range(3)]
    company = CompanyFactory()
    customers = Customer.objects.bulk_create(
        Customer(name=f"Customer {i}", email=f"c{i}@example.org", company=company)
        for i in range(count)
    )
    Customer.tags.through.objects.bulk_create(
        Customer.tags.through(customer_id=customer.pk, tag_id=tag.pk)
        for customer in customers
        for tag in tags
    )


@pytest.mark.parametrize("count", [50, 500])
def test_export_queries_do_not_grow_with_the_rows(
    admin_client, django_assert_max_num_queries, count
):
    _customers_with_tags(count)
    with django_assert_max_num_queries(10):
        rows = rows_of(download(admin_client, CUSTOMERS_URL))
    assert len(rows) == count
    assert rows[0]["tags"] == "tag0;tag1;tag2"
    with django_assert_max_num_queries(10):
        download(admin_client, INTERACTIONS_URL)


def test_export_needs_the_export_permission(staff_client, client):
    assert staff_client.get(CUSTOMERS_URL).status_code == 403
    assert staff_client.get(INTERACTIONS_URL).status_code == 403
    response = client.get(CUSTOMERS_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
