"""`manage.py backup`: one archive of the database and uploaded files in BACKUP_DIR."""

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from ...errors import BackupError
from ...taking import backup_take


class Command(BaseCommand):
    help = "Back up the database (pg_dump or SQLite's backup API) and uploaded files."

    def handle(self, *args, **options) -> None:
        try:
            backup = backup_take()
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(
                f"Backup written: {backup.path} ({filesizeformat(backup.size_bytes)})"
            )
        )
