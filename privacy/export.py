"""Everything held on one customer, as a zip of JSON and CSV files (GDPR access).

One file pair per table that holds rows of theirs (privacy/graph.py walks the model
graph, so a table added later is in the zip without a change here), plus their profile.
The zip is written to a temporary file as the rows are read (one query per table, rows
streamed in chunks), never built in memory; the view streams that file.
"""

import csv
import io
import json
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from typing import IO

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.exporting import neutralise_cell
from customers.models import Customer

from .graph import CustomerTable, customer_tables

CHUNK_SIZE = 2000
# Secrets of the customer's links and of workers' claims: they say nothing about the
# person, and a leaked export must not open their survey or card.
SECRET_MARKERS = ("token", "secret")
# Kept in step from other columns (exported as those).
DERIVED = {"search_text", "phone_normalized"}


def exported_fields(model: type[models.Model]) -> list[str]:
    """The columns of `model` that go into the export (foreign keys as their ids)."""
    return [
        field.attname
        for field in model._meta.concrete_fields
        if field.name not in DERIVED and not any(m in field.name for m in SECRET_MARKERS)
    ]


def file_stem(table: CustomerTable) -> str:
    """The zip entry of a table, without extension: "retention/pointsentry"."""
    return f"{table.model._meta.app_label}/{table.model._meta.model_name}"


def customer_export(customer: Customer) -> IO[bytes]:
    """A temporary file holding the zip, positioned at its start (the caller closes it)."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (the response streaming it closes it)
    with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        _write_table(archive, "customers/customer", _profile_fields(), [_profile(customer)])
        for table in customer_tables():
            fields = exported_fields(table.model)
            rows = table.rows(customer.pk).values(*fields).iterator(chunk_size=CHUNK_SIZE)
            _write_table(archive, file_stem(table), fields, rows)
        archive.writestr("README.txt", _readme(customer))
    spool.seek(0)
    return spool


def _profile_fields() -> list[str]:
    return [*exported_fields(Customer), "company_name", "owner_username", "tags"]


def _profile(customer: Customer) -> dict:
    row = {name: getattr(customer, name) for name in exported_fields(Customer)}
    row["company_name"] = customer.company.name if customer.company_id else ""
    row["owner_username"] = customer.owner.get_username() if customer.owner_id else ""
    row["tags"] = ", ".join(customer.tags.values_list("name", flat=True))
    return row


def _write_table(
    archive: zipfile.ZipFile, stem: str, fields: list[str], rows: Iterable[dict]
) -> None:
    """`stem`.json (a list of objects) and `stem`.csv (formula cells neutralised), from
    one pass over the rows: the CSV goes to a temporary file meanwhile, since a zip
    takes one entry at a time."""
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as csv_file:
        writer = csv.writer(csv_file)
        writer.writerow(fields)
        with archive.open(f"{stem}.json", "w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8")
            for chunk in _json_array(rows, writer, fields):
                text.write(chunk)
            text.flush()
            text.detach()
        csv_file.seek(0)
        with archive.open(f"{stem}.csv", "w") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            while block := csv_file.read(64 * 1024):
                text.write(block)
            text.flush()
            text.detach()


def _json_array(rows: Iterable[dict], writer, fields: list[str]) -> Iterator[str]:
    yield "["
    for index, row in enumerate(rows):
        writer.writerow([_cell(row[name]) for name in fields])
        yield ("," if index else "") + "\n  " + json.dumps(row, cls=DjangoJSONEncoder)
    yield "\n]\n"


def _cell(value) -> str:
    if isinstance(value, dict | list):
        value = json.dumps(value, cls=DjangoJSONEncoder)
    return neutralise_cell(value)


def _readme(customer: Customer) -> str:
    return _(
        "Data held on customer #%(id)s, exported %(when)s.\n"
        "One JSON and one CSV file per kind of record: customers/customer is the profile;\n"
        "the other files hold the rows that belong to this customer, ids as in the CRM.\n"
    ) % {"id": customer.pk, "when": timezone.now().strftime("%Y-%m-%d %H:%M %Z")}
