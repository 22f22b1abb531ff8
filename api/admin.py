from django.contrib import admin

from .models import WebhookDelivery, WebhookSource


@admin.register(WebhookSource)
class WebhookSourceAdmin(admin.ModelAdmin):
    list_display = ["name", "active", "act_as", "created_at"]
    list_filter = ["active"]
    raw_id_fields = ["act_as"]
    readonly_fields = ["created_at"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    """A source's deliveries, newest first, with what became of each: read only."""

    list_display = ["received_at", "source", "event_type", "delivery_id", "external_id", "status"]
    list_filter = ["source", "status"]
    search_fields = ["delivery_id", "external_id"]
    list_select_related = ["source"]
    ordering = ["-received_at", "-id"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
