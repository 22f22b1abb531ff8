"""Checklist templates and running checklists in the Django admin."""

from django.contrib import admin

from .models import Checklist, ChecklistStep, ChecklistTemplate, ChecklistTemplateStep


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
