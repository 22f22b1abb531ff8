"""The nightly purge (scheduled in crm/settings.py, CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task

from .retention import audit_purge_expired

logger = logging.getLogger(__name__)


@shared_task
def purge_old_entries() -> int:
    """Delete audit entries past AUDIT_RETENTION_DAYS. Safe to run twice."""
    deleted = audit_purge_expired()
    logger.info("Audit log: purged %d entries past retention", deleted)
    return deleted
