"""The surveys card on the customer page: latest invitations and answers, and
buttons to email a survey or copy a link (two queries)."""

from django.http import HttpRequest
from django.middleware.csrf import get_token
from django.template.loader import render_to_string

from customers.models import Customer

from . import access
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
    surveys = []
    if access.can_send_to(user, customer):
        surveys = list(Survey.objects.filter(is_active=True).order_by("name", "id").only("name"))
    context = {
        "customer": customer,
        "invitations": invitations,
        "surveys": surveys,
        # Rendered without the request: the page's context processors (notification
        # counts...) would otherwise run again for this card.
        "csrf_token": get_token(request),
    }
    return render_to_string("surveys/_customer_panel.html", context)
