"""The retention app's URLs, one list per feature, all in the "retention" namespace."""

from django.urls import include, path

app_name = "retention"

urlpatterns = [
    path("", include("retention.risk.urls")),
    path("", include("retention.onboarding.urls")),
    path("", include("retention.loyalty.urls")),
    path("", include("retention.outreach.urls")),
]
