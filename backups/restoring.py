"""Bringing a backup back: the database, uploaded files, then `migrate`.

The app must be stopped while a restore runs (web, worker and beat): nothing else
may write to the database, and their connections and caches would hold the old
state. See the README, "Production".
"""

import logging
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import TextIO

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.migrations.loader import MigrationLoader
from django.utils import timezone

from . import archive, databases
from .errors import RestoreRefused
from .models import Backup
from .taking import backup_dir

logger = logging.getLogger(__name__)


def database_holds_data(connection: BaseDatabaseWrapper) -> bool:
    """True unless the database is new: no tables, or only what `migrate` creates.

    A database in use has at least one user account (nobody could log in otherwise);
    a freshly created or freshly migrated one, or one wiped with `flush`, has none.
    """
    users = get_user_model()
    if users._meta.db_table not in connection.introspection.table_names():
        return False
    return users._default_manager.db_manager(connection.alias).exists()


def newer_migrations(manifest: dict) -> list[str]:
    """Migrations the backup has applied that this code does not know (a newer version's)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return [
        f"{app_label} {name}"
        for app_label, name in manifest["migrations"].items()
        if app_label in loader.migrated_apps and (app_label, name) not in loader.disk_migrations
    ]


def check_restorable(*, manifest: dict, connection: BaseDatabaseWrapper, replace: bool) -> None:
    vendor = manifest["database"]["vendor"]
    if vendor != connection.vendor:
        raise RestoreRefused(
            f"This backup is of a {vendor} database; "
            f"the configured database is {connection.vendor}."
        )
    unknown = newer_migrations(manifest)
    if unknown:
        raise RestoreRefused(
            "This backup comes from a newer version of the app (unknown migrations: "
            f"{', '.join(unknown)}). Restore it with that version."
        )
    if not replace and database_holds_data(connection):
        raise RestoreRefused(
            "The database is not empty: restoring replaces everything in it. "
            "Run again with --yes to replace it."
        )


def backup_restore(
    *,
    path: Path,
    replace: bool = False,
    using: str = DEFAULT_DB_ALIAS,
    stdout: TextIO | None = None,
) -> dict:
    """Replace the database (and MEDIA_ROOT) with the backup in `path`, then migrate.

    Refuses (RestoreRefused, before changing anything) a backup of another database
    vendor, one from a newer version, and, unless `replace`, a database holding data.
    A backup from an older version is migrated forward. Returns the manifest.
    """
    connection = connections[using]
    engine = databases.engine_for(connection)
    with tarfile.open(path) as tar, tempfile.TemporaryDirectory(dir=backup_dir()) as staging:
        manifest = archive.read_manifest(tar)
        check_restorable(manifest=manifest, connection=connection, replace=replace)
        database_file = archive.extract_file(
            tar, databases.FILE_NAMES[connection.vendor], Path(staging) / "database"
        )
        engine.load(connection, database_file)
        if manifest["media"]:
            restore_media(tar, Path(staging) / "media")
    # Cached content type ids came from the database that is gone.
    ContentType.objects.clear_cache()
    connection.close()
    call_command("migrate", database=using, interactive=False, verbosity=1, stdout=stdout)
    # The snapshot holds its own backup's row as it was while the dump ran.
    Backup.objects.using(using).filter(
        pk=manifest["backup_id"], status=Backup.Status.RUNNING
    ).update(
        status=Backup.Status.OK,
        finished_at=timezone.now(),
        path=str(path),
        size_bytes=Path(path).stat().st_size,
    )
    logger.info("Restored %s (taken %s)", path, manifest["created_at"])
    return manifest


def restore_media(tar: tarfile.TarFile, staging: Path) -> None:
    """Swap MEDIA_ROOT for the backup's copy (the old one is kept until the swap is done)."""
    if not settings.MEDIA_ROOT:
        logger.warning("The backup holds uploaded files but MEDIA_ROOT is not set: skipped.")
        return
    media_root = Path(settings.MEDIA_ROOT)
    archive.extract_media(tar, staging)
    previous = media_root.with_name(media_root.name + ".before-restore")
    shutil.rmtree(previous, ignore_errors=True)
    if media_root.exists():
        media_root.rename(previous)
    media_root.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(staging / archive.MEDIA, media_root)
    shutil.rmtree(previous, ignore_errors=True)
