"""The audit log page (admins): every recorded staff action, filtered, 50 a page."""

from django.conf import settings
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views import View

from .filters import AuditEntryFilter
from .models import AuditEntry
from .selectors import attach_targets, detail_items

PER_PAGE = 50


class AuditLogView(PermissionRequiredMixin, View):
    """For admins: the Admin role holds `audit.view_auditentry` (customers.access gives
    it every permission of the CRM's apps). Not logged in: the login page; logged in
    without it: 403, as the other admin pages answer."""

    permission_required = "audit.view_auditentry"

    def get(self, request: HttpRequest) -> HttpResponse:
        entries = AuditEntry.objects.select_related("target_type").order_by("-at", "-id")
        entry_filter = AuditEntryFilter(request.GET or None, queryset=entries)
        if entry_filter.is_bound and not entry_filter.is_valid():
            queryset = entries.none()
        else:
            queryset = entry_filter.qs
        page = Paginator(queryset, PER_PAGE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        attach_targets(rows)
        for entry in rows:
            entry.detail_items = detail_items(entry.details)
        query = request.GET.copy()
        query.pop("page", None)
        context = {
            "filter": entry_filter,
            "page": page,
            "entries": rows,
            "query": query.urlencode(),
            "retention_days": settings.AUDIT_RETENTION_DAYS,
        }
        return render(request, "audit/log.html", context)
