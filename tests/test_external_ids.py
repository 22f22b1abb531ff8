"""External ids: the business's own customer numbers and order numbers, matched on import.

A customer's external id is unique when set (blank for many); a customer file matches
on it before the email; an interaction file names its customer by either column; an
interaction whose external id is already here is "already imported", so the same sales
file imported twice creates nothing the second time.
"""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.urls import reverse

from customers import importing
from customers.exporting import customer_csv_lines, interaction_csv_lines
from customers.forms import CustomerForm
from customers.models import Customer, ImportJob, Interaction

from .factories import CustomerFactory, InteractionFactory, import_job

pytestmark = pytest.mark.django_db

SALES = "customer_external_id,external_id,kind,amount,occurred_at\n"
SALES_ROWS = (
    "C-1,ORD-1,purchase,12.99,2026-01-31T10:00:00+00:00\n"
    "C-1,ORD-2,purchase,5.00,2026-02-01T10:00:00+00:00\n"
    "C-2,ORD-3,refund,-4.50,2026-02-02T10:00:00+00:00\n"
)
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)


def job(user, content: str, *, target="interactions", mode=ImportJob.Mode.ALL_OR_NOTHING):
    return import_job(
        target=target, mode=mode, filename="upload.csv", content=content, created_by=user
    )


def check(user, content: str, **kwargs) -> ImportJob:
    return importing.validate_import(job(user, content, **kwargs))


def run(user, content: str, **kwargs) -> ImportJob:
    checked = check(user, content, **kwargs)
    assert checked.status == ImportJob.Status.VALIDATED, checked.errors
    return importing.apply_import(checked)


def errors_of(checked: ImportJob) -> list[tuple]:
    return [(error["row"], error["field"], error["message"]) for error in checked.errors]


def form_data(customer: Customer | None = None, **fields) -> dict:
    data = {
        "name": "Ada Lovelace",
        "email": "",
        "preferred_language": "en",
        "status": "active",
        "monthly_value": "0",
    }
    return {**data, **fields}


@pytest.fixture
def shop_customers(manager):
    return (
        CustomerFactory(external_id="C-1", email="ada@example.org", owner=manager),
        CustomerFactory(external_id="C-2", email="grace@example.org", owner=manager),
    )


# --- Unique when set -------------------------------------------------------------------


def test_a_second_customer_with_the_same_external_id_is_refused_on_the_field(admin_user):
    """Given a customer with external id C-1, when the form saves another with C-1, then
    the external id field has the error; the database refuses it too."""
    CustomerFactory(external_id="C-1", name="Ada")
    form = CustomerForm(data=form_data(external_id=" C-1 "), user=admin_user)
    assert not form.is_valid()
    assert form.errors["external_id"] == ["Another customer already has this external id: Ada."]
    with pytest.raises(IntegrityError), transaction.atomic():
        CustomerFactory(external_id="C-1")


def test_a_blank_external_id_is_allowed_many_times(admin_user):
    """Given customers without an external id, then one more without one is saved."""
    CustomerFactory(external_id="")
    CustomerFactory(external_id="")
    form = CustomerForm(data=form_data(), user=admin_user)
    assert form.is_valid(), form.errors
    form.save()
    assert Customer.objects.filter(external_id="").count() == 3


def test_editing_a_customer_keeps_its_own_external_id(admin_user):
    customer = CustomerFactory(external_id="C-1")
    form = CustomerForm(data=form_data(external_id="C-1"), instance=customer, user=admin_user)
    assert form.is_valid(), form.errors


def test_the_detail_page_shows_the_external_id(manager_client, manager):
    customer = CustomerFactory(external_id="SHOP-0042", owner=manager)
    page = manager_client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "SHOP-0042" in page
    form = manager_client.get(reverse("customers:edit", args=[customer.pk])).content.decode()
    assert 'name="external_id"' in form and 'value="SHOP-0042"' in form


# --- Customer files: external id first, then email ---------------------------------------


