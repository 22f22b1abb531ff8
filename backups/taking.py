"""Taking a backup into BACKUP_DIR, and keeping only the newest ones."""

import logging
import os
import shutil
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone

from . import archive, databases
from .errors import BackupError
from .models import Backup

logger = logging.getLogger(__name__)

STAGING_PREFIX = ".crm-backup-staging-"
# A backup still "running" after this long was interrupted (its process died).
INTERRUPTED_AFTER = timedelta(hours=6)


def backup_dir() -> Path:
    folder = Path(settings.BACKUP_DIR)
    # The backups hold every customer's data: only the app's user may read them.
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def media_root() -> Path | None:
    """MEDIA_ROOT when the project stores uploaded files there (empty: it has none)."""
    if settings.MEDIA_ROOT and Path(settings.MEDIA_ROOT).is_dir():
        return Path(settings.MEDIA_ROOT)
    return None


def backup_take(*, trigger: str = Backup.Trigger.COMMAND, using: str = DEFAULT_DB_ALIAS) -> Backup:
    """Write one archive of the database and uploaded files; its row says how it went.

    The archive is put together in a staging folder next to the backups and renamed
    into place when complete, so a file with a backup's name is always a whole backup.
    Raises BackupError (after recording it) when the backup failed.
    """
    connection = connections[using]
    engine = databases.engine_for(connection)
    folder = backup_dir()
    Backup.objects.using(using).filter(
        status=Backup.Status.RUNNING, started_at__lt=timezone.now() - INTERRUPTED_AFTER
    ).update(status=Backup.Status.FAILED, error="Interrupted: the process taking it stopped.")
    backup = Backup.objects.using(using).create(trigger=trigger)
    target = folder / archive.archive_name(backup.started_at)
    try:
        staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=folder))
        try:
            database_name = databases.FILE_NAMES[connection.vendor]
            engine.dump(connection, staging / database_name)
            media = media_root()
            manifest = archive.build_manifest(
                connection=connection,
                created_at=backup.started_at,
                backup_id=backup.pk,
                media=media is not None,
            )
            staged = staging / target.name
            archive.write(
                path=staged,
                manifest=manifest,
                database_file=staging / database_name,
                database_name=database_name,
                media_root=media,
            )
            os.chmod(staged, 0o600)
            if target.exists():
                raise BackupError(f"{target} exists already.")
            os.replace(staged, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    except Exception as error:
        logger.exception("Backup %s failed", backup.pk)
        Backup.objects.using(using).filter(pk=backup.pk).update(
            status=Backup.Status.FAILED, finished_at=timezone.now(), error=str(error)[:5000]
        )
        raise BackupError(f"The backup failed: {error}") from error
    Backup.objects.using(using).filter(pk=backup.pk).update(
        status=Backup.Status.OK,
        finished_at=timezone.now(),
        path=str(target),
        size_bytes=target.stat().st_size,
    )
    backup.refresh_from_db()
    logger.info("Backup written to %s (%s bytes)", target, backup.size_bytes)
    return backup


def backups_prune(*, keep: int) -> list[Path]:
    """Delete all but the newest `keep` archives in BACKUP_DIR; returns the deleted ones.

    Only files with a backup's name count (a failed backup leaves none), so a night
    whose backup failed never costs an older good one. Staging folders a killed
    process left behind are removed after a day.
    """
    folder = backup_dir()
    archives = sorted(p for p in folder.iterdir() if archive.is_archive_name(p.name))
    deleted = archives[: max(len(archives) - max(keep, 1), 0)]
    for path in deleted:
        path.unlink(missing_ok=True)
        logger.info("Deleted old backup %s", path)
    a_day_ago = time.time() - 24 * 3600
    for leftover in folder.glob(STAGING_PREFIX + "*"):
        if leftover.stat().st_mtime < a_day_ago:
            shutil.rmtree(leftover, ignore_errors=True)
    return deleted
