"""The outbox, email templates, follow-up rules, and the unsubscribe and open links.

Included by retention/urls.py, in the "retention" namespace.
"""

from django.urls import path

from customers.csp import EMAIL_PREVIEW, csp_allow

from . import public_views, views

# The pages that show an email's HTML: see customers/csp.py.
email_preview = csp_allow(EMAIL_PREVIEW)

urlpatterns = [
    # Follow-up emails (staff)
    path("outbox/", views.OutboxView.as_view(), name="outbox"),
    path("outbox/<int:pk>/", email_preview(views.OutboxDetailView.as_view()), name="outbox_detail"),
    path("outbox/<int:pk>/retry/", views.OutboxRetryView.as_view(), name="outbox_retry"),
    path("email-templates/", views.EmailTemplateListView.as_view(), name="email_templates"),
    path(
        "email-templates/new/",
        email_preview(views.EmailTemplateEditView.as_view()),
        name="email_template_create",
    ),
    path(
        "email-templates/<int:pk>/",
        email_preview(views.EmailTemplateEditView.as_view()),
        name="email_template_edit",
    ),
    path(
        "email-templates/preview/",
        views.EmailTemplatePreviewView.as_view(),
        name="email_template_preview",
    ),
    path("rules/", views.RuleListView.as_view(), name="rules"),
    path("rules/new/", views.RuleEditView.as_view(), name="rule_create"),
    path("rules/<int:pk>/", views.RuleEditView.as_view(), name="rule_edit"),
    path(
        "customers/<int:customer_id>/follow-up/",
        views.SendFollowUpView.as_view(),
        name="send_followup",
    ),
    path("me/signature/", views.SignatureView.as_view(), name="signature"),
    # Public: reached from an email, signed tokens only
    path("u/<str:token>/", public_views.UnsubscribeView.as_view(), name="unsubscribe"),
    path(
        "u/<str:token>/one-click/",
        public_views.UnsubscribeOneClickView.as_view(),
        name="unsubscribe_one_click",
    ),
    path("o/<str:token>.gif", public_views.email_open, name="email_open"),
]
