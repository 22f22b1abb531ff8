"""The column mapping step: a shop's export goes in without renaming its columns."""

from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from playwright.sync_api import expect

from customers import importing
from customers.importing import mapping
from customers.importing.storage import store_text
from customers.models import ImportJob, ImportMapping, Interaction, MappingOrigin

from .conftest import log_in
from .factories import CustomerFactory

pytestmark = pytest.mark.django_db

SHOP_HEADER = "Kundennummer;Datum;Menge;Betrag;Bestellnr."
SHOP_FILE = (
    f"{SHOP_HEADER}\n"
    "K-1001;31.01.2024;2;12,99;B-1\n"
    "K-1002;01.02.2024;1;1.286,01;B-2\n"
    "K-1001;15.02.2024;3;7,50;B-3\n"
)
SHOP_COLUMNS = ["customer_external_id", "occurred_at", "", "amount", "external_id"]


def upload(client, content: str, *, target="interactions", name="sales.csv"):
    file = SimpleUploadedFile(name, content.encode(), "text/csv")
    return client.post(
        reverse("customers:import"), {"target": target, "mode": "all_or_nothing", "file": file}
    )


def mapping_url(job: ImportJob) -> str:
    return reverse("customers:import_mapping", args=[job.pk])


def form_data(columns: list[str], **extra) -> dict:
    data = {f"column_{index}": name for index, name in enumerate(columns)}
    data.update({"date_order": "DMY", "decimal_separator": ",", "save": "on"})
    data.update(extra)
    return data


def waiting_job(user, content: str = SHOP_FILE, target="interactions") -> ImportJob:
    job = ImportJob.objects.create(
        target=target, filename="sales.csv", created_by=user, status=ImportJob.Status.MAPPING
    )
    store_text(job, content)
    return job


# --- Guesses --------------------------------------------------------------------------


def test_a_german_shop_export_is_guessed_with_a_constant_kind_and_german_formats(settings):
    """Customer number, date, amount and order number are found; the quantity is ignored;
    every row is a purchase; the dates are day first and the amounts have a comma."""
    settings.LANGUAGE_CODE = "en"  # the guesses come from the data, not the language
    head = mapping.read_head(SHOP_FILE)
    assert head.header == ["Kundennummer", "Datum", "Menge", "Betrag", "Bestellnr."]

    columns = mapping.guess_columns(head.header, "interactions")

    assert columns == SHOP_COLUMNS
    assert mapping.guess_constants(columns, "interactions") == {"kind": "purchase"}
    assert mapping.guess_formats(head, columns) == ("DMY", ",")


@pytest.mark.parametrize(
    ("cell", "target", "field"),
    [
        ("E-Mail", "customers", "email"),
        ("Mail", "customers", "email"),
        ("E-posta", "customers", "email"),
        ("電子郵件", "customers", "email"),
        ("EMAIL ADDRESS", "customers", "email"),
        ("E-Mail", "interactions", "customer_email"),
        ("電子郵件", "interactions", "customer_email"),
        ("Kundennummer", "customers", "external_id"),
        ("Kunden-Nr.", "customers", "external_id"),
        ("Customer ID", "customers", "external_id"),
        ("Müşteri No", "customers", "external_id"),
        ("MÜŞTERİ NO", "customers", "external_id"),
        ("客戶編號", "customers", "external_id"),
        ("Kunden-Nr.", "interactions", "customer_external_id"),
        ("Customer #", "interactions", "customer_external_id"),
        ("Müşteri No", "interactions", "customer_external_id"),
        ("客戶編號", "interactions", "customer_external_id"),
        ("Betrag", "interactions", "amount"),
        ("Umsatz", "interactions", "amount"),
        ("Tutar", "interactions", "amount"),
        ("金額", "interactions", "amount"),
        ("Total", "interactions", "amount"),
        ("Amount", "interactions", "amount"),
        ("Datum", "interactions", "occurred_at"),
        ("Tarih", "interactions", "occurred_at"),
        ("日期", "interactions", "occurred_at"),
        ("Order date", "interactions", "occurred_at"),
        ("Bestellnummer", "interactions", "external_id"),
        ("Order ID", "interactions", "external_id"),
        ("Sipariş No", "interactions", "external_id"),
        ("訂單編號", "interactions", "external_id"),
        ("Name", "customers", "name"),
        ("Kunde", "customers", "name"),
        ("Ad Soyad", "customers", "name"),
        ("姓名", "customers", "name"),
        ("Customer since", "customers", "customer_since"),
        ("customer_since", "customers", "customer_since"),
        ("occurred at", "interactions", "occurred_at"),
        ("Menge", "interactions", ""),
        ("Quantity", "interactions", ""),
    ],
)
def test_header_names_in_the_apps_languages_are_recognised(cell, target, field):
    """Case, accents, spaces and punctuation do not matter."""
    assert mapping.guess_columns([cell], target) == [field]


