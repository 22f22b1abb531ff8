from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from accounts.views import language_set
from customers.views import healthz, livez
from dashboard.views import DashboardView
from retention.onboarding.views import onboarding_public


class FaviconView(RedirectView):
    """/favicon.ico -> the SVG icon (its hashed static URL in production)."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("favicon.svg")


urlpatterns = [
    path("", DashboardView.as_view(), name="home"),  # the owner's dashboard
    path("dashboard/", include("dashboard.urls")),
    path("healthz/", healthz, name="healthz"),  # readiness: database and broker answer
    path("livez/", livez, name="livez"),  # liveness: the process answers
    # Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says.
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),  # own account, password reset, two-factor
    # Django's set_language, which also keeps a signed-in user's choice (accounts/).
    path("i18n/setlang/", language_set, name="set_language"),
    path("customers/", include("customers.urls")),
    path("retention/", include("retention.urls")),
    path("surveys/", include("surveys.urls")),
    path("audit/", include("audit.urls")),  # the audit log of staff actions (admins)
    path("api/", include("api.urls")),  # the REST API, its schema, docs and token pages
    path("privacy/", include("privacy.urls")),  # GDPR: a customer's data, erasure (admins)
    path("admin/", admin.site.urls),
    # Customer-facing pages, reached through signed links (no login).
    path("o/<str:token>/", onboarding_public, name="onboarding_public"),
]
