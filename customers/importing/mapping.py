"""The column mapping step: which import field each column of a file is.

After an upload the file's beginning is read (`read_head`: the header and the first
rows). A header made of the import's own column names (a file the app exported) is
mapped to itself; a header seen before is mapped as the saved mapping says
(`saved_mapping`); any other waits for the user, with a guess for each column
(`guess_columns`, from synonyms.py) and for the date order and decimal separator
(`guess_formats`, values.py). `mapping_problems` checks a mapping against the
import's rules and the file's own sample cells. The mapping is stored on the job
(ImportJob.mapping) in the shape the row checker reads:

    {"columns": [field or "" per header cell, in order], "constants": {field: value},
     "date_order": "YMD" | "DMY" | "MDY", "decimal_separator": "." | ","}

Every pass here is linear in the number of header cells (a header can have a
million of them); at most MAX_COLUMNS columns can be mapped.
"""

import csv
import hashlib
import io
import unicodedata
from dataclasses import dataclass, field
from functools import cache

from django.utils.translation import gettext as _

from customers.csv_columns import column_names, one_of_column_names, required_column_names
from customers.models import ImportJob, ImportMapping, MappingOrigin

from . import values
from .columns import DATE_FIELDS, DATETIME_FIELDS, DECIMAL_FIELDS, choice_columns
from .jobs import job_check_request
from .storage import HEAD_CHARS, head_text
from .synonyms import SYNONYMS

MAX_COLUMNS = 200
SAMPLE_ROWS = 50  # data rows read for the samples and the guesses
SHOWN_SAMPLES = 3
CHECKED_SAMPLES = 20  # cells of a column checked against the chosen formats
FUZZY_MIN_LENGTH = 4  # a synonym shorter than this only matches a whole header cell
# Fields a mapping can give one value for every row, when no column holds them: a
# shop's sales log has no "kind" column, and every row is a purchase.
CONSTANT_FIELDS = {
    "customers": ("status", "preferred_language"),
    "interactions": ("kind", "direction", "sentiment"),
}


@dataclass
class FileHead:
    """The header and the first data rows of a file, or why they cannot be mapped."""

    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    problem: str = ""


def read_head(text: str) -> FileHead:
    """The header and the first rows of `text` (a file's beginning), comma or semicolon
    separated as parsing.py tells them (the first line's count of ";" against ",")."""
    text = text.removeprefix("\ufeff")
    end = text.find("\n")
    first_line = text if end < 0 else text[:end]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    if first_line.count(delimiter) >= MAX_COLUMNS or (end < 0 and len(text) >= HEAD_CHARS):
        message = _("The file has more than %(max)s columns; at most %(max)s can be imported.")
        return FileHead([], problem=message % {"max": MAX_COLUMNS})
    if len(text) >= HEAD_CHARS:
        text = text[: text.rfind("\n") + 1]  # the head's last line may be cut off
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] = []
    rows: list[list[str]] = []
    try:
        header = next(reader, [])
        for cells in reader:
            if any(cell.strip() for cell in cells):
                rows.append(cells)
                if len(rows) == SAMPLE_ROWS:
                    break
    except csv.Error:
        pass  # a broken row: the check reports it; the rows before it are samples enough
    if not any(cell.strip() for cell in header):
        return FileHead([], problem=_("The file has no header row."))
    return FileHead([cell.strip() for cell in header], rows)


def normalise(cell: str) -> str:
    """A header cell without letter case, accents, spaces or punctuation: "E-Mail" and
    "e mail" are "email", "Müşteri No" is "musterino", "Order #" is "orderno"."""
    text = unicodedata.normalize("NFKD", cell.casefold().replace("#", "no").replace("ı", "i"))
    return "".join(char for char in text if char.isalnum())


def fingerprint(header: list[str]) -> str:
    """The header's identity for saved mappings: sha256 of its normalised cells."""
    digest = hashlib.sha256()
    for cell in header:
        digest.update(normalise(cell).encode())
        digest.update(b"\x1f")
    return digest.hexdigest()


@cache
def _synonyms(target: str) -> tuple[dict[str, str], tuple[tuple[str, str], ...]]:
    """Normalised name -> field (exact matches), and the (name, field) pairs long enough
    to be looked for inside a longer header cell, longest first."""
    exact: dict[str, str] = {}
    for name in column_names(target):
        exact.setdefault(normalise(name), name)
    for name, synonyms in SYNONYMS[target].items():
        for synonym in synonyms:
            exact.setdefault(normalise(synonym), name)
    inner = sorted(
        ((key, name) for key, name in exact.items() if len(key) >= FUZZY_MIN_LENGTH),
        key=lambda pair: -len(pair[0]),
    )
    return exact, tuple(inner)


