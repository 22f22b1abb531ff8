"""One module per database vendor, each with `dump(connection, path)` and `load(connection, path)`.

`dump` writes a consistent snapshot of the whole database to one file; `load`
replaces everything in the database with that file's content.
"""

from types import ModuleType

from django.db.backends.base.base import BaseDatabaseWrapper

from ..errors import BackupError
from . import postgresql, sqlite

ENGINES: dict[str, ModuleType] = {"postgresql": postgresql, "sqlite": sqlite}
# The database's file name inside the archive, by vendor.
FILE_NAMES = {"postgresql": "database.pgdump", "sqlite": "database.sqlite3"}


def engine_for(connection: BaseDatabaseWrapper) -> ModuleType:
    try:
        return ENGINES[connection.vendor]
    except KeyError:
        raise BackupError(
            f"Backups support PostgreSQL and SQLite, not {connection.vendor}."
        ) from None
