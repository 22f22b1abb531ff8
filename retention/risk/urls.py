"""The at-risk queue, risk runs and notifications.

Included by retention/urls.py, in the "retention" namespace.
"""

from django.urls import path

from . import views

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
]
