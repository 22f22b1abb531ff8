"""Likely duplicate customers, and merging two of them (admins)."""

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from audit.log import record
from audit.models import AuditEntry

from . import access, selectors, services
from .forms import MergeForm
from .views import StaffRequiredMixin

GROUPS_PER_PAGE = 20


class DuplicateListView(StaffRequiredMixin, View):
    permission_required = "customers.merge_customers"

    def get(self, request: HttpRequest) -> HttpResponse:
        email_page = Paginator(selectors.email_duplicate_keys(), GROUPS_PER_PAGE).get_page(
            request.GET.get("email_page")
        )
        phone_page = Paginator(selectors.name_phone_duplicate_keys(), GROUPS_PER_PAGE).get_page(
            request.GET.get("phone_page")
        )
        context = {
            "email_page": email_page,
            "email_groups": selectors.email_duplicate_groups(list(email_page.object_list)),
            "phone_page": phone_page,
            "phone_groups": selectors.name_phone_duplicate_groups(list(phone_page.object_list)),
        }
        return render(request, "customers/duplicates.html", context)


class MergeView(StaffRequiredMixin, View):
    permission_required = "customers.merge_customers"
    template_name = "customers/merge.html"

    def _pair(self, request: HttpRequest, first: int, second: int):
        if first == second:
            raise Http404
        return (
            access.get_customer_for_user(request.user, first, action="change"),
            access.get_customer_for_user(request.user, second, action="change"),
        )

    def get(self, request: HttpRequest, first: int, second: int) -> HttpResponse:
        pair = self._pair(request, first, second)
        form = MergeForm(pair=pair, initial={"survivor": pair[0].pk})
        return render(request, self.template_name, {"form": form, "pair": pair})

    def post(self, request: HttpRequest, first: int, second: int) -> HttpResponse:
        pair = self._pair(request, first, second)
        form = MergeForm(request.POST, pair=pair)
        if not form.is_valid():
            return render(request, self.template_name, {"form": form, "pair": pair}, status=422)
        survivor = form.cleaned_data["survivor"]
        duplicate = pair[1] if survivor.pk == pair[0].pk else pair[0]
        with transaction.atomic():
            merged_away = duplicate.pk
            survivor = services.customer_merge(
                survivor=survivor, duplicate=duplicate, merged_by=request.user
            )
            details = {"survivor": survivor.pk, "merged": merged_away}
            record(
                AuditEntry.Action.CUSTOMER_MERGED, request=request, target=survivor, details=details
            )
        messages.success(
            request,
            _("Merged into %(name)s: its history now holds both records.")
            % {"name": survivor.name},
        )
        return redirect(survivor)
