"""The risk model's figures as rows to show, each with its unit, in the reader's language.

Backtest and calibration figures come from the back end (`backtest.figures()`, stored
on Backtest and WeightSet rows, and `planning.load_weights()`); model_views.py renders
what these functions make of them, and `backtest_csv` writes them for a spreadsheet.
"""

import csv
import io
from datetime import date

from django.core.paginator import Paginator
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from customers.exporting import BOM, neutralise_cell

from . import calibration, model, planning, signals
from .models import Backtest, WeightSet

WEIGHT_SETS_PER_PAGE = 10
DASH = "—"


# --- Figures as text, with their units ------------------------------------------


def _number(value: float, digits: int) -> str:
    # number_format cuts a float's digits off; round first.
    return number_format(round(value, digits), decimal_pos=digits, use_l10n=True)


def percent(share: float | None, digits: int = 1) -> str:
    """A share (0 to 1) in percent, with the unit; a dash when unknown."""
    if share is None:
        return DASH
    # The space before % here and below is a no-break space, written as itself: the
    # catalogue's extraction (xgettext) does not read Python's \u escapes.
    return _("%(number)s %%") % {"number": _number(100 * share, digits)}


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
                    "Lost among the riskiest %(share)s %% (%(count)s customer)",
                    "Lost among the riskiest %(share)s %% (%(count)s customers)",
                    customers,
                )
                % {"share": share, "count": customers},
                "values": [percent(r[key]["precision"]) for r in rankings],
            }
        )
        rows.append(
            {
                "label": _("Lift of the riskiest %(share)s %% (against the base rate)")
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
