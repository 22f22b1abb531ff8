"""Imported by the test worker (celery --include): checking a row takes a moment and
writing a batch too, so that a process killed by tests/test_import_worker_faults.py dies
in the middle of a step. The process doing a step leaves a file named after the phase
and its pid in the folder SLOW_IMPORT_MARKS, so the test knows whom to kill and when.
Progress (and so the lease's renewal) comes every block of 20 rows instead of 2,000."""

import os
import time
from pathlib import Path

from customers.importing import applying, checking, rows

ROW_SECONDS = 0.01  # 300 rows: 3 s of checking
BATCH_SECONDS = 0.2  # blocks of 20 rows: 3 s of writing

checking.BLOCK_ROWS = 20
_check = rows.CustomerRows.check
_write = applying._Writer.__call__


def _mark(phase: str) -> None:
    folder = os.environ.get("SLOW_IMPORT_MARKS")
    if folder:
        (Path(folder) / f"{phase}-{os.getpid()}").touch()


def _slow_check(self, row):
    if row.number == 2:  # the first row after the header
        _mark("checking")
    time.sleep(ROW_SECONDS)
    return _check(self, row)


def _slow_write(self, results, outcome):
    _mark("writing")
    time.sleep(BATCH_SECONDS)
    _write(self, results, outcome)


rows.CustomerRows.check = _slow_check
applying._Writer.__call__ = _slow_write
