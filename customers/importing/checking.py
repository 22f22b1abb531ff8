"""Checking an import file against the database, block by block, as a stream.

`check_file` reads the job's file (parsing.py) and checks its rows in blocks of
BLOCK_ROWS: everything a block refers to (owners, existing customers by external id
and email, interactions imported before) is looked up in bulk first (matching.py),
then each row is checked with the model's field rules (cells.py), never with a query
per row. It counts valid and invalid rows, keeps the first errors and a preview, and
hands each block's valid rows to a writer when importing (applying.py).
`validate_import` is the first step of an import: it checks the file and stores the
outcome on the job (the preview the user confirms).
"""

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.db import InterfaceError, OperationalError
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.leases import with_reconnect
from customers.models import ImportJob

from .claims import END_OF_STEP, JobLost, held
from .parsing import FileProblem, RawRow, error_entry, read_file
from .rows import ROW_CHECKERS, SKIP, RowResult

logger = logging.getLogger(__name__)

# progress(phase, done, total); phases: "validating", "checking", "writing".
Progress = Callable[[str, int, int], None]

MAX_STORED_ERRORS = 1000
PREVIEW_ROWS = 20
PREVIEW_CELL_LENGTH = 200
BLOCK_ROWS = 2000  # rows looked up, checked and written together


@dataclass
class CheckOutcome:
    header_errors: list[dict]
    total_rows: int = 0
    valid_rows: int = 0
    error_rows: int = 0
    skipped_rows: int = 0
    errors: list[dict] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)

    def job_fields(self) -> dict[str, Any]:
        return {
            "total_rows": self.total_rows,
            "valid_rows": self.valid_rows,
            "error_rows": self.error_rows,
            "skipped_rows": self.skipped_rows,
            "errors": self.errors,
            "preview": self.preview,
        }

    def add(self, result: RowResult) -> None:
        self.total_rows += 1
        if result.errors:
            self.error_rows += 1
            for column, message in result.errors:
                if len(self.errors) < MAX_STORED_ERRORS:
                    self.errors.append(error_entry(result.number, column, message))
        elif result.action == SKIP:
            self.skipped_rows += 1
        else:
            self.valid_rows += 1
        if len(self.preview) < PREVIEW_ROWS:
            values = {name: value[:PREVIEW_CELL_LENGTH] for name, value in result.values.items()}
            self.preview.append({"row": result.number, "action": result.action, "values": values})


# write(valid results of one block, the outcome so far): the import's writer.
BlockWriter = Callable[[list[RowResult], CheckOutcome], None]


def check_file(
    job: ImportJob,
    progress: Progress | None = None,
    *,
    phase: str = "validating",
    write: BlockWriter | None = None,
    lock: bool = False,
) -> CheckOutcome:
    """Check every row of the job's file, a block at a time; with `write`, hand each
    block's valid rows to it (the import), else nothing is written.

    Memory stays bounded whatever the file's length: one chunk of the file, one block
    of rows and what must be unique across the file (its emails and external ids).
    """
    opened = read_file(job)
    outcome = CheckOutcome(header_errors=opened.header.errors)
    if outcome.header_errors:
        outcome.errors = outcome.header_errors
        return outcome
    rows = ROW_CHECKERS[job.target](job, opened.header, lock=lock)
    known_total = job.total_rows if phase != "validating" else 0
    try:
        for block in _blocks(opened.rows, BLOCK_ROWS):
            rows.prepare(block)
            valid = []
            for raw in block:
                result = rows.check(raw)
                outcome.add(result)
                if write is not None and result.instance is not None:
                    result.values = {}  # from here on only the instance and extras matter
                    valid.append(result)
            if write is not None:
                write(valid, outcome)
            if progress:
                done = outcome.total_rows
                total = known_total or _estimated_total(done, opened.lines.chars, job.size)
                finished = opened.lines.chars >= job.size
                progress(phase, done, done if finished and not known_total else max(total, done))
    except FileProblem as problem:
        outcome.header_errors = [problem.entry]
        outcome.errors = [problem.entry, *outcome.errors][:MAX_STORED_ERRORS]
    if progress and not outcome.total_rows:
        progress(phase, 0, 0)
    return outcome


def _blocks(rows: Iterator[RawRow], size: int) -> Iterator[list[RawRow]]:
    block = []
    for row in rows:
        block.append(row)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def _estimated_total(done: int, chars_read: int, size: int) -> int:
    """The file's rows, guessed from how much of it the first `done` rows took."""
    if not chars_read or not size:
        return done
    return round(done * size / chars_read)


def validate_import(job: ImportJob, progress: Progress | None = None) -> ImportJob:
    """Check the job's file and store the counts, row errors and preview.

    Writes nothing but the job (so it is safe to run again), and only while the job is
    still the claim's it was loaded with (claims.held): cancelled or taken over, it stays.
    """
    try:
        outcome = check_file(job, progress)
        fields = outcome.job_fields()
        if outcome.header_errors:
            fields["status"] = ImportJob.Status.FAILED
            fields["failure"] = _("The file cannot be imported: %(problems)s") % {
                "problems": _describe(outcome.header_errors)
            }
            fields["finished_at"] = timezone.now()
        else:
            fields["status"] = ImportJob.Status.VALIDATED
    except (JobLost, OperationalError, InterfaceError):
        raise  # not the file's fault: the step is not ours, or the repair job reruns it
    except Exception as exc:
        logger.exception("Validating import job %s failed", job.pk)
        fields = {
            "status": ImportJob.Status.FAILED,
            "failure": failure_text(exc, _("The file could not be checked")),
            "finished_at": timezone.now(),
        }
    fields.update(END_OF_STEP)
    running = held(job).filter(status__in=[ImportJob.Status.VALIDATING, ImportJob.Status.VALIDATED])
    still_wanted = with_reconnect(lambda: running.update(**fields), "recording a file's check")
    if still_wanted:
        for name, value in fields.items():
            setattr(job, name, value)
    else:
        job.refresh_from_db(fields=["status"])
    return job


def _describe(errors: list[dict]) -> str:
    """One line for the failure notice; the errors table lists each problem."""
    if any(error["field"] for error in errors):
        columns = ", ".join(error["field"] for error in errors if error["field"])
        return _("the header row has problems with these columns: %(columns)s.") % {
            "columns": columns
        }
    return " ".join(error["message"] for error in errors)


def failure_text(exc: Exception, what: str) -> str:
    reason = str(exc).strip() or type(exc).__name__
    return _("%(what)s because of an unexpected error (%(reason)s). Nothing was imported.") % {
        "what": what,
        "reason": reason[:300],
    }
