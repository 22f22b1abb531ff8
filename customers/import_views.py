"""CSV import (upload, check, preview, apply) and CSV export pages."""

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views import View
from django_htmx.http import HttpResponseClientRefresh

from audit.log import parameter_names, record
from audit.models import AuditEntry

from . import access, exporting, importing
from .csv_columns import COLUMNS, column_names
from .filters import OWNER_ME, CustomerFilter
from .forms import ImportUploadForm
from .importing import mapping as column_mapping
from .models import Customer, ImportJob
from .views import StaffRequiredMixin

JOBS_PER_PAGE = 20
ERRORS_PER_PAGE = 50
ACTION_BADGES = {"create": "success", "update": "info", "error": "danger"}
# The statuses a job can be cancelled in: before its import runs.
CANCELLABLE = (ImportJob.Status.MAPPING, ImportJob.Status.VALIDATING, ImportJob.Status.VALIDATED)


class ImportUploadView(StaffRequiredMixin, View):
    permission_required = "customers.import_customers"
    template_name = "customers/import_upload.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, ImportUploadForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.render(request, form, status=422)
        try:
            with transaction.atomic():
                job = ImportJob.objects.create(
                    target=form.cleaned_data["target"],
                    mode=form.cleaned_data["mode"],
                    filename=form.filename[:255],
                    created_by=request.user,
                )
                importing.store_upload(job, form.cleaned_data["file"])
                # Checked at once when the header needs no mapping, else the mapping step.
                column_mapping.job_columns_start(job=job, language=translation.get_language())
        except importing.UnreadableFile as problem:
            form.add_error("file", str(problem))
            return self.render(request, form, status=422)
        return redirect(job)

    def render(self, request: HttpRequest, form: ImportUploadForm, status: int = 200):
        jobs = ImportJob.objects.select_related("created_by").defer("errors", "preview")
        if not access.is_admin(request.user):
            jobs = jobs.filter(created_by=request.user)
        page = Paginator(jobs.order_by("-created_at", "-id"), JOBS_PER_PAGE).get_page(
            request.GET.get("page")
        )
        context = {
            "form": form,
            "page": page,
            "column_help": [(label, COLUMNS[target]) for target, label in ImportJob.Target.choices],
            "max_rows": settings.IMPORT_MAX_ROWS,
            "max_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
        }
        return render(request, self.template_name, context, status=status)


def _progress_context(job: ImportJob) -> dict:
    """What the progress bar shows: the step's state, from the job's row (queued, held by
    a worker, or left by one that stopped), and how far it is, from the cache."""
    progress = importing.read_progress(job.pk) or {}
    total = progress.get("total") or 0
    done = min(progress.get("done") or 0, total)
    return {
        "job": job,
        "polling": job.in_progress,
        "phase_label": _phase_label(job, progress.get("phase")) if job.in_progress else "",
        "attempt_label": _attempt_label(job),
        "done": done,
        "total": total,
        "percent": round(100 * done / total) if total else 0,
        # While a file is first checked its length in rows is estimated from how much
        # of it the rows so far took (a file is read as a stream, never counted first).
        "estimated": progress.get("phase") == "validating" and done < total,
    }


def _phase_label(job: ImportJob, phase: str | None) -> str:
    if job.is_waiting_for_worker:
        if job.attempts:
            return _("The worker on this file stopped; waiting for another…")
        return _("Waiting for the importer…")
    checking = job.status == ImportJob.Status.VALIDATING
    if checking and job.lease_until and job.lease_until < timezone.now():
        # (A live import keeps its row locked instead of renewing: only a check can tell.)
        return _("The worker on this file is not answering; another will take over soon…")
    phase_labels = {
        "validating": _("Checking rows…"),
        "checking": _("Checking rows again before writing…"),
        "writing": _("Writing rows…"),
    }
    if phase in phase_labels:
        return phase_labels[phase]
    return _("Checking rows…") if checking else _("Starting…")


def _attempt_label(job: ImportJob) -> str:
    """After a worker stopped on this step: which try this is, of how many."""
    attempt = job.attempts + 1 if job.is_waiting_for_worker else job.attempts
    if not job.in_progress or attempt < 2:
        return ""
    return _("attempt %(attempt)s of %(most)s") % {
        "attempt": attempt,
        "most": settings.IMPORT_MAX_ATTEMPTS,
    }


