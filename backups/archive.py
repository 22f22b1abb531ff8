"""The backup file: one .tar holding the database dump, uploaded files and a manifest.

    crm-backup-20260112T011500.123Z.tar   (UTC; names sort by time)
      manifest.json      format, date, database vendor, latest migration per app
      database.pgdump    pg_dump custom format (PostgreSQL), or database.sqlite3
      media/...          MEDIA_ROOT, when the project has uploaded files

The tar is not compressed: a pg_dump custom file already is.
"""

import io
import json
import re
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import django
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.recorder import MigrationRecorder

from .errors import BackupError

FORMAT = 1
MANIFEST = "manifest.json"
MEDIA = "media"
PREFIX = "crm-backup-"
NAME_PATTERN = re.compile(r"^crm-backup-\d{8}T\d{6}\.\d{3}Z\.tar$")


def archive_name(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return f"{PREFIX}{moment:%Y%m%dT%H%M%S}.{moment.microsecond // 1000:03d}Z.tar"


def is_archive_name(name: str) -> bool:
    return bool(NAME_PATTERN.match(name))


def latest_migrations(connection: BaseDatabaseWrapper) -> dict[str, str]:
    """The schema version: the latest migration applied, per app."""
    latest: dict[str, str] = {}
    for app_label, name in MigrationRecorder(connection).applied_migrations():
        latest[app_label] = max(latest.get(app_label, name), name)
    return dict(sorted(latest.items()))


def build_manifest(
    *, connection: BaseDatabaseWrapper, created_at: datetime, backup_id: int, media: bool
) -> dict:
    return {
        "format": FORMAT,
        "created_at": created_at.astimezone(UTC).isoformat(),
        "backup_id": backup_id,
        "database": {"vendor": connection.vendor},
        "migrations": latest_migrations(connection),
        "media": media,
        "django": django.get_version(),
    }


def write(
    *, path: Path, manifest: dict, database_file: Path, database_name: str, media_root: Path | None
) -> None:
    with tarfile.open(path, "x") as tar:
        data = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo(MANIFEST)
        info.size = len(data)
        info.mtime = int(datetime.now(UTC).timestamp())
        tar.addfile(info, io.BytesIO(data))
        tar.add(database_file, arcname=database_name)
        if media_root is not None:
            tar.add(media_root, arcname=MEDIA)


def read_manifest(tar: tarfile.TarFile) -> dict:
    try:
        manifest = json.load(tar.extractfile(MANIFEST))
    except (KeyError, ValueError) as error:
        raise BackupError(f"Not a backup made by `manage.py backup` ({error}).") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    return manifest


def extract_file(tar: tarfile.TarFile, name: str, target: Path) -> Path:
    member = tar.extractfile(name)
    if member is None:
        raise BackupError(f"{name} is missing from the backup.")
    with target.open("wb") as out:
        while chunk := member.read(1024 * 1024):
            out.write(chunk)
    return target


def extract_media(tar: tarfile.TarFile, target: Path) -> None:
    """Unpack media/ into `target` (a new folder); "data" refuses paths leaving it."""
    members = [m for m in tar.getmembers() if m.name == MEDIA or m.name.startswith(MEDIA + "/")]
    tar.extractall(target, members=members, filter="data")
