"""The surveys card on the customer page: latest invitations and answers, and
buttons to email a survey or copy a link (three queries at most)."""

from django.http import HttpRequest
from django.template.loader import render_to_string

from customers.models import Customer

from . import access
from .forms import SendToCustomerForm
from .models import Survey, SurveyInvitation

SHOWN = 5


def survey_panel(request: HttpRequest, customer: Customer) -> str:
    user = request.user
    if not access.can_see_results(user):
        return ""
    invitations = list(
        SurveyInvitation.objects.filter(customer=customer)
        .select_related("survey", "response")
        .order_by("-created_at", "-id")[:SHOWN]
    )
    can_send = access.can_send_to(user, customer)
    has_surveys = can_send and Survey.objects.filter(is_active=True).exists()
    context = {
        "customer": customer,
        "invitations": invitations,
        "can_send": has_surveys,
        "send_form": SendToCustomerForm() if has_surveys else None,
    }
    return render_to_string("surveys/_customer_panel.html", context, request=request)
