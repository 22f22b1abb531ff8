"""A shop's sales log through the CSV import: rows per second to check and to import.

`python -m bench.imports [ROWS]` (default 1,000,000) builds a German shop export
("Kundennummer;Datum;Menge;Betrag;Bestellnr.", amounts as "1.286,01 €", dates as
31.01.2026) on disk, uploads it as the import page does (decoded into chunks in the
database), maps its columns as a user would (kind: every row a purchase), then times
the check (validate_import) and the import (apply_import, all-or-nothing: everything
in one transaction), and reports rows/s and the process's peak memory. It runs on a
throwaway test database of whatever DATABASE_URL names; `make bench` runs it on
PostgreSQL. Target: 1,000,000 purchases checked and imported in under 5 minutes.
"""

import os
import random
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

ROWS = 1_000_000
CUSTOMERS = 10_000
TARGET_SECONDS = 300.0
HEADER = "Kundennummer;Datum;Menge;Betrag;Bestellnr.\n"
MAPPING = {
    "columns": ["customer_external_id", "occurred_at", "", "amount", "external_id"],
    "constants": {"kind": "purchase"},
    "date_order": "DMY",
    "decimal_separator": ",",
}


@dataclass
class ImportTiming:
    rows: int
    megabytes: float
    upload_seconds: float
    check_seconds: float
    import_seconds: float
    peak_mb: float

    @property
    def total_seconds(self) -> float:
        return self.check_seconds + self.import_seconds

    @property
    def target_seconds(self) -> float:
        return TARGET_SECONDS * self.rows / ROWS

    @property
    def passed(self) -> bool:
        return self.total_seconds <= self.target_seconds

    def lines(self) -> list[str]:
        return [
            f"A sales log of {self.rows:,} purchases ({self.megabytes:.0f} MB, "
            f"{CUSTOMERS:,} customers matched by customer number, German dates and amounts):",
            "",
            "| step | seconds | rows/s |",
            "|---|---|---|",
            f"| upload (decode into chunks) | {self.upload_seconds:.1f} | "
            f"{self.rows / self.upload_seconds:,.0f} |",
            f"| check | {self.check_seconds:.1f} | {self.rows / self.check_seconds:,.0f} |",
            f"| import (checked again, written) | {self.import_seconds:.1f} | "
            f"{self.rows / self.import_seconds:,.0f} |",
            "",
            f"Check + import {self.total_seconds:.0f} s against a target of "
            f"{self.target_seconds:.0f} s: {'PASS' if self.passed else 'FAIL'}. "
            f"Peak memory of the process {self.peak_mb:,.0f} MB "
            f"(load average {os.getloadavg()[0]:.1f}).",
        ]


def write_sales_log(path: Path, rows: int, seed: int = 16) -> None:
    rng = random.Random(seed)
    start = date(2025, 1, 1)
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        lines = []
        for number in range(rows):
            day = start + timedelta(days=rng.randrange(330))
            cents = rng.randrange(500, 250_000)
            amount = f"{cents // 100:,}".replace(",", ".") + f",{cents % 100:02} €"
            customer = rng.randrange(CUSTOMERS)
            lines.append(f"K-{customer};{day:%d.%m.%Y};{rng.randrange(1, 5)};{amount};B-{number}\n")
            if len(lines) == 10_000:
                out.write("".join(lines))
                lines = []
        out.write("".join(lines))


def _expect(condition: bool, detail: object = "") -> None:
    if not condition:
        raise RuntimeError(f"The import bench went wrong: {detail}")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(rows: int = ROWS) -> ImportTiming:
    """Time one sales log through upload, check and import on the current test database."""
    from django.core.files.uploadedfile import TemporaryUploadedFile
    from django.utils import timezone

    from customers import importing
    from customers.access import ADMIN
    from customers.models import Customer, ImportJob, Interaction
    from tests.factories import UserFactory

    user = UserFactory(role=ADMIN)
    Customer.objects.bulk_create(
        Customer(name=f"Kunde {n}", external_id=f"K-{n}", email=f"k{n}@example.de")
        for n in range(CUSTOMERS)
    )
    folder = Path(tempfile.mkdtemp())
    path = folder / "umsatz.csv"
    write_sales_log(path, rows)
    size = path.stat().st_size

    started = time.perf_counter()
    job = ImportJob.objects.create(
        target=ImportJob.Target.INTERACTIONS,
        filename=path.name,
        created_by=user,
        mapping=MAPPING,
    )
    upload = TemporaryUploadedFile(path.name, "text/csv", size, None)
    with path.open("rb") as source:
        while piece := source.read(1 << 20):
            upload.write(piece)
    upload.seek(0)
    importing.store_upload(job, upload)
    upload.close()
    path.unlink()
    uploaded = time.perf_counter()

    job = importing.validate_import(job)
    checked = time.perf_counter()
    _expect(job.status == ImportJob.Status.VALIDATED, (job.status, job.failure, job.errors[:3]))
    _expect((job.valid_rows, job.error_rows) == (rows, 0), job.errors[:3])

    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.IMPORTING)
    job.refresh_from_db()
    job = importing.apply_import(job)
    imported = time.perf_counter()
    _expect(job.status == ImportJob.Status.DONE, (job.status, job.failure))
    _expect(Interaction.objects.filter(kind="purchase").count() == rows)
    sample = Interaction.objects.order_by("id").first()
    _expect(sample.amount > Decimal(0) and sample.occurred_at <= timezone.now())
    return ImportTiming(
        rows=rows,
        megabytes=size / 1e6,
        upload_seconds=uploaded - started,
        check_seconds=checked - uploaded,
        import_seconds=imported - checked,
        peak_mb=peak_mb(),
    )


def main() -> int:
    # The test settings, as the other stand-alone benches: a test database of its own.
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings_test"
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment

    arguments = [argument for argument in sys.argv[1:] if not argument.startswith("--")]
    rows = int(arguments[0]) if arguments else ROWS
    if connection.vendor == "sqlite":
        connection.settings_dict["TEST"]["NAME"] = os.path.join(
            tempfile.mkdtemp(), "bench_imports.sqlite3"
        )
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        timing = run(rows)
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    text = "\n".join(timing.lines())
    print(text)
    if "--append-results" in sys.argv:
        results = Path(__file__).resolve().parent / "last-results.md"
        with results.open("a", encoding="utf-8") as out:
            out.write(f"\n## CSV import (`python -m bench.imports`)\n\n{text}\n")
    return 0 if timing.passed else 1


if __name__ == "__main__":
    sys.exit(main())
