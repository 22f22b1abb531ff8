"""Backups: take one, wipe the database, restore it, and find every row again.

These run on whichever database the suite runs on: PostgreSQL under `make test`
(pg_dump and pg_restore), SQLite with plain `pytest` (the online backup API).
tests/test_backups_sqlite_file.py runs the same round trip on a SQLite file in
every run. The tests that back up or restore are transactional (pytest-django
empties the database after each): a restore replaces the test database, and
SQLite's backup API cannot read from a connection inside a writing transaction.
"""

import io
import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

from backups import archive, databases
from backups.databases import postgresql
from backups.errors import BackupError
from backups.models import Backup
from backups.selectors import backup_health
from backups.taking import backup_take
from backups.tasks import nightly_backup
from customers.models import Customer, Interaction
from retention.loyalty import ledger
from retention.models import Checklist, PointsAccount
from retention.onboarding.checklists import checklist_start, step_complete
from surveys.models import Survey

from .factories import (
    ChecklistTemplateFactory,
    CustomerFactory,
    InteractionFactory,
    RewardFactory,
    UserFactory,
)


@pytest.fixture(autouse=True)
def backup_dir(settings, tmp_path) -> Path:
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.MEDIA_ROOT = ""
    return settings.BACKUP_DIR


@pytest.fixture
def postgres():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (make test)")


def populate() -> Customer:
    """Demo data (users, companies, customers, a year of interactions) and one of everything."""
    call_command("seed_demo", customers=12, stdout=io.StringIO(), stderr=io.StringIO())
    customer = CustomerFactory(name="Ada Restored", email="ada.restored@example.org")
    InteractionFactory(customer=customer, kind="complaint", subject="Parcel arrived broken")
    checklist = checklist_start(
        customer=customer, template=ChecklistTemplateFactory(name="Welcome aboard")
    )
    step_complete(step=checklist.steps.order_by("position").first(), by_customer=True)
    ledger.points_earn(customer=customer, points=120, reason="First order", source_key="order-1")
    RewardFactory(name="Free coffee")
    return customer


def table_contents(*, leave_out: tuple[str, ...] = ("backups_backup",)) -> dict[str, list]:
    """Every row of every table (sorted, so the order rows come back in does not matter)."""
    contents = {}
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            if table in leave_out:
                continue
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608
            contents[table] = sorted(cursor.fetchall(), key=repr)
    return contents


def only_archive(folder: Path) -> Path:
    (path,) = sorted(p for p in folder.iterdir() if archive.is_archive_name(p.name))
    return path


def manifest_only_archive(path: Path, **changes) -> Path:
    """A backup file holding only a manifest: enough for the checks made before a restore."""
    manifest = {
        "format": archive.FORMAT,
        "created_at": timezone.now().isoformat(),
        "backup_id": 1,
        "database": {"vendor": connection.vendor},
        "migrations": archive.latest_migrations(connection),
        "media": False,
        **changes,
    }
    data = json.dumps(manifest).encode()
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo(archive.MANIFEST)
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.django_db(transaction=True)
def test_backup_flush_restore_brings_every_row_back(backup_dir, settings, tmp_path):
    """Every table holds the same rows after a restore as when the backup was taken."""
    customer = populate()
    settings.MEDIA_ROOT = str(tmp_path / "media")
    (tmp_path / "media" / "logos").mkdir(parents=True)
    (tmp_path / "media" / "logos" / "ada.png").write_bytes(b"\x89PNG logo")

    call_command("backup", stdout=io.StringIO())
    path = only_archive(backup_dir)
    before = table_contents()
    assert len(before["customers_customer"]) == 13
    assert before["customers_interaction"] and before["retention_pointsentry"]

    call_command("flush", interactive=False, verbosity=0)
    (tmp_path / "media" / "logos" / "ada.png").unlink()
    assert not Customer.objects.exists()

    call_command("restore", str(path), stdout=io.StringIO())

    after = table_contents()
    assert {table: len(rows) for table, rows in after.items()} == {
        table: len(rows) for table, rows in before.items()
    }
    assert after == before
    restored = Customer.objects.get(pk=customer.pk)
    assert (restored.name, restored.email) == ("Ada Restored", "ada.restored@example.org")
    assert Interaction.objects.get(customer=restored, kind="complaint").subject == (
        "Parcel arrived broken"
    )
    checklist = Checklist.objects.get(customer=restored)
    assert (checklist.name, checklist.steps.filter(completed_at__isnull=False).count()) == (
        "Welcome aboard",
        1,
    )
    assert PointsAccount.objects.get(customer=restored).balance == 120
    assert (tmp_path / "media" / "logos" / "ada.png").read_bytes() == b"\x89PNG logo"
    # The snapshot held its own row as "running": the restore marks it succeeded.
    (backup,) = Backup.objects.all()
    assert (backup.status, backup.path) == (Backup.Status.OK, str(path))
    # New rows get new ids (the sequences came back too).
    assert CustomerFactory().pk > max(row[0] for row in before["customers_customer"])


