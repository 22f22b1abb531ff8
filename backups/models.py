from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Backup(models.Model):
    """One attempt at a backup: when it ran, where the file is, and how it ended.

    The row is written before the database is dumped, so the snapshot holds it as
    "running"; a restore marks it succeeded (the archive exists, so it did).
    """

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        OK = "ok", _("Succeeded")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        NIGHTLY = "nightly", _("Nightly job")
        COMMAND = "command", _("manage.py backup")

    started_at = models.DateTimeField(_("started"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    trigger = models.CharField(
        _("started by"), max_length=10, choices=Trigger.choices, default=Trigger.COMMAND
    )
    path = models.CharField(_("file"), max_length=500, blank=True)
    size_bytes = models.BigIntegerField(_("size in bytes"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("backup")
        verbose_name_plural = _("backups")

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.get_status_display()}"