def test_a_customer_file_matches_on_the_external_id_before_the_email(manager, shop_customers):
    """Given C-1 with ada@, when a row says C-1 with a new email, then C-1 is updated
    (its email changed), not a new customer made."""
    ada, _grace = shop_customers
    done = run(
        manager,
        "name,external_id,email\nAda King,C-1,ada.king@example.org\nNew One,C-9,new@example.org\n",
        target="customers",
    )
    assert (done.created_count, done.updated_count) == (1, 1)
    ada.refresh_from_db()
    assert (ada.name, ada.email) == ("Ada King", "ada.king@example.org")
    assert Customer.objects.get(external_id="C-9").email == "new@example.org"


def test_a_row_matched_by_email_gets_the_external_id_when_it_has_none(manager):
    customer = CustomerFactory(email="ada@example.org", owner=manager)
    run(manager, "name,external_id,email\nAda,C-7,ADA@example.org\n", target="customers")
    customer.refresh_from_db()
    assert customer.external_id == "C-7"


def test_a_customer_file_refuses_an_email_of_a_customer_known_by_another_number(
    manager, shop_customers
):
    """Given ada@ is C-1, when a row says C-5 with ada@, then that row is an error on
    external_id (two customers?), and a row repeating an external id is one too."""
    ada, _grace = shop_customers
    checked = check(
        manager,
        "name,external_id,email\nAda,C-5,ada@example.org\nX,C-8,\nY,C-8,\n",
        target="customers",
    )
    assert errors_of(checked) == [
        (
            2,
            "external_id",
            f"The customer with this email, “{ada.name}”, has the external id “C-1”.",
        ),
        (4, "external_id", "Row 3 has the same external id; a customer can be in a file once."),
    ]


def test_the_export_has_the_external_ids_and_reimports_unchanged(manager, shop_customers):
    ada, _grace = shop_customers
    InteractionFactory(
        customer=ada, kind="purchase", amount=Decimal("3"), subject="Tea", external_id="ORD-1"
    )
    customer_lines = list(customer_csv_lines(Customer.objects.filter(pk=ada.pk)))
    assert customer_lines[0].removeprefix("\ufeff").startswith("name,external_id,email,")
    assert customer_lines[1].startswith(f"{ada.name},C-1,ada@example.org,")
    interaction_lines = list(interaction_csv_lines(Interaction.objects.all()))
    header = interaction_lines[0].removeprefix("\ufeff")
    assert header.startswith("customer_email,customer_external_id,external_id,kind,")
    assert interaction_lines[1].startswith("ada@example.org,C-1,ORD-1,purchase,")
    again = run(manager, "".join(interaction_lines))
    assert (again.created_count, again.skipped_rows) == (0, 1)


# --- Interaction files: the same sales file twice --------------------------------------


@time_machine.travel(NOW, tick=False)
@pytest.mark.parametrize("mode", [ImportJob.Mode.ALL_OR_NOTHING, ImportJob.Mode.VALID_ROWS])
def test_the_same_sales_file_imported_twice_creates_nothing_the_second_time(
    manager, shop_customers, mode
):
    """Given a sales file by customer number, without subjects, imported once, when it is
    imported again (either mode), then nothing new is written and the job says the rows
    were already imported; they are not errors."""
    first = run(manager, SALES + SALES_ROWS, mode=mode)
    assert (first.created_count, first.skipped_rows) == (3, 0)

    again = check(manager, SALES + SALES_ROWS, mode=mode)
    assert (again.valid_rows, again.error_rows, again.skipped_rows) == (0, 0, 3)
    assert [row["action"] for row in again.preview] == ["skip", "skip", "skip"]
    again = importing.apply_import(again)

    assert again.status == ImportJob.Status.DONE
    assert (again.created_count, again.skipped_rows) == (0, 3)
    assert Interaction.objects.count() == 3


