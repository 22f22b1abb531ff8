"""`manage.py restore FILE [--yes]`: bring a backup back, then migrate. Stop the app first."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from ...errors import BackupError
from ...restoring import backup_restore


class Command(BaseCommand):
    help = (
        "Replace the database and uploaded files with a backup made by `manage.py backup`, "
        "then run migrate. Stop the web server, worker and beat first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", type=Path, help="A crm-backup-*.tar file.")
        parser.add_argument(
            "--yes",
            action="store_true",
            help="Replace a database that holds data (without it, only an empty one).",
        )

    def handle(self, *args, file: Path, yes: bool, **options) -> None:
        if not file.is_file():
            raise CommandError(f"{file}: no such file.")
        try:
            manifest = backup_restore(path=file, replace=yes, stdout=self.stdout)
        except BackupError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            self.style.SUCCESS(f"Restored the backup taken {manifest['created_at']} from {file}.")
        )