def test_each_field_goes_to_the_first_best_column():
    """A second email column is left alone; a whole name beats one found inside a cell."""
    assert mapping.guess_columns(["Email", "E-Mail"], "customers") == ["email", ""]
    header = ["Datum der Bestellung", "Datum"]
    assert mapping.guess_columns(header, "interactions") == ["", "occurred_at"]
    assert mapping.guess_columns(["Kunden E-Mail", "Betrag (EUR)"], "interactions") == [
        "customer_email",
        "amount",
    ]


def test_a_huge_header_is_guessed_in_one_pass(settings):
    """Given 100,000 distinct column names (issue 17), every step looks at each cell a
    fixed number of times: one normalisation per cell for the guesses and the
    fingerprint, and the mapping page refuses the file for its number of columns."""
    header = [f"column {index}" for index in range(100_000)] + ["E-Mail"]
    calls = []
    real = mapping.normalise

    def counting(cell: str) -> str:
        calls.append(cell)
        return real(cell)

    with mock.patch.object(mapping, "normalise", counting):
        columns = mapping.guess_columns(header, "customers")
        assert len(calls) == len(header)
        mapping.fingerprint(header)
        assert len(calls) == 2 * len(header)
    assert columns[-1] == "email"
    assert mapping.own_columns(header, "customers") is None

    head = mapping.read_head(",".join(header) + "\n" + ",".join("x" * len(header)) + "\n")
    assert "more than 200 columns" in head.problem
    assert mapping.read_head(",".join(header)[:65536]).problem  # a header longer than the head
    exactly = ",".join(f"c{index}" for index in range(mapping.MAX_COLUMNS))
    assert mapping.read_head(f"{exactly}\n").problem == ""  # 200 columns: on the limit, fine
    assert "more than 200" in mapping.read_head(f"{exactly},c200\n").problem


def test_a_spreadsheets_file_is_read_with_its_bom_line_ends_and_quotes():
    text = '\ufeff"E-Mail";"Name, voll";Ort\r\n"a@example.org";"Ada; L";Bonn\r\n;;\r\n'
    head = mapping.read_head(text)
    assert head.header == ["E-Mail", "Name, voll", "Ort"]
    assert head.rows == [["a@example.org", "Ada; L", "Bonn"]]  # a blank line is no row
    assert mapping.read_head("\n\n").problem == "The file has no header row."


def test_the_apps_own_header_is_mapped_to_itself():
    assert mapping.own_columns(["Name", "EMAIL", "customer since"], "customers") == [
        "name",
        "email",
        "customer_since",
    ]
    assert mapping.own_columns(["name", "email", "name"], "customers") is None  # twice
    assert mapping.own_columns(["email"], "customers") is None  # name is required
    assert mapping.own_columns(["name", "Kundennummer"], "customers") is None
    assert mapping.own_columns(["kind", "amount"], "interactions") is None  # no customer


# --- What a good mapping is -----------------------------------------------------------


def problems_of(columns: list[str], constants=None, date_order="DMY", separator=","):
    head = mapping.read_head(SHOP_FILE)
    chosen = {
        "columns": columns,
        "constants": constants if constants is not None else {"kind": "purchase"},
        "date_order": date_order,
        "decimal_separator": separator,
    }
    return mapping.mapping_problems(chosen, "interactions", head)


def test_the_guessed_shop_mapping_has_no_problems():
    assert problems_of(SHOP_COLUMNS) == []


def test_a_field_for_two_columns_a_missing_field_and_a_double_kind_are_problems():
    columns = ["customer_external_id", "occurred_at", "external_id", "amount", "external_id"]
    assert problems_of(columns) == [
        "external_id is chosen for more than one column: “Menge”, “Bestellnr.”."
    ]
    assert problems_of(SHOP_COLUMNS, constants={}) == ["Choose a column for kind (it is required)."]
    customerless = ["", "occurred_at", "", "amount", "external_id"]
    assert problems_of(customerless) == [
        "Choose a column for one of: customer_email, customer_external_id."
    ]
    with_kind = ["customer_external_id", "occurred_at", "kind", "amount", "external_id"]
    problems = problems_of(with_kind)
    assert "kind has a column and a value for every row; choose one." in problems


