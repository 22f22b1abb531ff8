"""Reading an import file: its header, then its rows as {field: cell text}, as a stream.

`read_file` tells a comma from a semicolon file (as spreadsheets write them), works
out which field each column holds and yields the rows one at a time, so a file of a
million rows is never in memory at once. The fields come from the column mapping the
user confirmed (`job.mapping`: a field or "" per column, plus constant values such as
"every row is a purchase"); a job without one (an exported file, the app's own column
names) is read by its header names, where an unknown column stops the file. The
export's formula neutralising is undone; cells are not checked here, that is the
checking module's work. Row numbers are the ones a spreadsheet shows: the header is
row 1, the first data row is row 2. `error_entry` is the shape of every problem an
import stores.
"""

import csv
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.csv_columns import column_names, one_of_column_names
from customers.csv_columns import required_column_names as required_columns
from customers.exporting import unneutralise_cell
from customers.models import ImportJob

from . import storage

HEADER_ROW = 1
# Dates are read year first (ISO) and amounts with a decimal point unless the column
# mapping says otherwise.
DEFAULT_DATE_ORDER = "YMD"
DEFAULT_DECIMAL_SEPARATOR = "."


@dataclass
class RawRow:
    number: int
    values: dict[str, str]  # field -> cell text, for the fields the file fills
    stray_cells: bool = False  # cells with text beyond the header's columns


@dataclass
class Header:
    fields: list[str]  # the field each column holds, "" for an ignored column
    constants: dict[str, str] = field(default_factory=dict)  # field -> the same text every row
    date_order: str = DEFAULT_DATE_ORDER
    decimal_separator: str = DEFAULT_DECIMAL_SEPARATOR
    errors: list[dict] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The fields every row fills, from a column or a constant."""
        return [name for name in self.fields if name] + [
            name for name in self.constants if name not in self.fields
        ]


class FileProblem(Exception):
    """The file cannot be read on from this row (broken CSV, too many rows)."""

    def __init__(self, entry: dict) -> None:
        super().__init__(entry["message"])
        self.entry = entry


class _CountedLines:
    """The file's lines, counting the characters read (how far a check has got)."""

    def __init__(self, job: ImportJob) -> None:
        self.lines = storage.iter_lines(job)
        self.chars = 0

    def __iter__(self) -> "_CountedLines":
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.chars += len(line)
        return line


@dataclass
class OpenFile:
    header: Header
    rows: Iterator[RawRow]
    lines: _CountedLines


def read_file(job: ImportJob) -> OpenFile:
    """The file's header and an iterator over its rows (raising FileProblem mid-way)."""
    first_line = storage.head_text(job).split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    lines = _CountedLines(job)
    reader = csv.reader(lines, delimiter=delimiter)
    try:
        header_cells = next(reader, None)
    except csv.Error as exc:
        header_cells = None
        problem = _csv_problem(reader, exc)
        return OpenFile(Header([], errors=[problem.entry]), iter(()), lines)
    if header_cells is None or not any(cell.strip() for cell in header_cells):
        entry = error_entry(HEADER_ROW, "", _("The file has no header row."))
        return OpenFile(Header([], errors=[entry]), iter(()), lines)
    header = _header(job, header_cells, delimiter)
    if header.errors:
        return OpenFile(header, iter(()), lines)
    return OpenFile(header, _rows(reader, header), lines)


def _header(job: ImportJob, cells: list[str], delimiter: str) -> Header:
    mapping = job.mapping or {}
    if "columns" in mapping:
        fields = [str(name or "") for name in mapping["columns"]][: len(cells)]
        fields += [""] * (len(cells) - len(fields))
        header = Header(
            fields,
            constants={str(k): str(v) for k, v in (mapping.get("constants") or {}).items()},
            date_order=mapping.get("date_order") or DEFAULT_DATE_ORDER,
            decimal_separator=mapping.get("decimal_separator") or DEFAULT_DECIMAL_SEPARATOR,
        )
        header.errors = _mapped_errors(header, job.target)
        return header
    names = [cell.strip().lower().replace(" ", "_") for cell in cells]
    # Spreadsheets in countries with a decimal comma separate cells with semicolons.
    header = Header(names, decimal_separator="," if delimiter == ";" else ".")
    header.errors = _named_errors(names, job.target)
    return header


