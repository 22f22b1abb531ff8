"""Admin pages of the risk model: the weights in use, calibrating them, backtests.

The numbers come from the back end (`backtest.figures()`, stored on Backtest and
WeightSet rows, and `planning.load_weights()`); these views only turn them into rows
to show, each with its unit, in the reader's language. Starting a calibration or a
backtest goes through the services, which enqueue their tasks on commit; the pages
poll the row's progress with htmx.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views import View

from audit.log import record
from audit.models import AuditEntry
from customers import access
from customers.views import StaffRequiredMixin

from . import backtest, calibration, model, planning
from .forms import BacktestForm
from .model_reports import (
    applied_history,
    auc,
    backtest_csv,
    backtest_report,
    calibration_context,
    log_odds,
    percent,
    person,
    weight_rows,
)
from .models import Backtest, WeightSet

BACKTESTS_PER_PAGE = 20
WEIGHT_SETS_PER_PAGE = 10
DASH = "—"


class AdminRequiredMixin(StaffRequiredMixin):
    """Logged in with a role (else login / 403, as everywhere), and an admin (else 403)."""

    def dispatch(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if user.is_authenticated and access.has_role(user) and not access.is_admin(user):
            raise PermissionDenied(_("The risk model and its backtests are for admins."))
        return super().dispatch(request, *args, **kwargs)


class RiskModelView(AdminRequiredMixin, View):
    """The weights in use, the latest calibration beside them, and the applied sets."""

    def get(self, request: HttpRequest) -> HttpResponse:
        in_use = planning.load_weights()
        current = (
            WeightSet.objects.select_related("applied_by").filter(pk=in_use.weight_set_id).first()
            if in_use.weight_set_id
            else None
        )
        history_page, history = applied_history(request.GET.get("page"))
        context = {
            "in_use": in_use,
            "current_set": current,
            "applied_by": person(current.applied_by) if current else "",
            "rows": weight_rows(in_use),
            "base_rate": percent(float(model.sigmoid(in_use.intercept))),
            "intercept": log_odds(in_use.intercept),
            "history_page": history_page,
            "history": history,
            **calibration_context(WeightSet.objects.first(), in_use),
        }
        return render(request, "retention/risk/model.html", context)


class CalibrateView(AdminRequiredMixin, View):
    def post(self, request: HttpRequest) -> HttpResponse:
        calibration.start_calibration(triggered_by=request.user)
        messages.info(request, _("Calibration started: the suggestion appears below when ready."))
        return redirect("retention:risk_model")


class CalibrationView(AdminRequiredMixin, View):
    """One calibration's block, polled by htmx while it runs; the model page otherwise."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        weight_set = get_object_or_404(WeightSet, pk=pk)
        if not request.htmx:
            return redirect("retention:risk_model")
        context = calibration_context(weight_set, planning.load_weights())
        return render(request, "retention/risk/_calibration.html", context)


class WeightsApplyView(AdminRequiredMixin, View):
    """GET: what applying a suggested set changes, to confirm; POST: apply it."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        weight_set = get_object_or_404(WeightSet, pk=pk)
        context = calibration_context(weight_set, planning.load_weights())
        return render(request, "retention/risk/weights_apply.html", context)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        weight_set = get_object_or_404(WeightSet, pk=pk)
        try:
            with transaction.atomic():
                calibration.weights_apply(weight_set=weight_set, by=request.user)
                details = {"weight_set": weight_set.pk}
                changed = AuditEntry.Action.RISK_WEIGHTS_CHANGED
                record(changed, request=request, target=weight_set, details=details)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(
                request,
                _("The suggested weights are in use; scores follow at the next recompute."),
            )
        return redirect("retention:risk_model")


class BacktestListView(AdminRequiredMixin, View):
    """The form to start a backtest, and the earlier ones."""

    template_name = "retention/risk/backtests.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        return self.render(request, BacktestForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = BacktestForm(request.POST)
        if not form.is_valid():
            return self.render(request, form, status=422)
        row = backtest.start_backtest(
            as_of=form.cleaned_data["as_of"],
            horizon_days=form.cleaned_data["horizon_days"],
            by=request.user,
        )
        return redirect("retention:risk_backtest", pk=row.pk)

    def render(self, request: HttpRequest, form: BacktestForm, status: int = 200) -> HttpResponse:
        rows = Backtest.objects.select_related("created_by")
        page = Paginator(rows, BACKTESTS_PER_PAGE).get_page(request.GET.get("page"))
        for row in page.object_list:
            figures = row.figures or {}
            row.model_auc = auc((figures.get("model") or {}).get("auc"))
            row.baseline_auc = auc((figures.get("baseline") or {}).get("auc"))
        context = {"form": form, "page": page}
        return render(request, self.template_name, context, status=status)


class BacktestView(AdminRequiredMixin, View):
    """One backtest: its progress (polled by htmx), then its figures."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        row = get_object_or_404(Backtest.objects.select_related("created_by"), pk=pk)
        context = {"backtest": row, "report": backtest_report(row)}
        template = "_backtest_result.html" if request.htmx else "backtest.html"
        return render(request, f"retention/risk/{template}", context)


class BacktestCsvView(AdminRequiredMixin, View):
    """The calibration table and the per-signal figures of a finished backtest, as CSV."""

    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        row = get_object_or_404(Backtest, pk=pk)
        report = row.figures
        if row.status != Backtest.Status.DONE or not report or report.get("too_few"):
            raise Http404
        details = {"export": "risk_backtest", "backtest": row.pk}
        record(AuditEntry.Action.CUSTOMERS_EXPORTED, request=request, target=row, details=details)
        response = HttpResponse(backtest_csv(row), content_type="text/csv; charset=utf-8")
        filename = f"backtest-{row.pk}-{row.as_of.isoformat()}-{row.horizon_days}d.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
