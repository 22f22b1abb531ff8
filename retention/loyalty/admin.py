"""Earning rules, tiers, rewards and the (read-only) ledger in the Django admin."""

from django.contrib import admin

from . import tiers
from .models import (
    Coupon,
    CustomerBadge,
    LoyaltySettings,
    PointsAccount,
    PointsEntry,
    PointsMonth,
    Reward,
    Tier,
)


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
        tiers.tiers_recompute()  # a new threshold moves customers up or down now

    def delete_model(self, request, obj) -> None:
        super().delete_model(request, obj)
        tiers.tiers_recompute()

    def delete_queryset(self, request, queryset) -> None:
        super().delete_queryset(request, queryset)
        tiers.tiers_recompute()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Ledger rows are written by retention/loyalty/ only: never added, edited or deleted."""

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
