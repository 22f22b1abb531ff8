"""CSV import: checked row by row, all-or-nothing by default, matched by email, in bulk."""

import time
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from customers import importing, tasks
from customers.access import ACCOUNT_MANAGER
from customers.importing import applying, checking
from customers.models import Company, Customer, ImportJob, Interaction, Tag

from .factories import CustomerFactory, UserFactory, import_job

pytestmark = pytest.mark.django_db

HEADER = "name,email,phone,company,owner,status,customer_since,monthly_value,tags,marketing_consent"


def make_job(
    user,
    content: str,
    *,
    target="customers",
    mode=ImportJob.Mode.ALL_OR_NOTHING,
    filename="upload.csv",
):
    return import_job(target=target, mode=mode, filename=filename, content=content, created_by=user)


def validated(user, content: str, **kwargs) -> ImportJob:
    return importing.validate_import(make_job(user, content, **kwargs))


def imported(user, content: str, **kwargs) -> ImportJob:
    job = validated(user, content, **kwargs)
    assert job.status == ImportJob.Status.VALIDATED, job.errors
    return importing.apply_import(job)


def errors_of(job: ImportJob) -> list[tuple]:
    return [(error["row"], error["field"], error["message"]) for error in job.errors]


# --- A good file ------------------------------------------------------------------------


def test_a_valid_customers_file_creates_the_customers(manager):
    """Every column is read: choices by label or value, company, owner, tags, consent."""
    content = (
        f"{HEADER}\n"
        "Ada Lovelace,ADA@example.org,+44 20 7946 0018,Analytical Engines,mike_manager,"
        "At risk,2021-03-04,120.50,vip; newsletter,yes\n"
        "Grace Hopper,grace@example.org,,,,active,,,,no\n"
    )
    job = validated(manager, content)
    assert (job.total_rows, job.valid_rows, job.error_rows) == (2, 2, 0)
    assert [row["action"] for row in job.preview] == ["create", "create"]
    assert job.preview[0]["row"] == 2
    assert not Customer.objects.exists()  # checking writes nothing

    job = importing.apply_import(job)

    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.updated_count) == (2, 0)
    assert job.finished_at is not None
    ada = Customer.objects.get(email="ada@example.org")
    assert ada.name == "Ada Lovelace"
    assert ada.company.name == "Analytical Engines"
    assert ada.owner == manager
    assert ada.status == Customer.Status.AT_RISK
    assert ada.customer_since == date(2021, 3, 4)
    assert ada.monthly_value == Decimal("120.50")
    assert sorted(ada.tags.values_list("name", flat=True)) == ["newsletter", "vip"]
    assert ada.marketing_consent is True
    assert ada.phone_normalized == "+442079460018"
    assert ada.search_text == "ada lovelace ada@example.org analytical engines"
    grace = Customer.objects.get(email="grace@example.org")
    assert (grace.status, grace.owner, grace.company, grace.marketing_consent) == (
        Customer.Status.ACTIVE,
        None,
        None,
        False,
    )
    assert grace.monthly_value == 0  # a blank cell in a new row takes the default


def test_blank_status_and_language_in_a_new_row_take_the_defaults(manager):
    job = imported(manager, "name,status,preferred_language\nAda,,\n")
    ada = Customer.objects.get()
    # No language: "" (the business's, BUSINESS_LANGUAGE), not a fixed "en".
    assert (ada.status, ada.preferred_language) == (Customer.Status.LEAD, "")
    assert job.created_count == 1


def test_a_churned_customer_gets_a_churn_date_as_in_the_form(manager):
    imported(manager, "name,status\nAda,churned\n")
    assert Customer.objects.get().churned_on == timezone.localdate()


# --- Invalid rows -----------------------------------------------------------------------


BAD_ROW_FILE = (
    "name,email,monthly_value\n"
    "Ada Lovelace,ada@example.org,10\n"
    "Grace Hopper,not-an-email,20\n"
    "Alan Turing,alan@example.org,30\n"
)


def test_one_invalid_row_imports_nothing_and_names_row_column_and_reason(manager):
    job = validated(manager, BAD_ROW_FILE)

    assert (job.total_rows, job.valid_rows, job.error_rows) == (3, 2, 1)
    assert errors_of(job) == [(3, "email", "Enter a valid email address.")]
    assert [row["action"] for row in job.preview] == ["create", "error", "create"]
    assert not job.can_apply
    with pytest.raises(importing.ImportRefused):
        importing.apply_import(job)
    assert not Customer.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED


