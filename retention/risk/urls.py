from django.urls import path

from . import email_views, loyalty_views, onboarding_views, views

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
    path("onboarding/", onboarding_views.OnboardingOverviewView.as_view(), name="onboarding"),
    path(
        "onboarding/templates/",
        onboarding_views.TemplateListView.as_view(),
        name="template_list",
    ),
    path(
        "onboarding/templates/new/",
        onboarding_views.TemplateEditView.as_view(),
        name="template_create",
    ),
    path(
        "onboarding/templates/<int:pk>/",
        onboarding_views.TemplateEditView.as_view(),
        name="template_edit",
    ),
    path(
        "onboarding/templates/<int:pk>/delete/",
        onboarding_views.TemplateDeleteView.as_view(),
        name="template_delete",
    ),
    path(
        "onboarding/customers/<int:customer_id>/start/",
        onboarding_views.ChecklistStartView.as_view(),
        name="checklist_start",
    ),
    path(
        "onboarding/checklists/<int:pk>/cancel/",
        onboarding_views.ChecklistCancelView.as_view(),
        name="checklist_cancel",
    ),
    path(
        "onboarding/steps/<int:pk>/<str:action>/",
        onboarding_views.StepActionView.as_view(),
        name="step_action",
    ),
    # Loyalty
    path("loyalty/", loyalty_views.OverviewView.as_view(), name="loyalty"),
    path("loyalty/rewards/", loyalty_views.RewardListView.as_view(), name="loyalty_rewards"),
    path(
        "loyalty/rewards/new/", loyalty_views.RewardFormView.as_view(), name="loyalty_reward_create"
    ),
    path(
        "loyalty/rewards/<int:pk>/",
        loyalty_views.RewardFormView.as_view(),
        name="loyalty_reward_edit",
    ),
    path("loyalty/coupons/", loyalty_views.CouponListView.as_view(), name="loyalty_coupons"),
    path(
        "loyalty/coupons/<int:pk>/use/",
        loyalty_views.CouponMarkUsedView.as_view(),
        name="loyalty_coupon_use",
    ),
    path(
        "loyalty/customers/<int:pk>/history/",
        loyalty_views.PointsHistoryView.as_view(),
        name="loyalty_history",
    ),
    path(
        "loyalty/customers/<int:pk>/adjust/",
        loyalty_views.PointsAdjustView.as_view(),
        name="loyalty_adjust",
    ),
    path(
        "loyalty/customers/<int:pk>/referral/",
        loyalty_views.ReferralView.as_view(),
        name="loyalty_referral",
    ),
    # Public: the customer's own card behind a signed link.
    path("loyalty/card/<str:token>/", loyalty_views.LoyaltyCardView.as_view(), name="loyalty_card"),
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
