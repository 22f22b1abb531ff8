from django.contrib import admin

from .models import Company, Customer, ImportJob, Interaction, MembershipBuild, StatusChange, Tag


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["name", "industry", "website"]
    search_fields = ["name"]


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ["name"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "company", "status", "owner", "renewal_date", "archived_at"]
    list_filter = ["status", "owner", "marketing_consent", "preferred_language"]
    # search_text holds name, email and company, lower-cased, with a trigram index.
    search_fields = ["search_text"]
    list_select_related = ["company", "owner"]
    raw_id_fields = ["company"]
    autocomplete_fields = ["tags"]
    show_full_result_count = False
    readonly_fields = ["last_interaction_at", "created_at", "updated_at"]


@admin.register(Interaction)
class InteractionAdmin(admin.ModelAdmin):
    list_display = ["subject", "kind", "customer", "occurred_at", "recorded_by"]
    list_filter = ["kind", "sentiment", "direction"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer", "recorded_by"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False


@admin.register(ImportJob)
class ImportJobAdmin(admin.ModelAdmin):
    list_display = [
        "filename",
        "target",
        "mode",
        "status",
        "total_rows",
        "error_rows",
        "created_at",
    ]
    list_filter = ["status", "target"]
    readonly_fields = ["errors", "preview"]


class ReadOnlyAdmin(admin.ModelAdmin):
    """History and derived rows: shown, never edited by hand."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["customer", "from_status", "to_status", "changed_on", "recorded_at"]
    list_filter = ["to_status"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]
    date_hierarchy = "changed_on"
    show_full_result_count = False


@admin.register(MembershipBuild)
class MembershipBuildAdmin(ReadOnlyAdmin):
    list_display = ["as_of", "started_at", "finished_at", "customers", "spells"]
