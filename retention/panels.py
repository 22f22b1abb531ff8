"""The risk card on the customer page: flags with reasons and the score history."""

import json

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from customers.access import can_change_customer
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
    return render_to_string("retention/_risk_panel.html", context, request=request)


def onboarding_panel(request: HttpRequest, customer: Customer) -> str:
    return ""  # filled in by the onboarding views commit


def followups_panel(request: HttpRequest, customer: Customer) -> str:
    """Follow-up emails: can we write to them, the last few sent, "send follow-up"."""
    from .email_forms import SendFollowUpForm
    from .followups import why_not_reachable
    from .models import OutgoingEmail

    can_send = request.user.has_perm("retention.add_outgoingemail") and can_change_customer(
        request.user, customer
    )
    recent = list(
        OutgoingEmail.objects.filter(customer=customer, kind__in=OutgoingEmail.CUSTOMER_KINDS)
        .select_related("template")
        .only("pk", "status", "subject", "created_at", "sent_at", "opened_at", "template__name")
        .order_by("-created_at", "-id")[:5]
    )
    context = {
        # Rendered without the request: the context processors (one more query each) are
        # not needed here, only the CSRF token for the form.
        "csrf_token": get_token(request),
        "can_view_outbox": request.user.has_perm("retention.view_outgoingemail"),
        "customer": customer,
        "emails": recent,
        "blocked": why_not_reachable(customer),
        "can_send": can_send,
        "form": SendFollowUpForm() if can_send else None,
    }
    return render_to_string("retention/email/_followups_panel.html", context)
