from django.urls import path

from . import views

app_name = "privacy"

urlpatterns = [
    path(
        "customers/<int:pk>/export/",
        views.CustomerDataExportView.as_view(),
        name="customer_export",
    ),
    path("customers/<int:pk>/erase/", views.CustomerEraseView.as_view(), name="customer_erase"),
]
