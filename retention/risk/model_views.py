"""Admin pages of the risk model: the weights in use, calibrating them, backtests.

The numbers come from the back end (`backtest.figures()`, stored on Backtest and
WeightSet rows, and `planning.load_weights()`); these views only turn them into rows
to show, each with its unit, in the reader's language. Starting a calibration or a
backtest goes through the services, which enqueue their tasks on commit; the pages
poll the row's progress with htmx.
"""

import csv
import io
from datetime import date, timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View

from customers import access
from customers.exporting import BOM, neutralise_cell
from customers.views import StaffRequiredMixin

from . import backtest, calibration, model, planning, signals
from .models import Backtest, RiskConfig, WeightSet

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


class BacktestForm(forms.Form):
    as_of = forms.DateField(
        label=gettext_lazy("As of"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=gettext_lazy(
            "A past date. Every customer is scored with what was known by the end of that day."
        ),
    )
    horizon_days = forms.IntegerField(
        label=gettext_lazy("Horizon (days)"),
        min_value=14,
        max_value=730,
        help_text=gettext_lazy(
            "Who was lost within this many days after that date: churned, or, without a "
            "contract, no activity at all. From 14 to 730 days."
        ),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        horizon = RiskConfig.load().horizon_days
        self.fields["horizon_days"].initial = horizon
        # By default the latest date whose whole horizon is over: every outcome is known.
        self.fields["as_of"].initial = today - timedelta(days=horizon + 1)
        self.fields["as_of"].widget.attrs["max"] = (today - timedelta(days=1)).isoformat()

    def clean_as_of(self):
        as_of = self.cleaned_data["as_of"]
        if as_of >= timezone.localdate():
            raise ValidationError(_("Choose a date in the past."), code="not_past")
        return as_of


# --- Figures as text, with their units ------------------------------------------


def _number(value: float, digits: int) -> str:
    # number_format cuts a float's digits off; round first.
    return number_format(round(value, digits), decimal_pos=digits, use_l10n=True)


def percent(share: float | None, digits: int = 1) -> str:
    """A share (0 to 1) in percent, with the unit; a dash when unknown."""
    if share is None:
        return DASH
    return _("%(number)s\u00a0%%") % {"number": _number(100 * share, digits)}


def points(value: float) -> str:
    """Percentage points, signed."""
    sign = "+" if value > 0.05 else ("−" if value < -0.05 else "")
    return _("%(sign)s%(number)s pts") % {"sign": sign, "number": _number(abs(value), 1)}


def log_odds(value: float) -> str:
    sign = "+" if value > 0 else ("−" if value < 0 else "")
    return f"{sign}{_number(abs(value), 2)}"


def auc(value: float | None) -> str:
    return DASH if value is None else _number(value, 3)


def lift(value: float | None) -> str:
    return DASH if value is None else _("%(number)s×") % {"number": _number(value, 2)}


def days(count: int) -> str:
    return ngettext("%(count)s day", "%(count)s days", count) % {"count": count}


def full_strength_effect(intercept: float, weight: float) -> float:
    """Percentage points a signal at full strength adds to a customer at the base rate."""
    return 100 * float(model.sigmoid(intercept + weight) - model.sigmoid(intercept))


# --- Rows for the pages ----------------------------------------------------------


def _iso_date(text: str | None) -> date | None:
    return date.fromisoformat(text) if text else None


def person(user) -> str:
    return (user.get_full_name() or user.get_username()) if user else DASH


def signal_labels() -> dict[str, str]:
    return {key: str(signal.label) for key, signal in signals.registered().items()}


def weight_rows(in_use: planning.Weights, suggested: WeightSet | None = None) -> list[dict]:
    """Each registered signal's weight in use (and suggested), with what it adds."""
    enabled = planning.load_configuration(in_use).params
    rows = []
    for key, signal in signals.registered().items():
        weight = in_use.by_signal.get(key, signal.default_weight)
        row = {
            "key": key,
            "label": signal.label,
            "description": signal.description,
            "enabled": enabled[key].enabled,
            "weight": log_odds(weight),
            "effect": points(full_strength_effect(in_use.intercept, weight)),
            "effect_sign": (weight > 0) - (weight < 0),
        }
        if suggested is not None:
            new = suggested.weights.get(key, signal.default_weight)
            row |= {
                "suggested_weight": log_odds(new),
                "suggested_effect": points(full_strength_effect(suggested.intercept, new)),
                "learned": key in suggested.weights,
            }
        rows.append(row)
    return rows


def ranking_rows(rankings: list[dict]) -> list[dict]:
    """ROC AUC, precision and lift of the riskiest 10 % and 20 %, one value per ranking."""
    count = rankings[0]["top10"]["count"]
    count20 = rankings[0]["top20"]["count"]
    rows = [{"label": _("ROC AUC"), "values": [auc(r["auc"]) for r in rankings]}]
    for key, share, customers in (("top10", 10, count), ("top20", 20, count20)):
        rows.append(
            {
                "label": ngettext(
                    "Lost among the riskiest %(share)s\u00a0%% (%(count)s customer)",
                    "Lost among the riskiest %(share)s\u00a0%% (%(count)s customers)",
                    customers,
                )
                % {"share": share, "count": customers},
                "values": [percent(r[key]["precision"]) for r in rankings],
            }
        )
        rows.append(
            {
                "label": _("Lift of the riskiest %(share)s\u00a0%% (against the base rate)")
                % {"share": share},
                "values": [lift(r[key]["lift"]) for r in rankings],
            }
        )
    return rows


def summary(report: dict, as_of) -> list[str]:
    """The backtest in two or three sentences."""
    customers, lost = report["customers"], report["lost"]
    first = ngettext(
        "On %(date)s, %(count)s customer could be scored.",
        "On %(date)s, %(count)s customers could be scored.",
        customers,
    ) % {"date": date_format(as_of, "SHORT_DATE_FORMAT"), "count": customers}
    second = ngettext(
        "%(count)s of them (%(rate)s) was lost within the next %(horizon)s.",
        "%(count)s of them (%(rate)s) were lost within the next %(horizon)s.",
        lost,
    ) % {
        "count": lost,
        "rate": percent(report["base_rate"]),
        "horizon": days(report["horizon_days"]),
    }
    model_auc, baseline_auc = report["model"]["auc"], report["baseline"]["auc"]
    third = _(
        "The model's ROC AUC is %(model)s against %(baseline)s for the baseline, days since "
        "the last contact (0.5 is chance, 1 a perfect ranking)."
    ) % {"model": auc(model_auc), "baseline": auc(baseline_auc)}
    if model_auc is not None and baseline_auc is not None:
        if model_auc > baseline_auc + 0.005:
            third += " " + _("The model ranked the customers who left better than the baseline.")
        elif model_auc < baseline_auc - 0.005:
            third += " " + _("The baseline ranked the customers who left better than the model.")
    return [first, second, third]


def backtest_report(row: Backtest) -> dict | None:
    """What the backtest page shows of a finished backtest's figures (None: no figures)."""
    report = row.figures
    if row.status != Backtest.Status.DONE or not report:
        return None
    if report.get("too_few"):
        return {"too_few": True, "customers": report["customers"], "lost": report["lost"]}
    labels = signal_labels()
    comparison = ranking_rows([report["model"], report["baseline"]])
    comparison.append(
        {
            "label": _("Distinct scores"),
            "values": [
                str(report["model"]["distinct_scores"]),
                str(report["baseline"]["distinct_scores"]),
            ],
        }
    )
    tenths = [
        {
            "tenth": number,
            "count": part["count"],
            "predicted": percent(part["predicted"]),
            "observed": percent(part["observed"]),
        }
        for number, part in enumerate(report["calibration"], start=1)
    ]
    per_signal = [
        {
            "label": labels.get(item["key"], item["key"]),
            "with_data": item["with_data"],
            "strong": item["strong"],
            "lost_rate": percent(item["lost_rate"]),
            "lift": lift(item["lift"]),
        }
        for item in report["signals"]
    ]
    chart = {
        "labels": [str(part["tenth"]) for part in tenths],
        "predicted": [round(100 * p["predicted"], 1) for p in report["calibration"]],
        "observed": [round(100 * p["observed"], 1) for p in report["calibration"]],
        "predicted_label": _("Predicted (%)"),
        "observed_label": _("Observed (%)"),
        "x_title": _("Tenth of customers, from the lowest predicted probability"),
        "y_title": _("Lost within the horizon (%)"),
    }
    return {
        "too_few": False,
        "summary": summary(report, row.as_of),
        "complete": report.get("complete", True),
        "comparison": comparison,
        "calibration": tenths,
        "calibration_error": percent(report["calibration_error"]),
        "mean_predicted": percent(report.get("mean_predicted")),
        "base_rate": percent(report["base_rate"]),
        "signals": per_signal,
        "chart": chart,
    }


def model_comparison(weight_set: WeightSet) -> dict | None:
    """The weights in use and the suggested ones, backtested on the same holdout date."""
    figures = weight_set.figures
    current, suggested = figures.get("current"), figures.get("suggested")
    if not current or not suggested:
        return None
    dates = figures.get("dates") or []
    context = {
        "holdout": date.fromisoformat(dates[0]) if dates else None,
        "training_dates": len(dates) - 1,
        "horizon": days(figures.get("horizon_days", 0)),
        "training_customers": figures.get("training_customers", 0),
        "training_lost": figures.get("training_lost", 0),
        "customers": suggested.get("customers", 0),
        "lost": suggested.get("lost", 0),
        "too_few": bool(current.get("too_few") or suggested.get("too_few")),
    }
    if context["too_few"]:
        return context
    rows = ranking_rows([current["model"], suggested["model"]])
    rows.insert(
        1,
        {
            "label": _("ROC AUC of the baseline (days since the last contact)"),
            "values": [auc(current["baseline"]["auc"]), auc(suggested["baseline"]["auc"])],
        },
    )
    rows.append(
        {
            "label": _("Calibration error (mean gap per tenth)"),
            "values": [
                percent(current["calibration_error"]),
                percent(suggested["calibration_error"]),
            ],
        }
    )
    context["rows"] = rows
    context["base_rate"] = percent(suggested["base_rate"])
    return context


def calibration_context(weight_set: WeightSet | None, in_use: planning.Weights) -> dict:
    """The latest calibration's block: progress, not enough history, or the suggestion."""
    context = {"weight_set": weight_set, "min_outcomes": calibration.MIN_OUTCOMES}
    if weight_set is None:
        return context
    figures = weight_set.figures
    if weight_set.status == WeightSet.Status.TOO_LITTLE:
        context["too_little"] = {
            "customers": figures.get("training_customers", 0),
            "lost": figures.get("training_lost", 0),
            "dates": max(0, len(figures.get("dates") or []) - 1),
        }
    if weight_set.status == WeightSet.Status.SUGGESTED:
        context["rows"] = weight_rows(in_use, weight_set)
        context["base_rate_in_use"] = percent(float(model.sigmoid(in_use.intercept)))
        context["base_rate_suggested"] = percent(float(model.sigmoid(weight_set.intercept)))
        context["intercept_in_use"] = log_odds(in_use.intercept)
        context["intercept_suggested"] = log_odds(weight_set.intercept)
        context["comparison"] = model_comparison(weight_set)
    return context


def applied_history(page_number) -> tuple:
    """Applied weight sets, newest first, each with its AUC on its holdout date."""
    applied = WeightSet.objects.filter(
        status__in=[WeightSet.Status.APPLIED, WeightSet.Status.SUPERSEDED]
    ).select_related("applied_by")
    page = Paginator(applied.order_by("-applied_at", "-id"), WEIGHT_SETS_PER_PAGE).get_page(
        page_number
    )
    rows = []
    for weight_set in page.object_list:
        figures = weight_set.figures or {}
        suggested = figures.get("suggested") or {}
        ranking = suggested.get("model") or {}
        baseline = suggested.get("baseline") or {}
        rows.append(
            {
                "weight_set": weight_set,
                "by": person(weight_set.applied_by),
                "holdout": _iso_date((figures.get("dates") or [None])[0]),
                "auc": auc(ranking.get("auc")),
                "baseline_auc": auc(baseline.get("auc")),
                "base_rate": percent(float(model.sigmoid(weight_set.intercept)))
                if weight_set.intercept is not None
                else DASH,
            }
        )
    return page, rows


# --- Views --------------------------------------------------------------------------


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
            calibration.weights_apply(weight_set=weight_set, by=request.user)
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
        response = HttpResponse(backtest_csv(row), content_type="text/csv; charset=utf-8")
        filename = f"backtest-{row.pk}-{row.as_of.isoformat()}-{row.horizon_days}d.csv"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def _share(value: float | None) -> str:
    """A share as a plain percentage for spreadsheets (no unit: it is in the header)."""
    return "" if value is None else f"{100 * value:.2f}"


def backtest_csv(row: Backtest) -> str:
    """Three blocks, a blank line apart: the backtest, its calibration, its signals."""
    report, labels = row.figures, signal_labels()
    out = io.StringIO()
    writer = csv.writer(out)

    def write(cells: list) -> None:
        writer.writerow([neutralise_cell(cell) for cell in cells])

    write([_("As of"), row.as_of])
    write([_("Horizon (days)"), row.horizon_days])
    write([_("Horizon over"), _("yes") if report.get("complete", True) else _("no")])
    write([_("Customers"), report["customers"]])
    write([_("Lost"), report["lost"]])
    write([_("Base rate (%)"), _share(report["base_rate"])])
    write([_("Calibration error (%)"), _share(report["calibration_error"])])
    write([])
    write([_("Tenth"), _("Customers"), _("Predicted (%)"), _("Observed (%)")])
    for number, part in enumerate(report["calibration"], start=1):
        write([number, part["count"], _share(part["predicted"]), _share(part["observed"])])
    write([])
    write(
        [
            _("Signal"),
            _("Key"),
            _("Customers with data"),
            _("Customers with the signal at half strength or more"),
            _("Lost among them (%)"),
            _("Lift"),
        ]
    )
    for item in report["signals"]:
        write(
            [
                labels.get(item["key"], item["key"]),
                item["key"],
                item["with_data"],
                item["strong"],
                _share(item["lost_rate"]),
                "" if item["lift"] is None else f"{item['lift']:.3f}",
            ]
        )
    return BOM + out.getvalue()
