"""The risk card on the customer page: flags with reasons and the score history."""

import json

from django.conf import settings
from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string
from django.utils import timezone

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


def onboarding_panel(request: HttpRequest, customer: Customer, *, error: str = "") -> str:
    """The customer's checklist with its progress bar; staff tick, skip or reopen steps."""
    from customers import access

    from . import onboarding
    from .models import ChecklistTemplate

    checklist = onboarding.latest_checklist(customer)
    can_change = access.can_change_customer(request.user, customer)
    running = checklist is not None and checklist.status == checklist.Status.IN_PROGRESS
    templates = list(ChecklistTemplate.objects.all()) if can_change and not running else []
    today = timezone.localdate()
    context = {
        "customer": customer,
        "checklist": checklist,
        "running": running,
        "steps": list(checklist.steps.select_related("completed_by")) if checklist else [],
        "can_change": can_change,
        "templates": templates,
        "suggested": onboarding.pick_template(customer, templates),
        "public_link": (
            request.build_absolute_uri(onboarding.public_link(customer)) if checklist else ""
        ),
        "link_days": settings.PUBLIC_LINK_MAX_AGE_DAYS,
        "today": today,
        "stalled": running and onboarding.is_stalled(checklist, today, onboarding.stall_days()),
        "error": error,
    }
    return render_to_string("retention/_onboarding_panel.html", context, request=request)


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
