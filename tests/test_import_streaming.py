"""Large imports: the file stored in chunks and read as a stream, rows checked and written
block by block in one transaction, memory that does not grow with the file."""

import tracemalloc
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from customers import importing
from customers.importing import checking, parsing, storage
from customers.models import Customer, ImportFileChunk, ImportJob, Interaction

from .factories import CustomerFactory, import_job

pytestmark = pytest.mark.django_db


def stored(user, content: bytes | str, **fields) -> ImportJob:
    job = ImportJob.objects.create(
        target=fields.pop("target", "customers"), filename="f.csv", created_by=user, **fields
    )
    data = content.encode() if isinstance(content, str) else content
    storage.store_upload(job, SimpleUploadedFile("f.csv", data, "text/csv"))
    return job


# --- Storage ----------------------------------------------------------------------------


def test_a_file_split_into_tiny_chunks_reads_back_the_same_rows(manager, monkeypatch):
    """Given a file with a BOM, CRLF line ends and a quoted cell spanning lines, stored in
    chunks of 7 characters (so chunk ends fall inside cells, quotes and CRLF pairs), when
    it is checked, then its rows, numbers and cells are those of the whole file."""
    monkeypatch.setattr(storage, "CHUNK_CHARS", 7)
    content = '\ufeffname,notes\r\nAda,"line one\r\nline two"\r\n\r\nGrace,plain\r\n'
    job = import_job(content=content, target="customers", filename="f.csv", created_by=manager)
    assert ImportFileChunk.objects.filter(job=job).count() > 5
    job = importing.validate_import(job)
    assert job.status == ImportJob.Status.VALIDATED, job.errors
    assert [(row["row"], row["values"]) for row in job.preview] == [
        (2, {"name": "Ada", "notes": "line one\r\nline two"}),
        (4, {"name": "Grace", "notes": "plain"}),
    ]


def test_windows_1252_is_read_when_the_file_is_not_utf8(manager):
    """A spreadsheet's "Müller" in Windows-1252 is read as Müller, not refused."""
    job = importing.validate_import(stored(manager, "name\nM\xfcller\n".encode("cp1252")))
    assert job.preview[0]["values"] == {"name": "Müller"}
    assert ImportFileChunk.objects.filter(job=job).count() == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name\nA\x00B\n", "This looks like a binary file, not a CSV file."),
        (b"  \n\n", "The file is empty."),
    ],
)
def test_an_unreadable_upload_is_a_form_error_and_no_job_is_left(manager_client, content, message):
    upload = SimpleUploadedFile("bad.csv", content, "text/csv")
    response = manager_client.post(
        reverse("customers:import"),
        {"target": "customers", "mode": "all_or_nothing", "file": upload},
    )
    assert response.status_code == 422
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    assert not ImportFileChunk.objects.exists()


# --- Header -----------------------------------------------------------------------------


def test_a_header_of_two_hundred_thousand_unknown_names_is_refused_at_once(manager):
    """Issue 17: a header of distinct unknown names was checked in quadratic time (a
    million names: hours). Now linear: the first 20 are named, the rest counted."""
    names = ",".join(f"col{n}" for n in range(200_000))
    job = importing.validate_import(
        import_job(
            content=f"name,{names}\nA\n",
            target="customers",
            filename="wide.csv",
            created_by=manager,
        )
    )
    assert job.status == ImportJob.Status.FAILED
    assert len(job.errors) == 21
    assert job.errors[-1]["message"] == "199,980 more unknown columns."


# --- Mapped columns ---------------------------------------------------------------------


def test_a_mapped_sales_log_reads_its_dates_amounts_and_constant_kind(manager, customer):
    """Given a German sales export mapped to the import's fields (quantity ignored, every
    row a purchase, dates day first, decimal comma), then it imports with its values."""
    CustomerFactory(name="Kunde", external_id="K-7", owner=manager)
    mapping = {
        "columns": ["customer_external_id", "occurred_at", "", "amount", "external_id"],
        "constants": {"kind": "purchase"},
        "date_order": "DMY",
        "decimal_separator": ",",
    }
    content = "Kundennummer;Datum;Menge;Betrag;Bestellnr.\nK-7;31.01.2026;2;1.286,01 €;B-1\n"
    job = importing.validate_import(
        import_job(
            content=content,
            target="interactions",
            filename="u.csv",
            created_by=manager,
            mapping=mapping,
        )
    )
    assert (job.valid_rows, job.error_rows) == (1, 0), job.errors
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING)
    job.refresh_from_db()
    importing.apply_import(job)
    purchase = Interaction.objects.get(external_id="B-1")
    assert (purchase.kind, purchase.amount) == ("purchase", Decimal("1286.01"))
    assert timezone.localdate(purchase.occurred_at).isoformat() == "2026-01-31"
    assert purchase.subject == "Purchase of 1286.01 on 2026-01-31"
    assert purchase.created_at is not None


