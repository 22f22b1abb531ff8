"""The API's two pages for people: getting a token, and the docs (Swagger UI)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import View
from drf_spectacular.views import SpectacularSwaggerSplitView
from rest_framework.authentication import SessionAuthentication
from rest_framework.authtoken.models import Token

from customers.views import StaffRequiredMixin

from ..permissions import RoleRequired


class TokenView(StaffRequiredMixin, View):
    """The user's API token: create one, or replace it (the old one stops working).

    The key is shown once, right after it is made; the page never shows it again.
    """

    template_name = "api/token.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        token = Token.objects.filter(user=request.user).first()
        return render(request, self.template_name, {"token": token, "new_key": ""})

    def post(self, request: HttpRequest) -> HttpResponse:
        with transaction.atomic():
            Token.objects.filter(user=request.user).delete()
            token = Token.objects.create(user=request.user)
        messages.success(request, _("A new token was created; the previous one no longer works."))
        # Shown in this response only: no redirect, so it is not in any later page.
        response = render(request, self.template_name, {"token": token, "new_key": token.key})
        response["Cache-Control"] = "no-store"
        return response


class DocsView(SpectacularSwaggerSplitView):
    """Swagger UI over the schema, for a logged-in user with a role; its scripts and
    styles are drf-spectacular-sidecar's files in static/ (no CDN).

    The split view serves the page's own script from this URL with ?script, not inline,
    and the template has no inline style: the page runs under the strict policy.
    """

    authentication_classes = [SessionAuthentication]
    permission_classes = [RoleRequired]
    url_name = "api:schema"
    title = "CRM API"
    template_name = "api/docs.html"


docs_view = login_required(DocsView.as_view())