def test_samples_the_chosen_formats_cannot_read_name_the_column_and_the_value():
    assert problems_of(SHOP_COLUMNS, date_order="MDY") == [
        "Column “Datum”: “31.01.2024” is not a date when read as month, day, year; "
        "is the order day, month, year?"
    ]
    problems = problems_of(SHOP_COLUMNS, separator=".")
    assert problems == [
        "Column “Betrag”: “12,99” is not an amount with a decimal point; "
        "is the decimal separator a comma?"
    ]


# --- Saved mappings -------------------------------------------------------------------


def test_a_saved_mapping_is_found_for_the_same_header_in_other_letter_case(manager):
    chosen = {
        "columns": SHOP_COLUMNS,
        "constants": {"kind": "purchase"},
        "date_order": "DMY",
        "decimal_separator": ",",
    }
    header = SHOP_HEADER.split(";")
    mapping.save_mapping(header=header, target="interactions", mapping=chosen, user=manager)
    mapping.save_mapping(header=header, target="interactions", mapping=chosen, user=manager)

    saved = mapping.saved_mapping([cell.upper() for cell in header], "interactions")
    assert ImportMapping.objects.count() == 1  # saved again: replaced, not added
    assert saved.as_job_mapping() == chosen
    assert mapping.saved_mapping(header, "customers") is None
    assert mapping.saved_mapping(header[:-1], "interactions") is None


def test_a_saved_mapping_naming_a_field_the_import_no_longer_has_is_not_used(manager):
    header = SHOP_HEADER.split(";")
    ImportMapping.objects.create(
        target="interactions",
        fingerprint=mapping.fingerprint(header),
        header=header,
        columns=["customer_external_id", "occurred_at", "quantity", "amount", "external_id"],
        date_order="DMY",
        decimal_separator=",",
    )
    assert mapping.saved_mapping(header, "interactions") is None


# --- The pages ------------------------------------------------------------------------


def test_a_shop_export_waits_on_the_mapping_page_with_the_guesses(manager, manager_client):
    """After upload the user lands on the mapping page (via the job's page): one row per
    column with its first values and the guessed field, the constant kind, the formats
    with an example read from the file."""
    response = upload(manager_client, SHOP_FILE)
    job = ImportJob.objects.get()
    assert job.status == ImportJob.Status.MAPPING
    assert job.queued_at is None  # no step: the repair job leaves it alone
    assert response["Location"] == job.get_absolute_url()
    assert manager_client.get(job.get_absolute_url())["Location"] == mapping_url(job)

    page = manager_client.get(mapping_url(job)).content.decode()

    assert '<option value="customer_external_id" selected>' in page
    assert '<option value="amount" selected>' in page
    assert "K-1001" in page and "1.286,01" in page
    assert '<option value="purchase" selected>' in page
    assert '<option value="DMY" data-example="31.01.2024 → 31 January 2024" selected>' in page
    assert '<option value="MDY" data-example="31.01.2024 → not a date in this order">' in page
    assert '<option value="," data-example="12,99 → 12.99" selected>' in page
    assert 'data-testid="decimal_separator-example">12,99 → 12.99<' in page
    assert "Ignore this column" in page


def test_mapping_the_columns_starts_the_check_and_saves_the_mapping(manager, manager_client):
    job = waiting_job(manager)
    data = form_data(SHOP_COLUMNS, constant_kind="purchase")

    response = manager_client.post(mapping_url(job), data)

    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATING
    assert job.queued_at is not None  # the check was asked for
    assert job.mapping_origin == MappingOrigin.CHOSEN
    assert job.mapping == {
        "columns": SHOP_COLUMNS,
        "constants": {"kind": "purchase"},
        "date_order": "DMY",
        "decimal_separator": ",",
    }
    saved = ImportMapping.objects.get()
    assert (saved.target, saved.header, saved.created_by) == (
        "interactions",
        SHOP_HEADER.split(";"),
        manager,
    )


def test_the_same_header_again_skips_the_step_with_the_saved_mapping(manager, manager_client):
    """The second upload goes straight to checking; its page says how it was mapped."""
    job = waiting_job(manager)
    manager_client.post(mapping_url(job), form_data(SHOP_COLUMNS, constant_kind="purchase"))

    upload(manager_client, SHOP_FILE.replace("B-", "C-"), name="sales-2.csv")

    second = ImportJob.objects.get(filename="sales-2.csv")
    assert second.status == ImportJob.Status.VALIDATING
    assert second.queued_at is not None
    assert second.mapping_origin == MappingOrigin.SAVED
    assert second.mapping == ImportJob.objects.get(pk=job.pk).mapping
    page = manager_client.get(second.get_absolute_url()).content.decode()
    assert "Columns mapped with your saved mapping" in page
    assert reverse("customers:import_mapping_change", args=[second.pk]) in page


