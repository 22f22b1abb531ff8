"""How long the audit log keeps entries (AUDIT_RETENTION_DAYS), and the purge."""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from .models import AuditEntry

PURGE_BATCH_SIZE = 5_000


def audit_purge_expired(*, now=None, batch_size: int = PURGE_BATCH_SIZE) -> int:
    """Delete the entries older than AUDIT_RETENTION_DAYS, in batches; the number deleted.

    Batches keep each DELETE short (no long lock on the table while staff act); an
    entry is selected by age alone, so a second run, or two at once, delete nothing
    more. The only place an entry is deleted (the model refuses it elsewhere).
    """
    cutoff = (now or timezone.now()) - timedelta(days=settings.AUDIT_RETENTION_DAYS)
    entries = AuditEntry._base_manager.filter(at__lt=cutoff)
    deleted = 0
    while True:
        batch = list(entries.order_by("at", "id").values_list("id", flat=True)[:batch_size])
        if not batch:
            return deleted
        count, _per_model = AuditEntry._base_manager.filter(id__in=batch).delete()
        deleted += count
