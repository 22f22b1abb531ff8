"""What the admin shows about backups."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import Backup

# The nightly job runs every day; two days without a good backup means it stopped working.
STALE_AFTER = timedelta(days=2)


@dataclass(frozen=True)
class BackupHealth:
    last_success: Backup | None
    latest: Backup | None  # the latest finished or failed attempt
    stale: bool  # no success within STALE_AFTER (or never)

    @property
    def latest_failed(self) -> bool:
        return self.latest is not None and self.latest.status == Backup.Status.FAILED

    @property
    def warning(self) -> str:
        """What the admin warns about ("" when the last success is recent)."""
        if not self.stale:
            return ""
        if self.last_success is None:
            return _("No backup has succeeded yet.")
        when = date_format(timezone.localtime(self.last_success.finished_at), "DATETIME_FORMAT")
        return ngettext(
            "No backup has succeeded for more than %(days)d day (last: %(when)s).",
            "No backup has succeeded for more than %(days)d days (last: %(when)s).",
            STALE_AFTER.days,
        ) % {
            "days": STALE_AFTER.days,
            "when": when,
        }


def backup_health(now: datetime | None = None) -> BackupHealth:
    now = now or timezone.now()
    last_success = Backup.objects.filter(status=Backup.Status.OK).order_by("-finished_at").first()
    latest = Backup.objects.exclude(status=Backup.Status.RUNNING).order_by("-started_at").first()
    stale = last_success is None or last_success.finished_at < now - STALE_AFTER
    return BackupHealth(last_success=last_success, latest=latest, stale=stale)
