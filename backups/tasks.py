"""The nightly backup (scheduled in crm/settings.py, CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task
from django.conf import settings

from .models import Backup
from .taking import backup_take, backups_prune

logger = logging.getLogger(__name__)


@shared_task
def nightly_backup() -> str:
    """Take a backup, then keep the newest BACKUP_KEEP.

    Safe to run twice: a second run only makes one more backup. A failed backup is
    recorded in its row and raises before the pruning, so it deletes no older one.
    """
    backup = backup_take(trigger=Backup.Trigger.NIGHTLY)
    deleted = backups_prune(keep=settings.BACKUP_KEEP)
    logger.info("Nightly backup %s; deleted %d old backups", backup.path, len(deleted))
    return backup.path