# --- Blocks -----------------------------------------------------------------------------


def interactions_file(emails: list[str], external_ids: list[str] | None = None) -> str:
    ids = external_ids or [""] * len(emails)
    rows = "".join(
        f"{email},call,Hello {n},{external_id}\n"
        for n, (email, external_id) in enumerate(zip(emails, ids, strict=True))
    )
    return "customer_email,kind,subject,external_id\n" + rows


def apply(job: ImportJob) -> ImportJob:
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING)
    job.refresh_from_db()
    return importing.apply_import(job)


def test_a_row_gone_bad_in_the_last_block_undoes_the_blocks_written_before(manager, monkeypatch):
    """Given 5 valid rows checked in blocks of 2, when the last row's customer is deleted
    before the import, then the import refuses and nothing of the first 4 rows stays,
    although they were written before the last block was checked."""
    monkeypatch.setattr(checking, "BLOCK_ROWS", 2)
    for n in range(5):
        CustomerFactory(email=f"c{n}@example.org", owner=manager)
    job = importing.validate_import(
        import_job(
            content=interactions_file([f"c{n}@example.org" for n in range(5)]),
            target="interactions",
            filename="i.csv",
            created_by=manager,
        )
    )
    assert job.valid_rows == 5
    Customer.objects.filter(email="c4@example.org").delete()
    with pytest.raises(importing.ImportRefused):
        apply(job)
    assert not Interaction.objects.exists()
    job.refresh_from_db()
    assert (job.status, job.error_rows, job.errors[0]["row"]) == (ImportJob.Status.VALIDATED, 1, 6)


def test_a_repeated_external_id_in_a_later_block_is_an_error_not_already_imported(
    manager, monkeypatch
):
    """Rows 2 and 5 share an order number, in different blocks. Checking calls row 5 an
    error; importing the valid rows writes row 2 and still calls row 5 an error (its
    twin, written one block earlier, must not make it look "already imported")."""
    monkeypatch.setattr(checking, "BLOCK_ROWS", 2)
    CustomerFactory(email="c@example.org", owner=manager)
    content = interactions_file(["c@example.org"] * 4, ["A-1", "A-2", "A-3", "A-1"])
    job = importing.validate_import(
        import_job(
            content=content,
            target="interactions",
            filename="i.csv",
            created_by=manager,
            mode=ImportJob.Mode.VALID_ROWS,
        )
    )
    expected = [{"row": 5, "field": "external_id", "message": "Row 2 has the same external id."}]
    assert (job.valid_rows, job.errors) == (3, expected)
    job = apply(job)
    assert (job.status, job.created_count, job.skipped_rows, job.errors) == (
        ImportJob.Status.DONE,
        3,
        0,
        expected,
    )
    assert Interaction.objects.count() == 3


def test_checking_holds_a_block_in_memory_not_the_file(manager, monkeypatch):
    """Checking a file 4 times as long takes about the same peak memory: the rows are
    read as a stream and looked up block by block (with everything kept per row, the
    peak grew with the file: 4 times the rows, about 4 times the memory)."""
    monkeypatch.setattr(checking, "BLOCK_ROWS", 200)
    monkeypatch.setattr(storage, "CHUNK_CHARS", 20_000)
    customers = [CustomerFactory(email=f"c{n}@example.org", owner=manager) for n in range(20)]

    def peak(rows: int) -> int:
        emails = [customers[n % 20].email for n in range(rows)]
        job = import_job(
            content=interactions_file(emails),
            target="interactions",
            filename="i.csv",
            created_by=manager,
        )
        tracemalloc.start()
        job = importing.validate_import(job)
        _size, top = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert job.valid_rows == rows
        return top

    small, large = peak(2_000), peak(8_000)
    assert large < 1.5 * small, (small, large)


def test_parsing_reads_the_file_one_chunk_at_a_time(manager, monkeypatch):
    """The rows come from the chunks in order, and the reader never asks for the text
    of the whole file: one query per chunk, made as the rows are read."""
    monkeypatch.setattr(storage, "CHUNK_CHARS", 50)
    content = "name\n" + "".join(f"Customer {n:03}\n" for n in range(100))
    job = import_job(content=content, target="customers", filename="c.csv", created_by=manager)
    opened = parsing.read_file(job)
    first = next(opened.rows)
    assert first.values == {"name": "Customer 000"}
    assert opened.lines.chars < 100  # only the first chunk has been read
    assert sum(1 for _row in opened.rows) == 99
