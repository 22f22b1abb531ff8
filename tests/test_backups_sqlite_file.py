"""The embedded default, as `make run` has it: a SQLite file in WAL mode, backed up and
restored by `manage.py` in processes of their own, the way an operator runs them.

Runs in every test run (it needs no server), so the SQLite path is tested under
`make test` too, where the suite's own database is PostgreSQL.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(tmp_path: Path, *arguments: str, check: bool = True) -> subprocess.CompletedProcess:
    environment = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "CELERY_BROKER_URL", "CACHE_URL"}
    }
    environment.update(
        DJANGO_SETTINGS_MODULE="crm.settings_test",
        DATABASE_URL=f"sqlite:///{tmp_path / 'crm.sqlite3'}",
        VAR_DIR=str(tmp_path / "var"),
        BACKUP_DIR=str(tmp_path / "backups"),
    )
    completed = subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *arguments],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def table_contents(database: Path) -> dict[str, list]:
    """Every row of every table but the backups' own (sorted: order does not matter)."""
    with sqlite3.connect(database) as db:
        tables = [
            name
            for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if name != "backups_backup"
        ]
        return {
            table: sorted(db.execute(f'SELECT * FROM "{table}"').fetchall(), key=repr)  # noqa: S608
            for table in tables
        }


def test_a_sqlite_file_is_backed_up_wiped_and_restored_by_manage_py(tmp_path):
    database = tmp_path / "crm.sqlite3"
    manage(tmp_path, "migrate", "--verbosity=0")
    manage(tmp_path, "seed_demo", "--customers=15")

    manage(tmp_path, "backup")
    (archive,) = (tmp_path / "backups").glob("crm-backup-*.tar")
    before = table_contents(database)
    assert len(before["customers_customer"]) == 15
    assert len(before["auth_user"]) == 5 and before["customers_interaction"]

    manage(tmp_path, "flush", "--noinput")
    assert table_contents(database)["customers_customer"] == []

    manage(tmp_path, "restore", str(archive))

    after = table_contents(database)
    assert {t: len(rows) for t, rows in after.items()} == {
        t: len(rows) for t, rows in before.items()
    }
    # The ids handed out so far came back too; `migrate` after the restore may use up a
    # few more (its post_migrate role sync inserts with INSERT OR IGNORE), never fewer.
    sequences_before = dict(before.pop("sqlite_sequence"))
    sequences_after = dict(after.pop("sqlite_sequence"))
    assert sequences_after.keys() == sequences_before.keys()
    assert all(sequences_after[t] >= seq for t, seq in sequences_before.items())
    assert sequences_after["customers_customer"] == sequences_before["customers_customer"]
    assert after == before
    with sqlite3.connect(database) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert db.execute("SELECT status FROM backups_backup").fetchall() == [("ok",)]

    # Now the database holds data: a second restore needs --yes.
    refused = manage(tmp_path, "restore", str(archive), check=False)
    assert refused.returncode != 0 and "--yes" in refused.stderr
