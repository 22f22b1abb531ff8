"""GDPR pages for admins: download everything held on a customer, erase a customer."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views import View

from audit.log import record
from audit.models import AuditEntry
from customers import access
from customers.models import Customer
from customers.views import StaffRequiredMixin

from .erasure import customer_erase, is_erased
from .export import customer_export
from .forms import ErasureForm


class AdminOnlyMixin(StaffRequiredMixin):
    """Admins only: other roles get a 403, as on the merge page (every role can see
    every customer, so that tells nothing)."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if request.user.is_authenticated and not access.is_admin(request.user):
            raise PermissionDenied(_("Only an admin can do this."))
        return super().dispatch(request, *args, **kwargs)

    def customer(self, request: HttpRequest, pk: int) -> Customer:
        return access.get_customer_for_user(request.user, pk, action="change")


class CustomerDataExportView(AdminOnlyMixin, View):
    """POST (a button): the zip of everything held on the customer, as a download."""

    def post(self, request: HttpRequest, pk: int) -> FileResponse:
        customer = self.customer(request, pk)
        archive = customer_export(customer)
        record(AuditEntry.Action.CUSTOMER_DATA_EXPORTED, request=request, target=customer)
        return FileResponse(
            archive,
            as_attachment=True,
            filename=f"customer-{customer.pk}-data.zip",
            content_type="application/zip",
        )


class CustomerEraseView(AdminOnlyMixin, View):
    template_name = "privacy/erase.html"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = self.customer(request, pk)
        form = ErasureForm(customer=customer)
        return render(request, self.template_name, self._context(customer, form))

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        customer = self.customer(request, pk)
        form = ErasureForm(request.POST, customer=customer)
        if not form.is_valid():
            return render(request, self.template_name, self._context(customer, form), status=422)
        with transaction.atomic():
            customer = customer_erase(customer=customer)
            record(AuditEntry.Action.CUSTOMER_ERASED, request=request, target=customer)
        messages.success(
            request, _("The customer's personal data is erased; their figures are kept.")
        )
        return redirect(customer)

    def _context(self, customer: Customer, form: ErasureForm) -> dict:
        return {"customer": customer, "form": form, "erased": is_erased(customer)}
