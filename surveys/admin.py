from django.contrib import admin

from .models import Answer, Choice, Question, Survey, SurveyInvitation, SurveyResponse


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0
    fields = ["position", "kind", "text", "help_text", "required", "translations"]


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "is_active", "automatic", "created_at"]
    list_filter = ["kind", "is_active", "automatic"]
    search_fields = ["name", "title"]
    inlines = [QuestionInline]


class ChoiceInline(admin.TabularInline):
    model = Choice
    extra = 0


@admin.register(Question)
class QuestionAdmin(admin.ModelAdmin):
    list_display = ["text", "survey", "kind", "position", "required"]
    list_filter = ["kind", "survey"]
    search_fields = ["text"]
    inlines = [ChoiceInline]


@admin.register(Choice)
class ChoiceAdmin(admin.ModelAdmin):
    list_display = ["label", "question", "position", "is_active"]
    search_fields = ["label"]
    raw_id_fields = ["question"]


@admin.register(SurveyInvitation)
class SurveyInvitationAdmin(admin.ModelAdmin):
    """Read-mostly: the token hashes are never shown or edited."""

    list_display = ["survey", "customer", "status", "trigger", "sent_at", "used_at", "expires_at"]
    list_filter = ["status", "trigger", "survey"]
    search_fields = ["customer__search_text"]
    list_select_related = ["survey", "customer"]
    raw_id_fields = ["customer", "created_by"]
    readonly_fields = [
        "sent_at",
        "reminded_at",
        "used_at",
        "attempts",
        "last_error",
        "queued_at",
        "claimed_until",
        "created_at",
    ]
    show_full_result_count = False


class AnswerInline(admin.TabularInline):
    model = Answer
    extra = 0
    raw_id_fields = ["question", "choice"]


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ["survey", "customer", "nps_score", "language", "submitted_at"]
    list_filter = ["survey", "language"]
    search_fields = ["customer__search_text"]
    list_select_related = ["survey", "customer"]
    raw_id_fields = ["invitation", "customer"]
    inlines = [AnswerInline]
    show_full_result_count = False


@admin.register(Answer)
class AnswerAdmin(admin.ModelAdmin):
    list_display = ["question", "number", "choice", "text"]
    search_fields = ["text"]
    raw_id_fields = ["response", "question", "choice"]
    list_select_related = ["question", "choice"]
    show_full_result_count = False
