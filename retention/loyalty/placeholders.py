"""The loyalty card's link and the points balance as email placeholders."""

from django.utils import formats
from django.utils.translation import gettext_lazy as _

from customers.links import make_token
from customers.models import Customer
from retention.outreach import placeholders

from .card import LINK_PURPOSE
from .models import PointsAccount


def _loyalty_card_link(customer: Customer) -> str:
    return placeholders.link_url("retention:loyalty_card", make_token(LINK_PURPOSE, customer.pk))


def _points_balance(customer: Customer) -> str:
    # One query, only for templates that use it.
    balance = (
        PointsAccount.objects.filter(customer=customer).values_list("balance", flat=True).first()
    )
    return formats.number_format(balance or 0, force_grouping=True)


def register() -> None:
    placeholders.register("loyalty_card_link", _("Loyalty card link"), _loyalty_card_link)
    placeholders.register("points_balance", _("Points balance"), _points_balance)
