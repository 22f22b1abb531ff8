"""Reading an import file: its CSV text as rows of {column: cell text}, or why it cannot be read.

`parse_file` tells a comma from a semicolon file (as spreadsheets write them),
checks the header row against the import's columns (an unknown, repeated or
missing column stops the file), caps the number of rows and undoes the export's
formula neutralising; it checks no cell, that is the checking module's work.
Row numbers are the ones a spreadsheet shows: the header is row 1, the first
data row is row 2. `error_entry` is the shape of every problem an import stores.
"""

import csv
import io
from dataclasses import dataclass

from django.conf import settings
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from customers.csv_columns import column_names, one_of_column_names
from customers.csv_columns import required_column_names as required_columns
from customers.exporting import unneutralise_cell

HEADER_ROW = 1


@dataclass
class RawRow:
    number: int
    values: dict[str, str]  # column -> cell text, for the known columns present
    stray_cells: bool = False  # cells with text beyond the header's columns


@dataclass
class ParsedFile:
    columns: list[str]
    rows: list[RawRow]
    header_errors: list[dict]


def parse_file(content: str, target: str) -> ParsedFile:
    """The file's rows as {column: text}, or the problems that stop it being read."""
    text = content.removeprefix("\ufeff")
    first_line = text[: text.find("\n")] if "\n" in text else text
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader, None)
        if header is None or not any(cell.strip() for cell in header):
            return ParsedFile(
                [], [], [error_entry(HEADER_ROW, "", _("The file has no header row."))]
            )
        names = [cell.strip().lower().replace(" ", "_") for cell in header]
        header_errors = _header_errors(names, target)
        if header_errors:
            return ParsedFile([], [], header_errors)
        rows = []
        for number, cells in enumerate(reader, start=HEADER_ROW + 1):
            if not any(cell.strip() for cell in cells):
                continue  # blank lines are not rows (but keep the spreadsheet's numbering)
            if len(rows) >= settings.IMPORT_MAX_ROWS:
                message = _("The file has more than %(max)s rows; split it into smaller files.")
                return ParsedFile([], [], [error_entry(None, "", message % {"max": _max_rows()})])
            rows.append(_raw_row(number, names, cells))
    except csv.Error as exc:
        message = _("Row %(row)s cannot be read as CSV: %(reason)s.")
        row = reader.line_num
        return ParsedFile([], [], [error_entry(row, "", message % {"row": row, "reason": exc})])
    return ParsedFile([name for name in names if name], rows, [])


def _max_rows() -> str:
    return f"{settings.IMPORT_MAX_ROWS:,}"


def _header_errors(names: list[str], target: str) -> list[dict]:
    known = column_names(target)
    errors = []
    for name in sorted({name for name in names if name and name not in known}, key=names.index):
        message = _("Unknown column. The columns for this import are: %(columns)s.")
        errors.append(error_entry(HEADER_ROW, name, message % {"columns": ", ".join(known)}))
    for name in sorted({name for name in names if name and names.count(name) > 1}):
        errors.append(error_entry(HEADER_ROW, name, _("This column appears more than once.")))
    for name in required_columns(target):
        if name not in names:
            errors.append(error_entry(HEADER_ROW, name, _("This required column is missing.")))
    one_of = one_of_column_names(target)
    if one_of and not any(name in names for name in one_of):
        message = _("The file needs one of these columns: %(columns)s.")
        errors.append(error_entry(HEADER_ROW, one_of[0], message % {"columns": ", ".join(one_of)}))
    return errors


def _raw_row(number: int, names: list[str], cells: list[str]) -> RawRow:
    values = {}
    stray = False
    for index, cell in enumerate(cells):
        name = names[index] if index < len(names) else ""
        if name:
            values[name] = unneutralise_cell(cell).strip()
        elif cell.strip():
            stray = True
    for name in names[len(cells) :]:
        if name:
            values[name] = ""  # a short row: the missing cells are blank
    return RawRow(number, values, stray)


def error_entry(row: int | None, column: str, message: str) -> dict:
    # Messages may quote a cell; a huge cell must not bloat the job.
    return {"row": row, "field": column, "message": Truncator(str(message)).chars(500)}
