"""The onboarding card on the customer page."""

from django.conf import settings
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils import timezone

from customers import access
from customers.models import Customer

from . import checklists
from .models import ChecklistTemplate


def onboarding_panel(request: HttpRequest, customer: Customer, *, error: str = "") -> str:
    """The customer's checklist with its progress bar; staff tick, skip or reopen steps."""
    checklist = checklists.latest_checklist(customer)
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
        "suggested": checklists.pick_template(customer, templates),
        "public_link": (
            request.build_absolute_uri(checklists.public_link(customer)) if checklist else ""
        ),
        "link_days": settings.PUBLIC_LINK_MAX_AGE_DAYS,
        "today": today,
        "stalled": running and checklists.is_stalled(checklist, today, checklists.stall_days()),
        "error": error,
    }
    return render_to_string("retention/onboarding/_panel.html", context, request=request)
