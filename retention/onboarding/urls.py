"""Onboarding overview, checklist templates and step actions.

Included by retention/urls.py, in the "retention" namespace.
"""

from django.urls import path

from . import views

urlpatterns = [
    path("onboarding/", views.OnboardingOverviewView.as_view(), name="onboarding"),
    path(
        "onboarding/templates/",
        views.TemplateListView.as_view(),
        name="template_list",
    ),
    path(
        "onboarding/templates/new/",
        views.TemplateEditView.as_view(),
        name="template_create",
    ),
    path(
        "onboarding/templates/<int:pk>/",
        views.TemplateEditView.as_view(),
        name="template_edit",
    ),
    path(
        "onboarding/templates/<int:pk>/delete/",
        views.TemplateDeleteView.as_view(),
        name="template_delete",
    ),
    path(
        "onboarding/customers/<int:customer_id>/start/",
        views.ChecklistStartView.as_view(),
        name="checklist_start",
    ),
    path(
        "onboarding/checklists/<int:pk>/cancel/",
        views.ChecklistCancelView.as_view(),
        name="checklist_cancel",
    ),
    path(
        "onboarding/steps/<int:pk>/<str:action>/",
        views.StepActionView.as_view(),
        name="step_action",
    ),
]
