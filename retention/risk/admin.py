from django.contrib import admin

from . import loyalty, risk, signals
from .models import (
    Checklist,
    ChecklistStep,
    ChecklistTemplate,
    ChecklistTemplateStep,
    Coupon,
    CustomerBadge,
    CustomerRisk,
    EmailTemplate,
    EmailTemplateTranslation,
    EmailUnsubscribe,
    FollowUpRule,
    LoyaltySettings,
    Notification,
    OutgoingEmail,
    PointsAccount,
    PointsEntry,
    PointsMonth,
    Reward,
    RiskConfig,
    RiskEvent,
    RiskRun,
    RiskSnapshot,
    SignalSetting,
    StaffProfile,
    Tier,
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


class ChecklistTemplateStepInline(admin.TabularInline):
    model = ChecklistTemplateStep
    extra = 1


@admin.register(ChecklistTemplate)
class ChecklistTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "plan", "is_default"]
    search_fields = ["name", "plan"]
    inlines = [ChecklistTemplateStepInline]


class ChecklistStepInline(admin.TabularInline):
    model = ChecklistStep
    extra = 0
    fields = ["position", "title", "actor", "due_on", "required", "status", "completed_at"]
    readonly_fields = ["completed_at"]


@admin.register(Checklist)
class ChecklistAdmin(admin.ModelAdmin):
    list_display = ["customer", "name", "status", "started_on", "next_due_on"]
    list_filter = ["status", "template"]
    search_fields = ["customer__name", "customer__email", "name"]
    raw_id_fields = ["customer", "started_by"]
    list_select_related = ["customer"]
    inlines = [ChecklistStepInline]


# --- Loyalty ---------------------------------------------------------------------------


@admin.register(LoyaltySettings)
class LoyaltySettingsAdmin(admin.ModelAdmin):
    """The earning rules: one row; the list links straight to it."""

    list_display = [
        "__str__",
        "points_per_unit",
        "onboarding_bonus",
        "survey_bonus",
        "referral_bonus",
        "anniversary_bonus",
        "expiry_months",
        "coupon_valid_days",
    ]

    def changelist_view(self, request, extra_context=None):
        LoyaltySettings.load()  # the one row exists, with its defaults
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "threshold", "benefits"]
    list_editable = ["threshold"]

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        loyalty.tiers_recompute()  # a new threshold moves customers up or down now

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        loyalty.tiers_recompute()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        loyalty.tiers_recompute()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger rows are written by retention/loyalty.py only: never added, edited or deleted."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PointsEntry)
class PointsEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer", "kind", "points", "reason", "author"]
    list_filter = ["kind"]
    search_fields = ["source_key", "reason"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer", "author"]
    show_full_result_count = False


@admin.register(PointsAccount)
class PointsAccountAdmin(ReadOnlyAdmin):
    list_display = ["customer", "balance", "lifetime_points", "tier", "updated_at"]
    list_filter = ["tier"]
    list_select_related = ["customer", "tier"]
    show_full_result_count = False


@admin.register(CustomerBadge)
class CustomerBadgeAdmin(ReadOnlyAdmin):
    list_display = ["account", "kind", "awarded_at"]
    list_filter = ["kind"]


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "value", "points_price", "stock", "active"]
    list_filter = ["kind", "active"]


@admin.register(Coupon)
class CouponAdmin(ReadOnlyAdmin):
    list_display = ["code", "customer", "reward_name", "expires_on", "used_at", "created_at"]
    search_fields = ["code"]
    list_select_related = ["customer"]
    show_full_result_count = False


@admin.register(PointsMonth)
class PointsMonthAdmin(ReadOnlyAdmin):
    list_display = ["month", "issued", "redeemed", "expired"]


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
