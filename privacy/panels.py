"""The "Privacy" card on the customer page: export and erase, for admins only."""

from django.http import HttpRequest
from django.template.loader import render_to_string

from customers import access
from customers.models import Customer

from .erasure import is_erased


def privacy_panel(request: HttpRequest, customer: Customer) -> str:
    """Registered as visible to admins only (privacy/apps.py): others get no card, no
    lazy placeholder, and a 404 from the card's own URL. Checked here again all the same."""
    if not access.is_admin(request.user):
        return ""
    return render_to_string(
        "privacy/_card.html",
        {"customer": customer, "erased": is_erased(customer)},
        request=request,
    )
