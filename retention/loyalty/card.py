"""The customer's loyalty card: the signed link that opens it.

Customers reach their card only through this link (in emails, or shown to staff to
send); its token's purpose, LINK_PURPOSE, is checked when the card is opened.
"""

from django.urls import reverse

from customers.links import make_token
from customers.models import Customer

LINK_PURPOSE = "loyalty"


def card_url(customer: Customer) -> str:
    """The customer's own loyalty card: a signed link (absolute path) for emails."""
    return reverse("retention:loyalty_card", args=[make_token(LINK_PURPOSE, customer.pk)])
