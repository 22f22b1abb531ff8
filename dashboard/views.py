"""The home page: the owner's dashboard, and each of its tables as CSV."""

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from audit.log import record
from audit.models import AuditEntry
from customers import access
from customers.views import StaffRequiredMixin

from .board import Board, board, query_for
from .forms import DashboardForm
from .sections import Links
from .tables import csv_response


def _links(user) -> Links:
    """The pages behind the figures that this user may open."""
    return Links(
        queue=access.is_admin(user) or access.is_account_manager(user),
        surveys=user.has_perm("surveys.view_surveyresponse"),
        onboarding=user.has_perm("retention.view_checklist"),
        loyalty=access.has_role(user),
    )


def _board(request: HttpRequest) -> tuple[DashboardForm, Board]:
    today = timezone.localdate()
    form = DashboardForm(request.GET or None, user=request.user, today=today)
    period, scope, owner = form.chosen()
    scope_title = dict(form.fields["owner"].choices).get(owner, "")
    return form, board(
        scope, period, today, scope_title=str(scope_title), links=_links(request.user)
    )


class DashboardView(StaffRequiredMixin, View):
    """Every role's start page: account managers see their own book first."""

    def get(self, request: HttpRequest) -> HttpResponse:
        form, page = _board(request)
        query = request.GET.copy()
        return render(
            request,
            "dashboard/home.html",
            {
                "form": form,
                "board": page,
                "query": query.urlencode(),
                "previous_query": query_for(query, page.period.previous()),
                "next_query": query_for(query, page.period.next()),
            },
        )


class TableCsvView(StaffRequiredMixin, View):
    def get(self, request: HttpRequest, key: str) -> HttpResponse:
        _form, page = _board(request)
        table = page.tables.get(key)
        if table is None:
            raise Http404
        details = {"export": f"dashboard.{key}", "period": str(page.period.start)}
        details["scope"] = page.scope.key
        record(AuditEntry.Action.CUSTOMERS_EXPORTED, request=request, details=details)
        return csv_response(table, f"{key}-{page.period.start:%Y%m%d}-{page.scope.key}.csv")