@pytest.mark.django_db(transaction=True)
def test_a_backup_from_an_older_schema_is_migrated_forward(backup_dir):
    """A backup taken before a migration comes back into the current code, migrated."""
    populate()
    surveys_before = sorted(Survey.objects.values_list("pk", "name"))
    call_command("migrate", "surveys", "0002", verbosity=0)
    try:
        backup_take()
        path = only_archive(backup_dir)
        with tarfile.open(path) as tar:
            manifest = archive.read_manifest(tar)
        assert manifest["migrations"]["surveys"] == "0002_default_exit_survey"
        before = table_contents(leave_out=("backups_backup", "django_migrations"))

        # The new version's code, with its schema, on an empty database; and a table the
        # backup does not know, that points at one it does (as a newer migration's would).
        call_command("migrate", verbosity=0)
        call_command("flush", interactive=False, verbosity=0)
        with connection.cursor() as cursor:
            cursor.execute(
                "CREATE TABLE newer_feature (customer_id bigint REFERENCES customers_customer (id))"
            )
        call_command("restore", str(path), stdout=io.StringIO())

        applied = MigrationRecorder(connection).applied_migrations()
        assert ("surveys", "0003_results_indexes") in applied
        with connection.cursor() as cursor:
            indexes = connection.introspection.get_constraints(cursor, "surveys_surveyresponse")
        assert "response_period_idx" in indexes
        assert "response_survey_time_idx" not in indexes
        after = table_contents(leave_out=("backups_backup", "django_migrations"))
        assert {t: len(rows) for t, rows in after.items()} == {
            t: len(rows) for t, rows in before.items()
        }
        assert sorted(Survey.objects.values_list("pk", "name")) == surveys_before
        assert "newer_feature" not in connection.introspection.table_names()
        assert Customer.objects.filter(name="Ada Restored").exists()
    finally:
        call_command("migrate", verbosity=0)  # whatever happened, the next test gets the schema


@pytest.mark.django_db(transaction=True)
def test_restore_refuses_a_database_that_holds_data_unless_yes(backup_dir):
    CustomerFactory(name="Kept")
    UserFactory(username="someone")
    backup_take()
    path = only_archive(backup_dir)
    CustomerFactory(name="Added after the backup")

    with pytest.raises(CommandError, match="--yes"):
        call_command("restore", str(path), stdout=io.StringIO())
    assert Customer.objects.filter(name="Added after the backup").exists()  # untouched

    call_command("restore", str(path), "--yes", stdout=io.StringIO())
    assert list(Customer.objects.values_list("name", flat=True)) == ["Kept"]


def replace_database_file(path: Path, content: bytes) -> None:
    """Rewrite the backup at `path` with `content` as its database file."""
    with tarfile.open(path) as tar:
        members = [(member, tar.extractfile(member).read()) for member in tar.getmembers()]
    path.unlink()
    with tarfile.open(path, "w") as tar:
        for member, data in members:
            if member.name.startswith("database."):
                data = content
                member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