def guess_columns(header: list[str], target: str) -> list[str]:
    """For each header cell the import field it most likely is, or "" (ignore it).

    A cell that is a known name (synonyms.py) wins over one that only contains one
    ("Bestelldatum" is a date; "Datum der Bestellung" contains one); each field goes to
    the first best cell. Linear in the header; the inner search (a fixed number of
    names per cell) runs for the first MAX_COLUMNS cells only.
    """
    exact, inner = _synonyms(target)
    keys = [normalise(cell) for cell in header]
    guessed = [""] * len(keys)
    taken: set[str] = set()
    for index, key in enumerate(keys):
        name = exact.get(key, "")
        if name and name not in taken:
            guessed[index] = name
            taken.add(name)
    for index, key in enumerate(keys[:MAX_COLUMNS]):
        if guessed[index] or key in exact:
            continue
        found = [
            (len(s), key.endswith(s), name) for s, name in inner if s in key and name not in taken
        ]
        if found:
            # The longest name inside; of two as long, the one that ends the cell
            # ("Kunden-E-Mail" is an email): headers put the noun last.
            name = max(found, key=lambda match: match[:2])[2]
            guessed[index] = name
            taken.add(name)
    return guessed


def own_columns(header: list[str], target: str) -> list[str] | None:
    """The identity mapping when the header is the import's own column names (as an
    export writes them, in any order and letter case), else None."""
    known = set(column_names(target))
    names = [cell.strip().lower().replace(" ", "_") for cell in header]
    present = [name for name in names if name]
    if len(present) != len(set(present)) or not set(present) <= known:
        return None
    if not set(required_column_names(target)) <= set(present):
        return None
    one_of = one_of_column_names(target)
    if one_of and not set(one_of) & set(present):
        return None
    return names


def guess_constants(columns: list[str], target: str) -> dict[str, str]:
    """Values for every row that the mapped columns suggest: rows with an amount and
    no kind are purchases (a sales log)."""
    if target == "interactions" and "kind" not in columns and "amount" in columns:
        return {"kind": "purchase"}
    return {}


def constant_choices(target: str) -> dict[str, list[tuple[str, str]]]:
    """The fields a mapping can give a value for every row, with their choices."""
    choices = choice_columns(target)
    return {
        name: [(str(v), str(label)) for v, label in choices[name]]
        for name in CONSTANT_FIELDS[target]
    }


def column_cells(head: FileHead, index: int, limit: int) -> list[str]:
    """The first `limit` non-blank cells of column `index` in the head's rows."""
    found = []
    for row in head.rows:
        if index < len(row) and row[index].strip():
            found.append(row[index].strip())
            if len(found) == limit:
                break
    return found


def _cells_of(head: FileHead, columns: list[str], fields: tuple[str, ...]) -> list[str]:
    return [
        cell
        for index, name in enumerate(columns)
        if name in fields
        for cell in column_cells(head, index, SAMPLE_ROWS)
    ]


def guess_formats(head: FileHead, columns: list[str]) -> tuple[str, str]:
    """(date order, decimal separator) guessed from the cells of the date and amount
    columns (the business's usual ones when they do not tell)."""
    dates = _cells_of(head, columns, DATE_FIELDS + DATETIME_FIELDS)
    amounts = _cells_of(head, columns, DECIMAL_FIELDS)
    return values.guess_date_order(dates), values.guess_decimal_separator(amounts)


def cell_problem(name: str, text: str, date_order: str, decimal_separator: str) -> str:
    """Why `text` is not a value of field `name` with these formats ("" if it is)."""
    try:
        if name in DATE_FIELDS:
            values.parse_date(text, date_order)
        elif name in DATETIME_FIELDS:
            values.parse_datetime(text, date_order)
        elif name in DECIMAL_FIELDS:
            values.parse_decimal(text, decimal_separator)
    except ValueError as problem:
        return str(problem)
    return ""


def mapping_problems(mapping: dict, target: str, head: FileHead) -> list[str]:
    """What is wrong with `mapping` for this file: a field mapped twice, a required
    field missing, a sample cell the chosen formats cannot read. [] when it is good."""
    columns, constants = mapping["columns"], mapping["constants"]
    problems = []
    seen: dict[str, list[str]] = {}
    for index, name in enumerate(columns):
        if name:
            seen.setdefault(name, []).append(head.header[index] or str(index + 1))
    for name, cells in seen.items():
        if len(cells) > 1:
            message = _("%(field)s is chosen for more than one column: %(columns)s.")
            quoted = ", ".join(f"“{cell}”" for cell in cells)
            problems.append(message % {"field": name, "columns": quoted})
    for name in constants:
        if name in seen:
            message = _("%(field)s has a column and a value for every row; choose one.")
            problems.append(message % {"field": name})
    for name in required_column_names(target):
        if name not in seen and name not in constants:
            problems.append(_("Choose a column for %(field)s (it is required).") % {"field": name})
    one_of = one_of_column_names(target)
    if one_of and not any(name in seen for name in one_of):
        message = _("Choose a column for one of: %(fields)s.")
        problems.append(message % {"fields": ", ".join(one_of)})
    for index, name in enumerate(columns):
        for text in column_cells(head, index, CHECKED_SAMPLES) if name else ():
            problem = cell_problem(name, text, mapping["date_order"], mapping["decimal_separator"])
            if problem:
                message = _("Column “%(column)s”: %(problem)s")
                problems.append(message % {"column": head.header[index], "problem": problem})
                break
    return problems


