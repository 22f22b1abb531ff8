"""The risk card on the customer page: flags with reasons and the score history."""

import json

from django.http import HttpRequest
from django.template.loader import render_to_string

from customers.models import Customer

from . import signals
from .models import CustomerRisk, RiskSnapshot

HISTORY_POINTS = 90


def describe_flags(flags: list[dict]) -> list[dict]:
    """Stored flags with their label and reason in the reader's language."""
    registry = signals.registered()
    described = []
    for flag in flags:
        signal = registry.get(flag["key"])
        described.append(
            {
                **flag,
                "label": signal.label if signal else flag["key"],
                "reason": signal.describe(flag["evidence"]) if signal else "",
            }
        )
    return described


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
    context = {
        "customer": customer,
        "risk": risk,
        "flags": describe_flags(risk.flags) if risk else [],
        "chart_json": json.dumps(chart),
        "has_history": len(history) > 1,
        "is_scored": customer.status in signals.SCORED_STATUSES and not customer.archived_at,
    }
    return render_to_string("retention/risk/_risk_panel.html", context, request=request)
