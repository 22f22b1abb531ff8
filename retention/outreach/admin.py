"""Email templates, follow-up rules and the outbox in the Django admin."""

from django.contrib import admin

from .models import (
    EmailTemplate,
    EmailTemplateTranslation,
    EmailUnsubscribe,
    FollowUpRule,
    OutgoingEmail,
    StaffProfile,
)


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