def test_the_detail_page_shows_the_row_error_and_why_nothing_will_be_imported(
    manager, manager_client
):
    job = validated(manager, BAD_ROW_FILE)

    response = manager_client.get(job.get_absolute_url())

    html = response.content.decode()
    assert response.status_code == 200
    errors_table = html.split('data-testid="row-errors"')[1].split("</table>")[0]
    assert "<td>3</td>" in errors_table
    assert "<code>email</code>" in errors_table
    assert "Enter a valid email address." in errors_table
    assert "Nothing will be imported while any row is invalid" in html
    # The only way forward offered is the explicit "valid rows only" choice.
    assert html.count(reverse("customers:import_apply", args=[job.pk])) == 1
    assert 'name="mode" value="valid_rows"' in html


def test_valid_rows_mode_imports_the_other_rows(manager):
    job = validated(manager, BAD_ROW_FILE, mode=ImportJob.Mode.VALID_ROWS)
    assert job.can_apply

    job = importing.apply_import(job)

    assert job.status == ImportJob.Status.DONE
    assert (job.created_count, job.error_rows) == (2, 1)
    assert sorted(Customer.objects.values_list("email", flat=True)) == [
        "ada@example.org",
        "alan@example.org",
    ]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("customer_since", "04/03/2021", "“04/03/2021” does not start with the year"),
        ("renewal_date", "2021-02-30", "“2021-02-30” is not a date"),
        ("monthly_value", "twelve", "“twelve” is not an amount"),
        ("monthly_value", "-5", "Ensure this value is greater than or equal to 0."),
        ("status", "sleepy", "“sleepy” is not a valid choice; use one of: lead, onboarding,"),
        ("preferred_language", "Klingon", "“Klingon” is not a valid choice"),
        ("marketing_consent", "maybe", "Use yes or no."),
        ("name", "", "This field is required."),
        ("tags", "a;" + "x" * 51, "A tag can have at most 50 characters."),
    ],
)
def test_bad_values_are_row_errors(manager, column, value, message):
    content = f"name,{column}\nAda,{value}\n" if column != "name" else "name,city\n,Paris\n"
    job = validated(manager, content)
    assert job.error_rows == 1
    [(row, field, text)] = errors_of(job)
    assert (row, field) == (2, column)
    assert text.startswith(message)


def test_a_duplicate_email_inside_the_file_is_an_error_on_the_later_row(manager):
    content = "name,email\nAda,ada@example.org\nAda again,ADA@example.org\n"
    job = validated(manager, content)
    assert errors_of(job) == [
        (3, "email", "Row 2 has the same email; a customer can be in a file once.")
    ]


def test_an_unknown_owner_is_a_row_error(admin_user):
    job = validated(admin_user, "name,owner\nAda,nobody_here\n")
    assert errors_of(job) == [(2, "owner", "No user has the username “nobody_here”.")]


def test_owner_must_be_a_manager_and_managers_assign_only_themselves(
    manager, other_manager, staff_user, admin_user
):
    content = "name,owner\nA,sam_staff\nB,olga_other\nC,Mike_Manager\n"
    job = validated(manager, content)
    assert errors_of(job) == [
        (2, "owner", "“sam_staff” is not an active account manager or admin."),
        (3, "owner", "You can only make yourself the account manager."),
    ]
    assert validated(admin_user, content).error_rows == 1  # an admin may assign anyone


def test_a_row_too_long_for_the_header_is_an_error(manager):
    job = validated(manager, "name,email\nAda,ada@example.org,surprise\n")
    assert errors_of(job) == [(2, "", "This row has more cells than the header has columns.")]


def test_stored_errors_are_capped_but_counts_stay_exact(manager, monkeypatch):
    monkeypatch.setattr(checking, "MAX_STORED_ERRORS", 5)
    content = "name,email\n" + "".join(f"N{i},bad{i}\n" for i in range(12))
    job = validated(manager, content)
    assert (job.error_rows, len(job.errors)) == (12, 5)


# --- The header -------------------------------------------------------------------------


def test_unknown_and_missing_columns_stop_the_file(manager):
    job = validated(manager, "email,colour\nada@example.org,red\n")
    assert job.status == ImportJob.Status.FAILED
    assert "colour" in job.failure and "name" in job.failure
    assert [(row, field) for row, field, _message in errors_of(job)] == [
        (1, "colour"),
        (1, "name"),
    ]
    assert errors_of(job)[1][2] == "This required column is missing."
    assert not job.can_apply


