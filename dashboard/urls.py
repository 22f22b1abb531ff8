from django.urls import path

from . import views

app_name = "dashboard"

# The dashboard itself is the site's home page ("home", in crm/urls.py).
urlpatterns = [
    path("<slug:key>.csv", views.TableCsvView.as_view(), name="table_csv"),
]