@time_machine.travel(NOW, tick=False)
def test_a_file_with_old_and_new_rows_adds_only_the_new_ones(manager, shop_customers, client):
    run(manager, SALES + SALES_ROWS)
    more = SALES_ROWS + "C-2,ORD-4,purchase,7.25,2026-02-20T10:00:00+00:00\n"
    done = run(manager, SALES + more)
    assert (done.created_count, done.skipped_rows) == (1, 3)
    assert Interaction.objects.get(external_id="ORD-4").customer == shop_customers[1]
    client.force_login(manager)
    page = client.get(reverse("customers:import_detail", args=[done.pk])).content.decode()
    assert "3 rows were already imported and were skipped." in page


@time_machine.travel(NOW, tick=False)
def test_a_repeated_order_number_in_one_file_is_an_error(manager, shop_customers):
    rows = "C-1,ORD-1,purchase,1,2026-01-31\nC-1,ORD-1,purchase,2,2026-01-31\n"
    assert errors_of(check(manager, SALES + rows)) == [
        (3, "external_id", "Row 2 has the same external id.")
    ]


@time_machine.travel(NOW, tick=False)
def test_a_purchase_without_subject_gets_one_from_amount_and_date(manager, shop_customers):
    """Given purchase and refund rows without a subject, then each gets one from its
    amount (without sign) and the business's date, in the business's language."""
    run(manager, SALES + SALES_ROWS)
    subjects = dict(Interaction.objects.values_list("external_id", "subject"))
    assert subjects == {
        "ORD-1": "Purchase of 12.99 on 2026-01-31",
        "ORD-2": "Purchase of 5.00 on 2026-02-01",
        "ORD-3": "Refund of 4.50 on 2026-02-02",
    }


@time_machine.travel(NOW, tick=False)
def test_other_kinds_still_need_a_subject(manager, shop_customers):
    checked = check(manager, "customer_external_id,kind,subject\nC-1,call,\n")
    assert errors_of(checked) == [(2, "subject", "This field is required.")]
    checked = check(manager, "customer_external_id,kind\nC-1,note\n")
    assert errors_of(checked) == [(2, "subject", "This field is required.")]


# --- Naming the customer ---------------------------------------------------------------


@time_machine.travel(NOW, tick=False)
def test_bad_customer_references_are_row_errors_naming_the_column(manager, shop_customers):
    """Given rows with an unknown customer number, two columns naming different customers,
    or neither, then each is an error on its column and nothing is imported."""
    content = (
        "customer_email,customer_external_id,kind,amount\n"
        ",C-404,purchase,10\n"
        "grace@example.org,C-1,purchase,10\n"
        ",,purchase,10\n"
        "ada@example.org,C-1,purchase,10\n"
    )
    checked = check(manager, content)
    assert errors_of(checked) == [
        (2, "customer_external_id", "No customer has this external id."),
        (
            3,
            "customer_external_id",
            "customer_email and customer_external_id name different customers; "
            f"the external id is “{shop_customers[0].name}”'s.",
        ),
        (4, "customer_email", "Give the customer's email or customer_external_id."),
    ]
    assert (checked.valid_rows, checked.error_rows) == (1, 3)
    with pytest.raises(importing.ImportRefused):
        importing.apply_import(checked)
    assert not Interaction.objects.exists()


def test_a_file_without_any_customer_column_is_refused_at_the_header(manager):
    checked = check(manager, "kind,subject\ncall,Hello\n")
    assert checked.status == ImportJob.Status.FAILED
    assert errors_of(checked) == [
        (
            1,
            "customer_email",
            "The file needs one of these columns: customer_email, customer_external_id.",
        )
    ]


@time_machine.travel(NOW, tick=False)
def test_checking_a_file_takes_the_same_queries_whatever_its_length(
    manager, shop_customers, django_assert_max_num_queries
):
    """The lookups (customers by number, interactions by order number) are in bulk."""
    small = SALES + "C-1,ORD-1,purchase,1,2026-01-31\n"
    with django_assert_max_num_queries(12) as few:
        check(manager, small)
    rows = "".join(f"C-{1 + n % 2},ORD-{n},purchase,1,2026-01-31\n" for n in range(200))
    with django_assert_max_num_queries(len(few.captured_queries)):
        check(manager, SALES + rows)
