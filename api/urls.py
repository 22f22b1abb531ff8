"""/api/: the REST API under v1/, its schema, its docs page and the token page."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from . import usage_views
from .views import customers, interactions, pages, retention, surveys
from .webhooks import views as webhooks

app_name = "api"

router = DefaultRouter(trailing_slash=True)
router.include_root_view = False
router.register("customers", customers.CustomerViewSet, basename="customer")
router.register("companies", customers.CompanyViewSet, basename="company")
router.register("interactions", interactions.InteractionViewSet, basename="interaction")
router.register("risk", retention.RiskViewSet, basename="risk")
router.register("surveys", surveys.SurveyViewSet, basename="survey")
router.register("survey-responses", surveys.SurveyResponseViewSet, basename="survey-response")
router.register("loyalty/accounts", retention.PointsAccountViewSet, basename="points-account")
router.register("loyalty/entries", retention.PointsEntryViewSet, basename="points-entry")
router.register("loyalty/rewards", retention.RewardViewSet, basename="reward")

urlpatterns = [
    path("v1/usage/", usage_views.UsageView.as_view(), name="usage"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", pages.docs_view, name="docs"),
    path("token/", pages.TokenView.as_view(), name="token"),
    path("webhooks/<int:source_id>/", webhooks.receive, name="webhook"),
]
