"""Risk settings, levels and the risk tables in the Django admin."""

from django.contrib import admin

from audit.log import record
from audit.models import AuditEntry

from . import planning, signals
from .models import (
    CustomerRisk,
    Notification,
    RiskConfig,
    RiskEvent,
    RiskRun,
    RiskSnapshot,
    SignalSetting,
    WeightSet,
)


class AuditedAdmin(admin.ModelAdmin):
    """Thresholds and windows change the scores as weights do: each save is in the audit
    log (inside the admin's transaction, list edits included)."""

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        details = {"fields": sorted(form.changed_data)}
        record(AuditEntry.Action.RISK_WEIGHTS_CHANGED, request=request, target=obj, details=details)


@admin.register(SignalSetting)
class SignalSettingAdmin(AuditedAdmin):
    """Thresholds and windows; the help column says what they mean for each signal.

    The weights are learned (Risk model page, WeightSet), not typed in here.
    """

    list_display = ["key", "enabled", "threshold", "window_days", "meaning"]
    list_editable = ["enabled", "threshold", "window_days"]

    def changelist_view(self, request, extra_context=None):
        planning.ensure_signal_settings()  # every registered signal appears, with its defaults
        return super().changelist_view(request, extra_context)

    @admin.display(description="threshold / window")
    def meaning(self, setting: SignalSetting) -> str:
        signal = signals.registered().get(setting.key)
        return f"{signal.threshold_help} / {signal.window_help}" if signal else ""


@admin.register(RiskConfig)
class RiskConfigAdmin(AuditedAdmin):
    list_display = ["__str__", "medium_from", "high_from", "horizon_days"]
    list_editable = ["medium_from", "high_from", "horizon_days"]
    list_display_links = ["__str__"]


@admin.register(CustomerRisk)
class CustomerRiskAdmin(admin.ModelAdmin):
    list_display = ["customer", "score", "level", "level_since", "snoozed_until", "resolution"]
    list_filter = ["level", "resolution"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    show_full_result_count = False


@admin.register(RiskSnapshot)
class RiskSnapshotAdmin(admin.ModelAdmin):
    list_display = ["customer", "as_of", "score", "level"]
    raw_id_fields = ["customer"]
    show_full_result_count = False


@admin.register(RiskEvent)
class RiskEventAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "occurred_at", "from_level", "to_level", "actor"]
    raw_id_fields = ["customer"]
    list_filter = ["kind"]


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["recipient", "message", "created_at", "read_at"]
    raw_id_fields = ["customer"]


@admin.register(RiskRun)
class RiskRunAdmin(admin.ModelAdmin):
    list_display = [
        "as_of",
        "status",
        "chunks_done",
        "chunks_total",
        "customers_changed",
        "started_at",
        "finished_at",
    ]


@admin.register(WeightSet)
class WeightSetAdmin(admin.ModelAdmin):
    list_display = ["created_at", "status", "applied_at", "applied_by"]
    list_filter = ["status"]
    readonly_fields = ["figures", "weights", "intercept"]
