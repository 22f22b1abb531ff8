from django.contrib import admin, messages
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy as _

from .models import Backup
from .selectors import backup_health


@admin.register(Backup)
class BackupAdmin(admin.ModelAdmin):
    """Read-only: rows are written by `manage.py backup` and the nightly job."""

    list_display = ["started_at", "status", "trigger", "finished_at", "size", "path", "error"]
    list_filter = ["status", "trigger"]
    date_hierarchy = "started_at"

    @admin.display(description=_("size"), ordering="size_bytes")
    def size(self, backup: Backup) -> str:
        return filesizeformat(backup.size_bytes) if backup.size_bytes is not None else ""

    def changelist_view(self, request, extra_context=None):
        warning = backup_health().warning
        if warning:
            self.message_user(request, warning, messages.WARNING)
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
