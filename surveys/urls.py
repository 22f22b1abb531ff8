from django.urls import path

from . import public_views, views

app_name = "surveys"

urlpatterns = [
    path("", views.SurveyListView.as_view(), name="list"),
    path("new/", views.SurveyEditView.as_view(), name="create"),
    path("<int:pk>/", views.SurveyResultsView.as_view(), name="results"),
    path("<int:pk>/edit/", views.SurveyEditView.as_view(), name="edit"),
    path(
        "<int:pk>/translate/<str:language>/",
        views.SurveyTranslateView.as_view(),
        name="translate",
    ),
    path("<int:pk>/answers/", views.SurveyAnswersView.as_view(), name="answers"),
    path("<int:pk>/export/", views.SurveyExportView.as_view(), name="export"),
    path("<int:pk>/invitations/", views.SurveyInvitationsView.as_view(), name="invitations"),
    path("<int:pk>/send/", views.SendToSegmentView.as_view(), name="send_segment"),
    path(
        "customer/<int:customer_id>/send/<str:mode>/",
        views.SendToCustomerView.as_view(),
        name="send_customer",
    ),
    # Public: customers answer here through the link in their email.
    path("answer/<str:token>/", public_views.answer_view, name="answer"),
]
