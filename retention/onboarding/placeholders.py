"""The onboarding page's link as an email placeholder (`{{ onboarding_link }}`)."""

from django.utils.translation import gettext_lazy as _

from customers.links import make_token
from customers.models import Customer
from retention.outreach import placeholders

from .checklists import LINK_PURPOSE


def _onboarding_link(customer: Customer) -> str:
    return placeholders.link_url("onboarding_public", make_token(LINK_PURPOSE, customer.pk))


def register() -> None:
    placeholders.register("onboarding_link", _("Onboarding progress page link"), _onboarding_link)