@pytest.mark.django_db(transaction=True)
def test_a_restore_that_fails_changes_nothing(backup_dir):
    """A damaged database file: the restore stops with an error, the database is as it was."""
    CustomerFactory(name="Still here")
    backup = backup_take()
    replace_database_file(Path(backup.path), b"this is not a database dump" * 100)

    with pytest.raises(CommandError, match="(?i)not a database|not .*valid archive"):
        call_command("restore", backup.path, "--yes", stdout=io.StringIO())
    assert list(Customer.objects.values_list("name", flat=True)) == ["Still here"]


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_dump_cut_short_restores_nothing(postgres, backup_dir):
    """pg_restore has already sent the DROPs when it finds the dump cut: all rolled back."""
    populate()
    backup = backup_take()
    with tarfile.open(backup.path) as tar:
        dump = tar.extractfile("database.pgdump").read()
    replace_database_file(Path(backup.path), dump[: len(dump) * 2 // 3])
    CustomerFactory(name="Added after the backup")
    before = table_contents()

    with pytest.raises(CommandError, match="nothing changed"):
        call_command("restore", backup.path, "--yes", stdout=io.StringIO())
    assert table_contents() == before


@pytest.mark.django_db
def test_restore_refuses_a_backup_from_a_newer_version(tmp_path):
    path = manifest_only_archive(
        tmp_path / "newer.tar",
        migrations={"customers": "0999_from_the_future", "auth": "0001_initial"},
    )
    with pytest.raises(CommandError, match="newer version.*customers 0999_from_the_future"):
        call_command("restore", str(path), "--yes")


@pytest.mark.django_db
def test_restore_refuses_a_backup_of_another_database_vendor(tmp_path):
    other = "sqlite" if connection.vendor == "postgresql" else "postgresql"
    path = manifest_only_archive(tmp_path / "other.tar", database={"vendor": other})
    with pytest.raises(CommandError, match=f"backup is of a {other} database"):
        call_command("restore", str(path), "--yes")


@pytest.mark.django_db
def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path):
    path = tmp_path / "notes.tar"
    with tarfile.open(path, "w") as tar:
        tar.add(__file__, arcname="notes.txt")
    with pytest.raises(CommandError, match="Not a backup"):
        call_command("restore", str(path), "--yes")


@pytest.mark.django_db(transaction=True)
def test_a_backup_holds_the_dump_and_a_manifest_of_the_schema(backup_dir):
    backup = backup_take()

    assert backup.status == Backup.Status.OK and backup.trigger == Backup.Trigger.COMMAND
    path = Path(backup.path)
    assert path.parent == backup_dir and archive.is_archive_name(path.name)
    assert backup.size_bytes == path.stat().st_size
    assert path.stat().st_mode & 0o077 == 0  # readable by the app's user only
    with tarfile.open(path) as tar:
        manifest = archive.read_manifest(tar)
        names = tar.getnames()
    assert names == ["manifest.json", databases.FILE_NAMES[connection.vendor]]
    assert manifest["database"]["vendor"] == connection.vendor
    assert manifest["backup_id"] == backup.pk
    assert manifest["migrations"]["customers"] == max(
        name
        for app, name in MigrationRecorder(connection).applied_migrations()
        if app == "customers"
    )
    assert not [p for p in backup_dir.iterdir() if p != path]  # no staging folder left


def test_archive_names_sort_by_time():
    moments = [
        datetime(2026, 1, 2, 3, 4, 5, 6000, tzinfo=UTC),
        datetime(2026, 1, 2, 3, 4, 5, 7000, tzinfo=UTC),
        datetime(2026, 10, 1, 0, 0, 0, tzinfo=UTC),
    ]
    names = [archive.archive_name(moment) for moment in moments]
    assert names[0] == "crm-backup-20260102T030405.006Z.tar"
    assert sorted(reversed(names)) == names
    assert all(archive.is_archive_name(name) for name in names)


@pytest.mark.django_db(transaction=True)
def test_the_nightly_job_keeps_the_newest_backups(backup_dir, settings):
    settings.BACKUP_KEEP = 3
    start = timezone.now()
    for night in range(5):
        with time_machine.travel(start + timedelta(days=night), tick=True):
            nightly_backup.delay()

    kept = sorted(p.name for p in backup_dir.iterdir())
    assert kept == sorted(Path(b.path).name for b in Backup.objects.order_by("-started_at")[:3])
    assert Backup.objects.filter(status=Backup.Status.OK, trigger="nightly").count() == 5


@pytest.mark.django_db(transaction=True)
def test_a_failed_backup_is_recorded_and_deletes_no_older_one(backup_dir, settings, monkeypatch):
    settings.BACKUP_KEEP = 1
    good = backup_take()

    def broken_dump(connection, path):
        raise BackupError("pg_dump failed: disk full")

    monkeypatch.setattr(databases.engine_for(connection), "dump", broken_dump)
    with pytest.raises(BackupError, match="disk full"):
        nightly_backup.delay()

    failed = Backup.objects.get(status=Backup.Status.FAILED)
    assert "disk full" in failed.error and failed.finished_at and not failed.path
    assert [p.name for p in backup_dir.iterdir()] == [Path(good.path).name]


@pytest.mark.django_db(transaction=True)
def test_a_backup_left_running_for_hours_is_marked_interrupted():
    with time_machine.travel(timezone.now() - timedelta(hours=7)):
        stuck = Backup.objects.create(trigger=Backup.Trigger.NIGHTLY)
    backup_take()
    stuck.refresh_from_db()
    assert stuck.status == Backup.Status.FAILED and "Interrupted" in stuck.error


@pytest.mark.django_db
def test_backup_health_warns_two_days_after_the_last_success():
    assert backup_health().stale  # never succeeded
    now = timezone.now()
    Backup.objects.create(
        status=Backup.Status.OK, started_at=now - timedelta(days=2, hours=1),
        finished_at=now - timedelta(days=2, minutes=50),
    )  # fmt: skip
    assert backup_health(now).stale
    assert "more than 2 days" in backup_health(now).warning
    assert not backup_health(now - timedelta(hours=2)).stale


@pytest.mark.django_db
def test_the_admin_shows_the_last_success_and_warns_when_it_is_old(client):
    client.force_login(UserFactory(username="root", is_staff=True, is_superuser=True))
    response = client.get("/admin/")
    assert b"No backup has succeeded yet." in response.content

    Backup.objects.create(status=Backup.Status.OK, finished_at=timezone.now())
    Backup.objects.create(status=Backup.Status.FAILED, finished_at=timezone.now(), error="boom")
    response = client.get("/admin/")
    assert b"Last successful backup:" in response.content
    assert b"The latest backup failed:" in response.content and b"boom" in response.content

    Backup.objects.update(finished_at=timezone.now() - timedelta(days=3))
    response = client.get("/admin/backups/backup/")
    assert response.status_code == 200
    assert b"No backup has succeeded for more than 2 days" in response.content


@pytest.mark.django_db
def test_the_admin_index_says_nothing_about_backups_to_staff_without_the_permission(client):
    client.force_login(UserFactory(username="staffer", is_staff=True))
    response = client.get("/admin/")
    assert response.status_code == 200
    assert b"backup-status" not in response.content


def test_the_postgresql_password_goes_in_the_environment_not_the_command_line():
    arguments, environment = postgresql.client_arguments(
        {
            "NAME": "crm",
            "USER": "crm",
            "PASSWORD": "s3cret",
            "HOST": "db",
            "PORT": 5432,
            "OPTIONS": {"sslmode": "require"},
        }
    )
    assert not any("s3cret" in argument for argument in arguments)
    assert environment["PGPASSWORD"] == "s3cret"
    assert environment["PGSSLMODE"] == "require"
    assert arguments == [
        "--no-password",
        "--host=db",
        "--port=5432",
        "--username=crm",
        "--dbname=crm",
    ]


def test_pg_dump_is_found_outside_path(monkeypatch):
    if not Path("/usr/lib/postgresql").is_dir():
        pytest.skip("no /usr/lib/postgresql/<version>/bin on this machine")
    monkeypatch.setattr("shutil.which", lambda name: None)
    found = Path(postgresql.find_program("pg_dump"))
    assert found.name == "pg_dump" and found.parent.match("/usr/lib/postgresql/*/bin")


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_backup_is_a_pg_dump_custom_archive(postgres, backup_dir):
    backup = backup_take()
    with tarfile.open(backup.path) as tar:
        assert tar.extractfile("database.pgdump").read(5) == b"PGDMP"


def test_beat_runs_the_nightly_backup_task(settings):
    from crm.celery import app

    entry = settings.CELERY_BEAT_SCHEDULE["nightly-backup"]
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({1}, {15})
