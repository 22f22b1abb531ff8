"""The risk card on the customer page: flags with reasons and the score history."""

import json
from datetime import date

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from customers.models import Customer

from . import signals
from .models import CustomerRisk, RiskConfig, RiskSnapshot

HISTORY_POINTS = 90


def describe_flags(flags: list[dict], as_of: date | None = None) -> list[dict]:
    """Stored reasons with their label and text in the reader's language.

    Days are counted up to `as_of`: the day the score is for (today for the current
    risk, which past-date runs never write).
    """
    registry = signals.registered()
    as_of = as_of or timezone.localdate()
    described = []
    for flag in flags:
        signal = registry.get(flag["key"])
        described.append(
            {
                **flag,
                "label": signal.label if signal else flag["key"],
                "reason": _reason(signal, flag.get("evidence") or {}, as_of),
            }
        )
    return described


def _reason(signal, evidence: dict, as_of: date) -> str:
    """The reason's text; evidence stored in an older format gives none rather than a 500."""
    if signal is None:
        return ""
    try:
        return signal.describe(evidence, as_of)
    except (KeyError, TypeError, ValueError):
        return ""


def horizon_days() -> int:
    """The horizon the scores are for, in one query (without creating the settings row)."""
    saved = RiskConfig.objects.filter(pk=1).values_list("horizon_days", flat=True).first()
    return saved or RiskConfig._meta.get_field("horizon_days").default


def risk_panel(request: HttpRequest, customer: Customer) -> str:
    risk = CustomerRisk.objects.filter(customer=customer).first()
    history = list(
        RiskSnapshot.objects.filter(customer=customer)
        .order_by("-as_of")
        .values_list("as_of", "score")[:HISTORY_POINTS]
    )[::-1]
    chart = {
        "labels": [day.isoformat() for day, _score in history],
        "scores": [score for _day, score in history],
    }
    today = timezone.localdate()
    expected = risk.expected_purchase_on if risk else None
    context = {
        "today": today,
        "overdue_days": (today - expected).days if expected else 0,
        "customer": customer,
        "risk": risk,
        "flags": describe_flags(risk.flags) if risk else [],
        "chart_json": json.dumps(chart),
        "has_history": len(history) > 1,
        "is_scored": customer.status in signals.SCORED_STATUSES and not customer.archived_at,
        "horizon_days": horizon_days() if risk else None,
    }
    return render_to_string("retention/risk/_risk_panel.html", context, request=request)