def _named_errors(names: list[str], target: str) -> list[dict]:
    """A file read by its header names: every column must be one of the import's."""
    known = column_names(target)
    known_set = set(known)
    errors = []
    # Linear in the number of columns: a header of a million names is checked in a blink.
    unknown = [name for name in dict.fromkeys(names) if name and name not in known_set]
    message = _("Unknown column. The columns for this import are: %(columns)s.")
    for name in unknown[:20]:
        errors.append(error_entry(HEADER_ROW, name, message % {"columns": ", ".join(known)}))
    if len(unknown) > 20:
        extra = len(unknown) - 20
        more = ngettext(
            "%(count)s more unknown column.", "%(count)s more unknown columns.", extra
        ) % {"count": f"{extra:,}"}
        errors.append(error_entry(HEADER_ROW, "", more))
    return errors + _completeness_errors(names, target)


def _mapped_errors(header: Header, target: str) -> list[dict]:
    known = set(column_names(target))
    errors = [
        error_entry(HEADER_ROW, name, _("This is not a column of this import."))
        for name in dict.fromkeys([*header.fields, *header.constants])
        if name and name not in known
    ]
    return errors + _completeness_errors([*header.fields, *header.constants], target)


def _completeness_errors(names: list[str], target: str) -> list[dict]:
    counts = Counter(name for name in names if name)
    errors = [
        error_entry(HEADER_ROW, name, _("This column appears more than once."))
        for name in sorted(name for name, count in counts.items() if count > 1)
    ]
    for name in required_columns(target):
        if name not in counts:
            errors.append(error_entry(HEADER_ROW, name, _("This required column is missing.")))
    one_of = one_of_column_names(target)
    if one_of and not any(name in counts for name in one_of):
        message = _("The file needs one of these columns: %(columns)s.")
        errors.append(error_entry(HEADER_ROW, one_of[0], message % {"columns": ", ".join(one_of)}))
    return errors


def _rows(reader, header: Header) -> Iterator[RawRow]:
    count = 0
    try:
        for number, cells in enumerate(reader, start=HEADER_ROW + 1):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows (but keep the spreadsheet's numbering)
            count += 1
            if count > settings.IMPORT_MAX_ROWS:
                message = _("The file has more than %(max)s rows; split it into smaller files.")
                raise FileProblem(
                    error_entry(None, "", message % {"max": f"{settings.IMPORT_MAX_ROWS:,}"})
                )
            yield _raw_row(number, header, cells)
    except csv.Error as exc:
        raise _csv_problem(reader, exc) from None


def _csv_problem(reader, exc: csv.Error) -> FileProblem:
    message = _("Row %(row)s cannot be read as CSV: %(reason)s.")
    row = reader.line_num
    return FileProblem(error_entry(row, "", message % {"row": row, "reason": exc}))


def _raw_row(number: int, header: Header, cells: list[str]) -> RawRow:
    values = dict(header.constants)
    stray = False
    fields = header.fields
    for index, cell in enumerate(cells):
        name = fields[index] if index < len(fields) else ""
        if name:
            values[name] = unneutralise_cell(cell).strip()
        elif index >= len(fields) and cell.strip():
            stray = True
    for name in fields[len(cells) :]:
        if name:
            values[name] = ""  # a short row: the missing cells are blank
    return RawRow(number, values, stray)


def error_entry(row: int | None, column: str, message: str) -> dict:
    # Messages may quote a cell; a huge cell must not bloat the job.
    return {"row": row, "field": column, "message": Truncator(str(message)).chars(500)}
