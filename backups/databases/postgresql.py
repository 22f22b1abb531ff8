"""PostgreSQL through pg_dump (custom format) and pg_restore.

The connection comes from settings.DATABASES; the password travels in the
PGPASSWORD environment variable, never on a command line (where `ps` shows it).
"""

import contextlib
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.db.backends.base.base import BaseDatabaseWrapper

from ..errors import BackupError

# Where Debian and the PostgreSQL apt repository install each version's client programs.
VERSIONED_BIN_DIRS = "/usr/lib/postgresql/*/bin"
# SSL settings Django passes in OPTIONS, and the libpq variables that carry them.
SSL_OPTIONS = {
    "sslmode": "PGSSLMODE",
    "sslrootcert": "PGSSLROOTCERT",
    "sslcert": "PGSSLCERT",
    "sslkey": "PGSSLKEY",
}


def find_program(name: str) -> str:
    """`name` from PATH, else from the newest /usr/lib/postgresql/<version>/bin."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(
        Path("/").glob(VERSIONED_BIN_DIRS.lstrip("/")),
        key=lambda folder: int(folder.parent.name) if folder.parent.name.isdigit() else 0,
        reverse=True,
    )
    for folder in candidates:
        if (folder / name).is_file():
            return str(folder / name)
    raise BackupError(
        f"{name} not found in PATH nor in {VERSIONED_BIN_DIRS}: install the PostgreSQL "
        "client programs (Debian: apt-get install postgresql-client)."
    )


def client_arguments(settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    """The command-line arguments and environment that reach the configured database."""
    arguments = ["--no-password"]  # fail instead of waiting for a prompt nobody answers
    for option, key in (("--host", "HOST"), ("--port", "PORT"), ("--username", "USER")):
        if settings_dict.get(key):
            arguments.append(f"{option}={settings_dict[key]}")
    arguments.append(f"--dbname={settings_dict['NAME']}")
    environment = dict(os.environ)
    if settings_dict.get("PASSWORD"):
        environment["PGPASSWORD"] = str(settings_dict["PASSWORD"])
    for option, variable in SSL_OPTIONS.items():
        if option in settings_dict.get("OPTIONS", {}):
            environment[variable] = str(settings_dict["OPTIONS"][option])
    return arguments, environment


def dump(connection: BaseDatabaseWrapper, path: Path) -> None:
    # pg_dump reads the whole database in one repeatable-read transaction: a consistent
    # snapshot, taken while the app keeps writing.
    arguments, environment = client_arguments(connection.settings_dict)
    completed = subprocess.run(  # noqa: S603 (no shell; the arguments are ours)
        [find_program("pg_dump"), "--format=custom", f"--file={path}", *arguments],
        env=environment,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise BackupError(f"pg_dump failed: {completed.stderr.strip()}")


def load(connection: BaseDatabaseWrapper, path: Path) -> None:
    """Replace every table with the dump's, in one transaction: all of it or nothing.

    pg_restore turns the dump into SQL (`--clean --if-exists`: drop each object
    before creating it), which psql runs after dropping the tables the dump does not
    know (those of newer migrations, when an older backup comes back). The COMMIT is
    sent only once pg_restore has read the whole dump without an error; psql stops
    at the first failing statement (ON_ERROR_STOP), which rolls everything back.
    """
    arguments, environment = client_arguments(connection.settings_dict)
    quote = connection.ops.quote_name
    tables = connection.introspection.table_names()
    connection.close()  # holds no lock that the DROP below would wait for
    drop = f"DROP TABLE IF EXISTS {', '.join(map(quote, tables))} CASCADE;\n" if tables else ""
    restore_command = [
        find_program("pg_restore"),
        "--clean",
        "--if-exists",
        "--no-owner",  # the objects belong to the configured user, whoever made the dump
        "--no-privileges",
        "--file=-",
        str(path),
    ]
    psql_command = [find_program("psql"), "--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"]
    with tempfile.TemporaryFile() as restore_errors, tempfile.TemporaryFile() as psql_errors:
        psql = subprocess.Popen(  # noqa: S603
            [*psql_command, *arguments],
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=psql_errors,
        )
        restore = subprocess.Popen(  # noqa: S603
            restore_command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=restore_errors
        )
        try:
            psql.stdin.write(f"BEGIN;\n{drop}".encode())
            shutil.copyfileobj(restore.stdout, psql.stdin)
            restored = restore.wait() == 0
            psql.stdin.write(b"COMMIT;\n" if restored else b"ROLLBACK;\n")
            psql.stdin.close()
        except BrokenPipeError:
            restored = False  # psql stopped at an error: nothing was committed
        finally:
            restore.stdout.close()
            restore.wait()
            with contextlib.suppress(BrokenPipeError):
                psql.stdin.close()
            psql.wait()
        if not restored or psql.returncode != 0:
            restore_errors.seek(0)
            psql_errors.seek(0)
            messages = (restore_errors.read() + psql_errors.read()).decode(errors="replace")
            raise BackupError(f"Restoring the database failed, nothing changed: {messages.strip()}")
