from django.urls import path

from . import email_views, views

app_name = "retention"

urlpatterns = [
    path("queue/", views.QueueView.as_view(), name="queue"),
    path(
        "queue/<int:customer_id>/<str:action>/",
        views.CaseActionView.as_view(),
        name="case_action",
    ),
    path("recompute/", views.RecomputeView.as_view(), name="recompute"),
    path("runs/<int:pk>/", views.RunView.as_view(), name="run"),
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    # Follow-up emails (staff)
    path("outbox/", email_views.OutboxView.as_view(), name="outbox"),
    path("outbox/<int:pk>/", email_views.OutboxDetailView.as_view(), name="outbox_detail"),
    path("outbox/<int:pk>/retry/", email_views.OutboxRetryView.as_view(), name="outbox_retry"),
    path("email-templates/", email_views.EmailTemplateListView.as_view(), name="email_templates"),
    path(
        "email-templates/new/",
        email_views.EmailTemplateEditView.as_view(),
        name="email_template_create",
    ),
    path(
        "email-templates/<int:pk>/",
        email_views.EmailTemplateEditView.as_view(),
        name="email_template_edit",
    ),
    path(
        "email-templates/preview/",
        email_views.EmailTemplatePreviewView.as_view(),
        name="email_template_preview",
    ),
    path("rules/", email_views.RuleListView.as_view(), name="rules"),
    path("rules/new/", email_views.RuleEditView.as_view(), name="rule_create"),
    path("rules/<int:pk>/", email_views.RuleEditView.as_view(), name="rule_edit"),
    path(
        "customers/<int:customer_id>/follow-up/",
        email_views.SendFollowUpView.as_view(),
        name="send_followup",
    ),
    path("me/signature/", email_views.SignatureView.as_view(), name="signature"),
    # Public: reached from an email, signed tokens only
    path("u/<str:token>/", email_views.UnsubscribeView.as_view(), name="unsubscribe"),
    path(
        "u/<str:token>/one-click/",
        email_views.UnsubscribeOneClickView.as_view(),
        name="unsubscribe_one_click",
    ),
    path("o/<str:token>.gif", email_views.email_open, name="email_open"),
]
