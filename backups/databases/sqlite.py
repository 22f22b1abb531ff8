"""SQLite through its online backup API: a consistent copy while the app keeps running.

Restoring copies the backup into the live database through the same API, page by
page inside one write transaction, so the file, its WAL and every connection stay
consistent (copying a file over a database in WAL mode can corrupt it). It still
needs the app stopped: a write from the web server or the worker during the copy
would be lost, and their connections would work on with cached state.
"""

import sqlite3
from pathlib import Path

from django.db.backends.base.base import BaseDatabaseWrapper

from ..errors import BackupError


def dump(connection: BaseDatabaseWrapper, path: Path) -> None:
    if connection.in_atomic_block:
        # The backup API waits for ever while its own connection holds a write transaction.
        raise BackupError("A SQLite backup cannot run inside a transaction.")
    connection.ensure_connection()
    copy = sqlite3.connect(path)
    try:
        connection.connection.backup(copy)
        # The copy inherits WAL mode from a live database; a rollback-journal file is
        # self-contained (no -wal or -shm file to carry along).
        copy.execute("PRAGMA journal_mode=DELETE")
    finally:
        copy.close()


def load(connection: BaseDatabaseWrapper, path: Path) -> None:
    """Copy the file into the live database: all pages in one transaction, or none."""
    connection.ensure_connection()
    source = sqlite3.connect(path)
    try:
        # A damaged file would be copied page by page as it is: check it first.
        (verdict,) = source.execute("PRAGMA quick_check").fetchone()
        if verdict != "ok":
            raise BackupError(f"The backup's database is damaged: {verdict}")
        # Refuses ("target is in transaction") if this connection is inside a transaction.
        source.backup(connection.connection)
    except sqlite3.Error as error:
        raise BackupError(f"Restoring the database failed, nothing changed: {error}") from error
    finally:
        source.close()
