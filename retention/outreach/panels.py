"""The follow-up emails card on the customer page."""

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from customers.access import can_change_customer
from customers.models import Customer

from .followups import why_not_reachable
from .forms import SendFollowUpForm
from .models import OutgoingEmail


def followups_panel(request: HttpRequest, customer: Customer) -> str:
    """Follow-up emails: can we write to them, the last few sent, "send follow-up"."""
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
    return render_to_string("retention/outreach/_followups_panel.html", context)
