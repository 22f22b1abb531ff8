from django.contrib import admin

from . import risk, signals
from .models import (
    CustomerRisk,
    EmailTemplate,
    EmailTemplateTranslation,
    EmailUnsubscribe,
    FollowUpRule,
    Notification,
    OutgoingEmail,
    RiskConfig,
    RiskEvent,
    RiskRun,
    RiskSnapshot,
    SignalSetting,
    StaffProfile,
)


@admin.register(SignalSetting)
class SignalSettingAdmin(admin.ModelAdmin):
    """Weights and thresholds; the help column says what threshold and window mean."""

    list_display = [
        "key",
        "enabled",
        "weight",
        "onboarding_weight",
        "threshold",
        "window_days",
        "meaning",
    ]
    list_editable = ["enabled", "weight", "onboarding_weight", "threshold", "window_days"]

    def changelist_view(self, request, extra_context=None):
        risk.ensure_signal_settings()  # every registered signal appears, with its defaults
        return super().changelist_view(request, extra_context)

    @admin.display(description="threshold / window")
    def meaning(self, setting: SignalSetting) -> str:
        signal = signals.registered().get(setting.key)
        return f"{signal.threshold_help} / {signal.window_help}" if signal else ""


@admin.register(RiskConfig)
class RiskConfigAdmin(admin.ModelAdmin):
    list_display = ["__str__", "medium_from", "high_from"]
    list_editable = ["medium_from", "high_from"]
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


# --- Follow-up emails -----------------------------------------------------------------


class EmailTemplateTranslationInline(admin.StackedInline):
    model = EmailTemplateTranslation
    extra = 0


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "description", "updated_at"]
    search_fields = ["name"]
    inlines = [EmailTemplateTranslationInline]


@admin.register(EmailTemplateTranslation)
class EmailTemplateTranslationAdmin(admin.ModelAdmin):
    list_display = ["template", "language", "subject"]
    list_filter = ["language"]


@admin.register(FollowUpRule)
class FollowUpRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "flag_key", "template", "position", "active"]
    list_filter = ["trigger", "active"]


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(admin.ModelAdmin):
    list_display = ["to_email", "kind", "status", "attempts", "created_at", "sent_at", "opened_at"]
    list_filter = ["status", "kind"]
    search_fields = ["to_email", "subject", "message_id"]
    raw_id_fields = ["customer", "recipient_user", "created_by"]
    list_select_related = ["customer"]
    show_full_result_count = False


@admin.register(EmailUnsubscribe)
class EmailUnsubscribeAdmin(admin.ModelAdmin):
    list_display = ["customer", "source", "unsubscribed_at"]
    raw_id_fields = ["customer"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user"]
