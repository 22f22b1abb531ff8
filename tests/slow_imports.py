"""Imported by the test worker (celery --include): checking a row takes a moment and
writing a batch too, so that a process killed by tests/test_import_worker_faults.py dies
in the middle of a step. The process doing a step leaves a file named after the phase
and its pid in the folder SLOW_IMPORT_MARKS, so the test knows whom to kill and when.
Progress (and so the lease's renewal) comes every 50 rows instead of every 500."""

import os
import time
from pathlib import Path

from customers.importing import applying, checking

ROW_SECONDS = 0.01  # 300 rows: 3 s of checking
BATCH_SECONDS = 0.2  # batches of 20 rows: 3 s of writing

checking.PROGRESS_EVERY = 50
applying.WRITE_BATCH_SIZE = 20
_check = checking._CustomerRows.check
_report = applying._report


def _mark(phase: str) -> None:
    folder = os.environ.get("SLOW_IMPORT_MARKS")
    if folder:
        (Path(folder) / f"{phase}-{os.getpid()}").touch()


def _slow_check(self, row):
    if row.number == 2:  # the first row after the header
        _mark("checking")
    time.sleep(ROW_SECONDS)
    return _check(self, row)


def _slow_report(progress, done, total):
    _mark("writing")
    time.sleep(BATCH_SECONDS)
    _report(progress, done, total)


checking._CustomerRows.check = _slow_check
applying._report = _slow_report
