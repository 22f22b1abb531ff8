"""The at-risk queue, risk runs, notifications, and the risk model's admin pages.

Included by retention/urls.py, in the "retention" namespace.
"""

from django.urls import path

from . import model_views, views

urlpatterns = [
    path("queue/", views.QueueView.as_view(), name="queue"),
    path("queue/bulk/", views.QueueBulkView.as_view(), name="queue_bulk"),
    path("queue/<int:customer_id>/", views.CaseView.as_view(), name="case"),
    path(
        "queue/<int:customer_id>/<str:action>/",
        views.CaseActionView.as_view(),
        name="case_action",
    ),
    path("recompute/", views.RecomputeView.as_view(), name="recompute"),
    path("runs/<int:pk>/", views.RunView.as_view(), name="run"),
    path("notifications/", views.NotificationListView.as_view(), name="notifications"),
    # The risk model (admins): weights in use, calibration, backtests.
    path("risk/model/", model_views.RiskModelView.as_view(), name="risk_model"),
    path("risk/model/calibrate/", model_views.CalibrateView.as_view(), name="risk_calibrate"),
    path(
        "risk/model/calibrations/<int:pk>/",
        model_views.CalibrationView.as_view(),
        name="risk_calibration",
    ),
    path(
        "risk/model/weights/<int:pk>/apply/",
        model_views.WeightsApplyView.as_view(),
        name="risk_weights_apply",
    ),
    path("risk/backtest/", model_views.BacktestListView.as_view(), name="risk_backtests"),
    path("risk/backtest/<int:pk>/", model_views.BacktestView.as_view(), name="risk_backtest"),
    path(
        "risk/backtest/<int:pk>/csv/",
        model_views.BacktestCsvView.as_view(),
        name="risk_backtest_csv",
    ),
]