def saved_mapping(header: list[str], target: str) -> ImportMapping | None:
    """The mapping saved for this header, if it still fits the import's fields."""
    saved = ImportMapping.objects.filter(target=target, fingerprint=fingerprint(header)).first()
    known = set(column_names(target))
    if saved is None or len(saved.columns) != len(header):
        return None
    if not {name for name in saved.columns if name} <= known:
        return None  # a field the import no longer has: map again
    return saved


def save_mapping(*, header: list[str], target: str, mapping: dict, user) -> ImportMapping:
    """Keep `mapping` for files with this header (replacing one saved before)."""
    saved, _created = ImportMapping.objects.update_or_create(
        target=target,
        fingerprint=fingerprint(header),
        defaults={
            "header": header,
            "columns": mapping["columns"],
            "constants": mapping["constants"],
            "date_order": mapping["date_order"],
            "decimal_separator": mapping["decimal_separator"],
            "created_by": user,
        },
    )
    return saved


# --- The job's mapping step --------------------------------------------------------

Status = ImportJob.Status
# A job whose columns may be (re)mapped: not imported, not on its way to be.
REMAPPABLE = [Status.MAPPING, Status.VALIDATING, Status.VALIDATED, Status.FAILED]
# What a new mapping clears: the step in progress (a worker checking with the old
# mapping loses its token and stops, claims.keep) and the old check's outcome.
_FRESH_CHECK = {
    "queued_at": None,
    "lease_token": "",
    "lease_until": None,
    "attempts": 0,
    "total_rows": 0,
    "valid_rows": 0,
    "error_rows": 0,
    "skipped_rows": 0,
    "errors": [],
    "preview": [],
    "failure": "",
    "finished_at": None,
}


def job_head(job: ImportJob) -> FileHead:
    """The header and first rows of the job's file (its first 64 KB, never the file)."""
    return read_head(head_text(job))


def _remappable(job: ImportJob):
    # A checked file whose import was asked for (queued_at set) is on its way in.
    return ImportJob.objects.filter(pk=job.pk, status__in=REMAPPABLE).exclude(
        status=Status.VALIDATED, queued_at__isnull=False
    )


def job_columns_start(*, job: ImportJob, language: str | None) -> bool:
    """After the upload: have the file checked at once when its header needs no mapping
    (the import's own columns, or a header with a saved mapping): True. Else the job
    waits for the user in MAPPING: False."""
    head = job_head(job)
    if not head.problem:
        columns = own_columns(head.header, job.target)
        if columns is not None:
            date_order, decimal_separator = guess_formats(head, columns)
            mapping = {
                "columns": columns,
                "constants": {},
                "date_order": date_order,
                "decimal_separator": decimal_separator,
            }
            return job_columns_set(
                job=job, mapping=mapping, origin=MappingOrigin.OWN_COLUMNS, language=language
            )
        saved = saved_mapping(head.header, job.target)
        if saved is not None:
            return job_columns_set(
                job=job,
                mapping=saved.as_job_mapping(),
                origin=MappingOrigin.SAVED,
                language=language,
            )
    ImportJob.objects.filter(pk=job.pk, status=Status.VALIDATING, queued_at__isnull=True).update(
        status=Status.MAPPING
    )
    job.status = Status.MAPPING
    return False


def job_columns_set(*, job: ImportJob, mapping: dict, origin: str, language: str | None) -> bool:
    """Store the mapping and have the file checked with it; False when the job can no
    longer be mapped (imported, or its import asked for, cancelled)."""
    fields = {"status": Status.VALIDATING, "mapping": mapping, "mapping_origin": origin}
    fields.update(_FRESH_CHECK)
    if not _remappable(job).update(**fields):
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    job_check_request(job=job, language=language)
    return True


def job_columns_reopen(*, job: ImportJob) -> bool:
    """Back to the mapping step ("Change"), the mapping kept to start from; False when
    the file was imported or its import asked for."""
    fields = {"status": Status.MAPPING, **_FRESH_CHECK}
    if not _remappable(job).exclude(status=Status.MAPPING).update(**fields):
        return False
    for name, value in fields.items():
        setattr(job, name, value)
    return True