def test_without_save_nothing_is_kept_for_the_next_file(manager, manager_client):
    job = waiting_job(manager)
    data = form_data(SHOP_COLUMNS, constant_kind="purchase")
    del data["save"]
    manager_client.post(mapping_url(job), data)
    assert ImportJob.objects.get().status == ImportJob.Status.VALIDATING
    assert not ImportMapping.objects.exists()


def test_a_field_mapped_twice_is_a_form_error_and_changes_nothing(manager, manager_client):
    job = waiting_job(manager)
    columns = ["customer_external_id", "occurred_at", "amount", "amount", "external_id"]

    response = manager_client.post(mapping_url(job), form_data(columns, constant_kind="purchase"))

    assert response.status_code == 422
    page = response.content.decode()
    assert "amount is chosen for more than one column: “Menge”, “Betrag”." in page
    job.refresh_from_db()
    assert (job.status, job.mapping, job.queued_at) == (ImportJob.Status.MAPPING, {}, None)
    assert not ImportMapping.objects.exists()


def test_a_sample_the_chosen_date_order_cannot_read_is_a_form_error(manager, manager_client):
    job = waiting_job(manager)
    data = form_data(SHOP_COLUMNS, constant_kind="purchase", date_order="MDY")

    response = manager_client.post(mapping_url(job), data)

    assert response.status_code == 422
    assert "Column “Datum”: “31.01.2024” is not a date" in response.content.decode()
    assert ImportJob.objects.get().status == ImportJob.Status.MAPPING


def test_an_export_of_the_apps_own_file_skips_the_step(manager, manager_client):
    response = upload(
        manager_client, "name,email\nAda,ada@example.org\n", target="customers", name="c.csv"
    )
    job = ImportJob.objects.get()
    assert response["Location"] == job.get_absolute_url()
    assert job.mapping_origin == MappingOrigin.OWN_COLUMNS
    assert job.mapping["columns"] == ["name", "email"]
    assert job.mapping["constants"] == {}
    assert job.status in (ImportJob.Status.VALIDATING, ImportJob.Status.VALIDATED)
    assert not ImportMapping.objects.exists()


def test_change_goes_back_to_mapping_until_the_import_is_asked_for(manager, manager_client):
    job = waiting_job(manager)
    manager_client.post(mapping_url(job), form_data(SHOP_COLUMNS, constant_kind="purchase"))
    change = reverse("customers:import_mapping_change", args=[job.pk])

    response = manager_client.post(change)

    assert response["Location"] == mapping_url(job)
    job.refresh_from_db()
    assert (job.status, job.queued_at, job.lease_token) == (ImportJob.Status.MAPPING, None, "")
    page = manager_client.get(mapping_url(job)).content.decode()
    assert '<option value="customer_external_id" selected>' in page  # the mapping kept

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.DONE)
    response = manager_client.post(change)
    assert response["Location"] == job.get_absolute_url()
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.DONE


def test_a_checked_file_whose_import_was_asked_for_cannot_be_remapped(manager, manager_client):
    job = waiting_job(manager)
    ImportJob.objects.filter(pk=job.pk).update(
        status=ImportJob.Status.VALIDATED, valid_rows=3, mapping={"columns": SHOP_COLUMNS}
    )
    job.refresh_from_db()
    assert job.can_change_mapping
    importing.job_apply_request(job=job, language="en")
    job.refresh_from_db()
    assert not job.can_change_mapping

    manager_client.post(reverse("customers:import_mapping_change", args=[job.pk]))

    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    assert job.queued_at is not None


def test_a_file_with_too_many_columns_gets_a_clear_error_on_the_page(manager, manager_client):
    header = ",".join(f"c{index}" for index in range(201))
    job = waiting_job(manager, f"{header}\n" + "x," * 200 + "x\n", target="customers")
    page = manager_client.get(mapping_url(job)).content.decode()
    assert "more than 200 columns" in page
    assert 'data-testid="mapping-columns"' not in page