class ImportDetailView(StaffRequiredMixin, View):
    permission_required = "customers.import_customers"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = access.get_import_job_for_user(request.user, pk)
        if job.status == ImportJob.Status.MAPPING:
            return redirect("customers:import_mapping", pk=job.pk)
        errors_page = Paginator(job.errors, ERRORS_PER_PAGE).get_page(
            request.GET.get("errors_page")
        )
        present = {name for row in job.preview for name in row.get("values", {})}
        columns = [name for name in column_names(job.target) if name in present]
        preview = [
            {
                "row": row["row"],
                "action": row["action"],
                "badge": ACTION_BADGES.get(row["action"], "secondary"),
                "cells": [row["values"].get(name, "") for name in columns],
            }
            for row in job.preview
        ]
        context = {
            **_progress_context(job),
            "errors_page": errors_page,
            "errors_truncated": len(job.errors) >= importing.MAX_STORED_ERRORS,
            "columns": columns,
            "preview": preview,
            "blocked_by_errors": (
                job.status == ImportJob.Status.VALIDATED
                and job.mode == ImportJob.Mode.ALL_OR_NOTHING
                and job.error_rows > 0
            ),
            "can_cancel": job.status in CANCELLABLE,
        }
        return render(request, "customers/import_detail.html", context)


class ImportProgressView(StaffRequiredMixin, View):
    """The progress bar alone, polled by htmx; once the step ends the page reloads."""

    permission_required = "customers.import_customers"

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = access.get_import_job_for_user(request.user, pk)
        context = _progress_context(job)
        if request.htmx and not context["polling"]:
            return HttpResponseClientRefresh()
        if not request.htmx:
            return redirect(job)
        return render(request, "customers/_import_progress.html", context)


class ImportApplyView(StaffRequiredMixin, View):
    permission_required = "customers.import_customers"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = access.get_import_job_for_user(request.user, pk)
        if request.POST.get("mode") == ImportJob.Mode.VALID_ROWS:
            # "Import the valid rows instead", chosen after seeing the errors.
            ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.VALIDATED).update(
                mode=ImportJob.Mode.VALID_ROWS
            )
            job.mode = ImportJob.Mode.VALID_ROWS
        if not job.can_apply:
            messages.error(request, _("This file cannot be imported as it stands."))
            return redirect(job)
        counts = {"rows": job.total_rows, "valid": job.valid_rows, "invalid": job.error_rows}
        with transaction.atomic():
            if importing.job_apply_request(job=job, language=translation.get_language()):
                details = {"job": job.pk, "mode": job.mode, **counts}
                record(
                    AuditEntry.Action.IMPORT_APPLIED, request=request, target=job, details=details
                )
        return redirect(job)


class ImportCancelView(StaffRequiredMixin, View):
    permission_required = "customers.import_customers"

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        job = access.get_import_job_for_user(request.user, pk)
        # A worker checking the file stops at its next lease renewal (claims.keep).
        cancelled = ImportJob.objects.filter(pk=job.pk, status__in=CANCELLABLE).update(
            status=ImportJob.Status.CANCELLED,
            finished_at=timezone.now(),
            queued_at=None,
            lease_until=None,
        )
        if cancelled:
            messages.success(request, _("Import of %(file)s cancelled.") % {"file": job.filename})
            return redirect("customers:import")
        messages.error(request, _("Too late to cancel: the import has started or ended."))
        return redirect(job)


# --- Export -------------------------------------------------------------------------


def filtered_customers(request: HttpRequest):
    """The customers the list shows for these GET parameters (same filters and default)."""
    data = request.GET
    if not data and access.is_account_manager(request.user):
        data = QueryDict(mutable=True)
        data["owner"] = OWNER_ME
    customer_filter = CustomerFilter(data, queryset=Customer.objects.all(), user=request.user)
    if not customer_filter.is_valid():
        return None, customer_filter.errors
    return customer_filter.qs, None


def _csv_response(lines, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"{name}-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def _record_export(request: HttpRequest, kind: str, customers) -> None:
    """Who downloaded which export of how many customers, filtered on what."""
    details = {"export": kind, "customers": customers.count()}
    details["filters"] = parameter_names(request.GET)
    record(AuditEntry.Action.CUSTOMERS_EXPORTED, request=request, details=details)


def _bad_filters(errors) -> HttpResponse:
    problems = "; ".join(f"{name}: {', '.join(messages)}" for name, messages in errors.items())
    return HttpResponseBadRequest(
        _("The filters are not valid: %(problems)s") % {"problems": problems},
        content_type="text/plain; charset=utf-8",
    )


class ExportCustomersView(StaffRequiredMixin, View):
    permission_required = "customers.export_customers"

    def get(self, request: HttpRequest) -> HttpResponse:
        customers, errors = filtered_customers(request)
        if errors:
            return _bad_filters(errors)
        _record_export(request, "customers", customers)
        return _csv_response(exporting.customer_csv_lines(customers), "customers")


class ExportInteractionsView(StaffRequiredMixin, View):
    permission_required = "customers.export_customers"

    def get(self, request: HttpRequest) -> HttpResponse:
        customers, errors = filtered_customers(request)
        if errors:
            return _bad_filters(errors)
        interactions = exporting.interactions_of(customers)
        _record_export(request, "interactions", customers)
        return _csv_response(exporting.interaction_csv_lines(interactions), "interactions")