def test_headers_match_in_any_case_and_semicolons_and_a_bom_are_understood(manager):
    content = "\ufeff Name ;E-MAIL;Monthly Value;Tags\nAda;ada@example.org;12,50;a;b\n"
    job = validated(manager, content)
    # "E-MAIL" is not "email": reported, so nobody loses a column silently.
    assert job.status == ImportJob.Status.FAILED
    assert [e["field"] for e in job.errors] == ["e-mail"]

    content = '\ufeff Name ;EMAIL;Monthly Value;Tags\r\nAda;ada@example.org;12,50;"a;b"\r\n'
    imported(manager, content)
    ada = Customer.objects.get()
    assert (ada.name, ada.email, ada.monthly_value) == ("Ada", "ada@example.org", Decimal("12.5"))
    assert sorted(ada.tags.values_list("name", flat=True)) == ["a", "b"]


def test_quoted_cells_with_newlines_keep_spreadsheet_row_numbers(manager):
    content = 'name,notes\nAda,"line one\nline two"\n\nGrace,x\n,missing name\n'
    job = validated(manager, content)
    assert job.total_rows == 3  # the blank line is no row...
    assert errors_of(job) == [(5, "name", "This field is required.")]  # ...but keeps its number


# --- Matching existing customers --------------------------------------------------------


def test_an_email_in_another_case_updates_the_customer_instead_of_duplicating(manager):
    vip = Tag.objects.create(name="vip")
    ada = CustomerFactory(
        name="Ada L.",
        email="ada@example.org",
        phone="+44 1",
        city="London",
        plan="Growth",
        owner=manager,
        tags=[vip],
    )
    content = "name,email,phone,city,plan,tags\nAda Lovelace,ADA@Example.ORG,,Paris,,new\n"

    job = imported(manager, content)

    assert (job.created_count, job.updated_count) == (0, 1)
    assert job.preview[0]["action"] == "update"
    assert Customer.objects.count() == 1
    ada.refresh_from_db()
    assert ada.name == "Ada Lovelace"
    assert ada.city == "Paris"
    assert ada.phone == "+44 1"  # blank cell: left as it was
    assert ada.plan == "Growth"  # blank cell: left as it was
    assert ada.company is not None  # no company column: left as it was
    assert ada.owner == manager  # no owner column: left as it was
    assert list(ada.tags.values_list("name", flat=True)) == ["new"]
    assert ada.search_text.startswith("ada lovelace ada@example.org")


def test_a_manager_cannot_update_another_managers_customer(manager, others_customer):
    job = validated(manager, "name,email\nNew name,charles@example.org\n")
    [(row, field, message)] = errors_of(job)
    assert (row, field) == (2, "email")
    assert "another account manager" in message


def test_customers_sharing_an_email_must_be_merged_first(admin_user):
    CustomerFactory(email="twin@example.org")
    CustomerFactory(email="TWIN@example.org")
    job = validated(admin_user, "name,email\nTwin,twin@example.org\n")
    assert errors_of(job) == [
        (2, "email", "2 customers have this email; merge them before importing.")
    ]


def test_companies_and_tags_are_reused(manager):
    Company.objects.create(name="Acme")
    Tag.objects.create(name="vip")
    imported(manager, "name,company,tags\nA,Acme,vip\nB,Acme,vip;new\n")
    assert Company.objects.count() == 1
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["new", "vip"]


# --- Interactions -----------------------------------------------------------------------

INTERACTIONS_HEADER = "customer_email,kind,direction,subject,body,amount,sentiment,occurred_at"


def test_interactions_are_linked_by_email_and_move_last_contact(manager, customer):
    content = (
        f"{INTERACTIONS_HEADER}\n"
        "ADA@example.org,Purchase,inbound,Bought the plan,,99.00,positive,"
        "2024-05-01T10:00:00+02:00\n"
        "ada@example.org,call,outbound,Follow-up,All good,,,2024-05-02 09:30\n"
    )
    job = imported(manager, content, target="interactions")

    assert job.created_count == 2
    purchase, call = customer.interactions.order_by("occurred_at")
    assert (purchase.kind, purchase.amount, purchase.sentiment) == (
        "purchase",
        Decimal("99"),
        "positive",
    )
    assert purchase.occurred_at == datetime(2024, 5, 1, 8, 0, tzinfo=ZoneInfo("UTC"))
    assert purchase.recorded_by == manager
    assert call.occurred_at == datetime(2024, 5, 2, 9, 30, tzinfo=ZoneInfo("UTC"))
    customer.refresh_from_db()
    assert customer.last_interaction_at == call.occurred_at