def test_a_file_waiting_for_its_columns_can_be_cancelled(manager, manager_client):
    job = waiting_job(manager)
    manager_client.post(reverse("customers:import_cancel", args=[job.pk]))
    assert ImportJob.objects.get().status == ImportJob.Status.CANCELLED


def test_the_repair_job_leaves_a_file_waiting_for_its_columns_alone(manager):
    job = waiting_job(manager)
    assert not importing.repair_jobs()
    assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.MAPPING


# --- Who may map ----------------------------------------------------------------------


def test_only_the_uploader_and_admins_open_the_mapping_page(
    manager, other_manager, admin_client, staff_client, client
):
    job = waiting_job(manager)
    url = mapping_url(job)
    other = type(client)()
    other.force_login(other_manager)

    assert other.get(url).status_code == 404
    assert other.post(url, form_data(SHOP_COLUMNS, constant_kind="purchase")).status_code == 404
    assert other.post(reverse("customers:import_mapping_change", args=[job.pk])).status_code == 404
    assert admin_client.get(url).status_code == 200
    assert staff_client.get(url).status_code == 403  # no import permission at all
    assert client.get(url).status_code == 302  # to the login page
    assert ImportJob.objects.get().status == ImportJob.Status.MAPPING


def test_the_mapping_page_takes_the_same_queries_for_many_columns(
    manager, manager_client, django_assert_max_num_queries
):
    """One query for the file's head, one for the job, whatever the number of columns."""
    header = ";".join([*SHOP_HEADER.split(";"), *(f"Extra {index}" for index in range(150))])
    row = ";".join(["K-1", "31.01.2024", "1", "12,99", "B-1", *("x" * 150)])
    job = waiting_job(manager, f"{header}\n{row}\n{row}\n")
    with django_assert_max_num_queries(8):
        response = manager_client.get(mapping_url(job))
    assert response.status_code == 200
    assert response.content.decode().count("<select") == 155 + 3 + 2  # constants, formats


# --- End to end -----------------------------------------------------------------------


def test_a_mapped_shop_export_checks_as_purchases(
    manager, manager_client, django_capture_on_commit_callbacks
):
    """Upload, map, check: three purchases of the shop's two customers are valid.

    Needs the new row checker that reads job.mapping (the lead's part of issue 16); with
    the old one the header is refused as unknown columns."""
    CustomerFactory(name="Ada", email="ada@example.org", external_id="K-1001", owner=manager)
    CustomerFactory(name="Bob", email="bob@example.org", external_id="K-1002", owner=manager)
    upload(manager_client, SHOP_FILE)
    job = ImportJob.objects.get()
    with django_capture_on_commit_callbacks(execute=False):
        manager_client.post(mapping_url(job), form_data(SHOP_COLUMNS, constant_kind="purchase"))
    job.refresh_from_db()
    job.lease_token = ""

    job = importing.validate_import(job)

    assert (job.status, job.valid_rows, job.error_rows) == (ImportJob.Status.VALIDATED, 3, 0)
    assert not Interaction.objects.exists()


# --- In a browser, on a phone ---------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_shop_export_is_mapped_on_a_phone(page, manager, tmp_path):
    """At 390 px the columns stack as cards and nothing scrolls sideways; the guesses
    are already chosen, so one tap checks the file."""
    page.set_viewport_size({"width": 390, "height": 844})
    log_in(page, manager.username)
    page.goto(reverse("customers:import"))
    page.get_by_label("What to import").select_option("interactions")
    file = tmp_path / "sales.csv"
    file.write_text(SHOP_FILE, encoding="utf-8")
    page.get_by_label("CSV file").set_input_files(str(file))
    page.get_by_role("button", name="Check file").click()

    expect(page.get_by_role("heading", name="Which field is each column?")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    expect(page.get_by_label("Kundennummer")).to_have_value("customer_external_id")
    expect(page.get_by_label("Every row is a")).to_have_value("purchase")
    example = page.get_by_test_id("date_order-example")
    expect(example).to_have_text("31.01.2024 → 31 January 2024")
    page.get_by_label("Dates are written").select_option("MDY")
    expect(example).to_have_text("31.01.2024 → not a date in this order")
    page.get_by_label("Dates are written").select_option("DMY")
    page.screenshot(path=str(tmp_path / "mapping-390.png"), full_page=True)  # to look at
    page.get_by_role("button", name="Check the file").click()

    expect(page.get_by_test_id("mapping-origin")).to_contain_text("Columns mapped by you")
    job = ImportJob.objects.get()
    assert job.mapping["columns"] == SHOP_COLUMNS
