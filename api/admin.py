from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import WebhookDelivery, WebhookEndpoint, WebhookMessage, WebhookSource


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


class WebhookEndpointForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=500, assume_scheme="https")
    # The events are a JSON list: chosen with checkboxes from the fixed list.
    events = forms.MultipleChoiceField(
        choices=WebhookEndpoint.Event.choices, widget=forms.CheckboxSelectMultiple, required=False
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["name", "url", "secret", "events", "active"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = WebhookEndpointForm
    list_display = ["name", "url", "active", "created_at"]
    list_filter = ["active"]
    readonly_fields = ["created_at"]


@admin.register(WebhookMessage)
class WebhookMessageAdmin(admin.ModelAdmin):
    """Outgoing webhooks, newest first, with their attempts and last error: read only."""

    list_display = ["created_at", "endpoint", "event", "delivery_id", "status", "attempts"]
    list_filter = ["status", "event", "endpoint"]
    search_fields = ["delivery_id"]
    list_select_related = ["endpoint"]
    ordering = ["-created_at", "-id"]
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