def test_a_naive_time_is_in_the_current_time_zone(manager, customer, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    content = "customer_email,kind,subject,occurred_at\nada@example.org,note,Hi,2024-01-15 12:00\n"
    imported(manager, content, target="interactions")
    assert Interaction.objects.get().occurred_at == datetime(
        2024, 1, 15, 12, 0, tzinfo=ZoneInfo("Europe/Berlin")
    )


def test_interaction_rows_with_unknown_customers_or_bad_values_are_errors(manager, customer):
    tomorrow = (timezone.now() + timedelta(days=3)).isoformat()
    content = (
        "customer_email,kind,subject,amount,occurred_at\n"
        "ghost@example.org,call,Hello,,\n"
        "ada@example.org,purchase,No amount,,\n"
        "ada@example.org,call,Call with amount,5,\n"
        "ada@example.org,dance,Odd kind,,\n"
        f"ada@example.org,call,From the future,,{tomorrow}\n"
        "ada@example.org,call,Bad time,,yesterday\n"
        "ada@example.org,note,Fine,,\n"
    )
    job = validated(manager, content, target="interactions")
    errors = errors_of(job)
    assert errors[0] == (2, "customer_email", "No customer has this email address.")
    assert errors[1] == (3, "amount", "A purchase needs an amount.")
    assert errors[2][:2] == (4, "amount")
    assert errors[3][:2] == (5, "kind")
    assert errors[4] == (6, "occurred_at", "An interaction cannot be in the future.")
    assert errors[5][:2] == (7, "occurred_at")
    assert "“yesterday” is not a date" in errors[5][2]
    assert (job.valid_rows, job.error_rows) == (1, 6)


def test_a_purchase_in_a_file_without_an_amount_column_is_reported_on_that_column(
    manager, customer
):
    job = validated(
        manager,
        "customer_email,kind,subject\nada@example.org,purchase,Bought\n",
        target="interactions",
    )
    assert errors_of(job) == [(2, "amount", "A purchase needs an amount.")]


# --- Applying safely --------------------------------------------------------------------


def test_apply_checks_again_and_refuses_when_the_data_changed(manager, customer):
    content = "customer_email,kind,subject\nada@example.org,call,Hello\n"
    job = validated(manager, content, target="interactions")
    assert job.can_apply
    customer.delete()  # someone deletes the customer before the import is confirmed

    with pytest.raises(importing.ImportRefused):
        importing.apply_import(job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED
    assert errors_of(job) == [(2, "customer_email", "No customer has this email address.")]
    assert "the data changed since the check" in job.failure
    assert not Interaction.objects.exists()


def test_an_unexpected_error_fails_the_job_and_writes_nothing(manager, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(applying, "_set_tags", explode)  # after the customers are written
    job = validated(manager, "name,email,tags\nAda,ada@example.org,vip\n")

    job = importing.apply_import(job)

    assert job.status == ImportJob.Status.FAILED
    assert "disk on fire" in job.failure and "Nothing was imported" in job.failure
    assert not Customer.objects.exists()
    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED


def test_the_apply_task_imports_once_however_often_it_runs(manager):
    job = validated(manager, "name,email\nAda,ada@example.org\n")

    tasks.apply_import_job(job.pk)
    tasks.apply_import_job(job.pk)

    job.refresh_from_db()
    assert (job.status, job.created_count) == (ImportJob.Status.DONE, 1)
    assert Customer.objects.count() == 1


def test_a_cancelled_job_is_never_applied(manager, manager_client):
    job = validated(manager, "name\nAda\n")
    response = manager_client.post(reverse("customers:import_cancel", args=[job.pk]))
    assert response.status_code == 302

    tasks.apply_import_job(job.pk)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert not Customer.objects.exists()


def test_validation_does_not_resurrect_a_cancelled_job(manager):
    job = make_job(manager, "name\nAda\n")
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CANCELLED)
    tasks.validate_import_job(job.pk)
    job.refresh_from_db()
    assert (job.status, job.total_rows) == (ImportJob.Status.CANCELLED, 0)


# --- Progress ---------------------------------------------------------------------------


def test_progress_is_reported_per_block_and_written_to_the_cache(manager, monkeypatch):
    """Given a file of 1,200 rows checked in blocks of 500, when it is checked, then the
    progress is reported after each block with the file's rows estimated from how much
    of it was read (exact at the end); the import reports against the known total."""
    monkeypatch.setattr(checking, "BLOCK_ROWS", 500)
    content = "name\n" + "".join(f"Customer {i:04}\n" for i in range(1200))
    job = make_job(manager, content)
    calls = []

    importing.validate_import(job, lambda *args: calls.append(args))
    assert [(phase, done) for phase, done, _total in calls] == [
        ("validating", 500),
        ("validating", 1000),
        ("validating", 1200),
    ]
    # The header makes the first blocks a little longer than their share: within 1 %.
    assert all(abs(total - 1200) <= 12 for _phase, _done, total in calls)
    assert calls[-1] == ("validating", 1200, 1200)

    written = []
    real_set = cache.set

    def spy(key, value, *args, **kwargs):
        if key == f"import-progress:{job.pk}":
            written.append(value)
        return real_set(key, value, *args, **kwargs)

    monkeypatch.setattr(cache, "set", spy)
    tasks.apply_import_job(job.pk)
    phases = [(value["phase"], value["done"], value["total"]) for value in written]
    assert ("writing", 500, 1200) in phases
    assert ("writing", 1000, 1200) in phases
    assert phases[-1] == ("writing", 1200, 1200)
    assert tasks.read_progress(job.pk) is None  # cleared when the step ends


# --- The pages --------------------------------------------------------------------------


def test_upload_checks_the_file_and_apply_imports_it(
    manager, manager_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile("people.csv", b"name,email\nAda,ada@example.org\n", "text/csv")
    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(
            reverse("customers:import"),
            {"target": "customers", "mode": "all_or_nothing", "file": upload},
        )
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == job.get_absolute_url()
    assert (job.status, job.filename, job.created_by) == (
        ImportJob.Status.VALIDATED,
        "people.csv",
        manager,
    )
    page = manager_client.get(job.get_absolute_url()).content.decode()
    assert "Import 1 row" in page
    assert 'data-testid="preview"' in page

    with django_capture_on_commit_callbacks(execute=True):
        response = manager_client.post(reverse("customers:import_apply", args=[job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert Customer.objects.get().email == "ada@example.org"


def test_an_empty_upload_gets_a_form_error(manager_client):
    upload = SimpleUploadedFile("empty.csv", b"", "text/csv")
    response = manager_client.post(
        reverse("customers:import"),
        {"target": "customers", "mode": "all_or_nothing", "file": upload},
    )
    assert response.status_code == 422
    assert not ImportJob.objects.exists()


def test_the_upload_page_lists_the_columns_and_only_my_jobs(manager, other_manager, manager_client):
    make_job(manager, "name\nA\n", filename="mine.csv")
    make_job(other_manager, "name\nB\n", filename="theirs.csv")
    html = manager_client.get(reverse("customers:import")).content.decode()
    assert "<code>customer_email</code>" in html and "<code>marketing_consent</code>" in html
    assert "mine.csv" in html and "theirs.csv" not in html


def test_a_running_job_polls_for_progress_and_reloads_when_done(manager, manager_client):
    job = make_job(manager, "name\nAda\n")
    tasks.record_progress(job.pk, "validating", 250, 1000)
    page = manager_client.get(job.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 1s"' in page
    assert 'http-equiv="refresh"' in page  # without JavaScript

    url = reverse("customers:import_progress", args=[job.pk])
    partial = manager_client.get(url, headers={"HX-Request": "true"})
    assert "250 of about 1,000 rows" in partial.content.decode()
    assert 'hx-trigger="every 1s"' in partial.content.decode()

    importing.validate_import(job)
    done = manager_client.get(url, headers={"HX-Request": "true"})
    assert done.headers.get("HX-Refresh") == "true"
    assert "hx-trigger" not in manager_client.get(job.get_absolute_url()).content.decode()


def test_someone_elses_job_is_not_found_but_admins_see_it(
    manager, other_manager, admin_client, client
):
    job = make_job(other_manager, "name\nAda\n")
    client.force_login(manager)
    for name in ("import_detail", "import_progress"):
        assert client.get(reverse(f"customers:{name}", args=[job.pk])).status_code == 404
    for name in ("import_apply", "import_cancel"):
        assert client.post(reverse(f"customers:{name}", args=[job.pk])).status_code == 404
    assert admin_client.get(job.get_absolute_url()).status_code == 200


def test_import_needs_the_import_permission(staff_client, client, manager):
    job = make_job(manager, "name\nAda\n")
    assert staff_client.get(reverse("customers:import")).status_code == 403
    assert staff_client.get(job.get_absolute_url()).status_code == 403
    response = client.get(reverse("customers:import"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- Housekeeping -----------------------------------------------------------------------


def test_purge_deletes_old_finished_jobs_and_leaves_running_ones_to_the_repair_job(manager):
    """A job whose worker died is the repair job's (tests/test_import_recovery.py), and a
    checked file whose import waits for a worker is not finished."""
    old = timezone.now() - timedelta(days=8)
    done_old = make_job(manager, "name\nA\n")
    done_new = make_job(manager, "name\nA\n")
    running = make_job(manager, "name\nA\n")
    waiting = make_job(manager, "name\nA\n")
    ImportJob.objects.filter(pk=done_old.pk).update(status="done", finished_at=old)
    ImportJob.objects.filter(pk=done_new.pk).update(status="done", finished_at=timezone.now())
    ImportJob.objects.filter(pk=running.pk).update(status="importing", created_at=old)
    ImportJob.objects.filter(pk=waiting.pk).update(
        status="validated", created_at=old, queued_at=timezone.now()
    )

    tasks.purge_old_import_jobs()

    assert set(ImportJob.objects.values_list("pk", flat=True)) == {
        done_new.pk,
        running.pk,
        waiting.pk,
    }
    running.refresh_from_db()
    assert running.status == ImportJob.Status.IMPORTING


# --- Size -------------------------------------------------------------------------------


def test_a_20000_row_file_validates_and_imports(manager, capsys):
    """A large file goes through whole. Its time is printed for information only: speed is
    measured by `make bench`, not asserted in a unit test."""
    UserFactory(username="second_manager", role=ACCOUNT_MANAGER)
    CustomerFactory.create_batch(50, owner=manager)  # some rows update existing customers
    existing = list(Customer.objects.values_list("email", flat=True))
    lines = [HEADER]
    for i in range(20_000):
        email = existing[i] if i < len(existing) else f"bulk{i}@example.org"
        lines.append(
            f"Customer {i},{email},+1 555 {i:05d},Company {i % 300},mike_manager,active,"
            f"2022-01-{i % 28 + 1:02d},{i % 500}.00,tag{i % 20};bulk,{'yes' if i % 2 else 'no'}"
        )
    job = make_job(manager, "\n".join(lines) + "\n")

    started = time.perf_counter()
    job = importing.validate_import(job)
    validated_at = time.perf_counter()
    job = importing.apply_import(job)
    finished = time.perf_counter()

    with capsys.disabled():
        print(
            f"\n20,000 rows: validate {validated_at - started:.1f}s, "
            f"apply {finished - validated_at:.1f}s"
        )
    assert (job.status, job.error_rows) == (ImportJob.Status.DONE, 0), job.errors[:3]
    assert (job.created_count, job.updated_count) == (19_950, 50)
    assert Customer.objects.count() == 20_000
    assert Customer.tags.through.objects.count() == 40_000


def test_after_seeing_errors_the_user_can_import_only_the_valid_rows(
    manager, manager_client, django_capture_on_commit_callbacks
):
    upload = SimpleUploadedFile(
        "mixed.csv", b"name,email\nAda,ada@example.org\nBad,not-an-email\n", "text/csv"
    )
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(
            reverse("customers:import"),
            {"target": "customers", "mode": "all_or_nothing", "file": upload},
        )
    job = ImportJob.objects.get()
    page = manager_client.get(job.get_absolute_url()).content.decode()
    assert "Has invalid rows" in page and "Import the 1 valid row, skip the rest" in page
    with django_capture_on_commit_callbacks(execute=True):
        manager_client.post(
            reverse("customers:import_apply", args=[job.pk]), {"mode": "valid_rows"}
        )
    job.refresh_from_db()
    assert (job.status, job.mode, job.created_count) == ("done", "valid_rows", 1)
    assert list(Customer.objects.values_list("email", flat=True)) == ["ada@example.org"]
