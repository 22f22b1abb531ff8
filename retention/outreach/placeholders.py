"""The placeholders email templates may use: `{{ first_name }}` and friends.

A small registry: name → label (shown to staff next to the editor) and a function
(customer) → str. This app registers the customer's own fields, the account
manager, the expected next purchase (from their risk row) and the unsubscribe link;
other features register theirs (points balance, survey link, onboarding link) from
RetentionConfig.ready():

    placeholders.register("points_balance", _("Points balance"), points_balance)

The functions run while an email is rendered, inside the customer's language
(`translation.override`), on a customer loaded with its company, owner and the
owner's staff profile (retention.outreach.rendering.customers_for_rendering; sending
also loads the risk row), so they should not query per call where they can avoid it.
"""

import functools
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.urls import get_script_prefix, reverse
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from customers.links import make_token
from customers.models import Customer


@dataclass(frozen=True)
class Placeholder:
    name: str
    label: str
    value: Callable[[Customer], str]


_registry: dict[str, Placeholder] = {}


def register(name: str, label: str, value: Callable[[Customer], str]) -> None:
    _registry[name] = Placeholder(name, label, value)


def registered() -> dict[str, Placeholder]:
    return dict(_registry)


def absolute_url(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


# --- The ones this app owns ---------------------------------------------------------


def _manager_name(customer: Customer) -> str:
    owner = customer.owner
    if owner is None:
        return str(_("the %(business)s team") % {"business": settings.BUSINESS_NAME})
    return owner.get_full_name() or owner.get_username()


def _signature(customer: Customer) -> str:
    owner = customer.owner
    profile = getattr(owner, "staff_profile", None) if owner else None
    if profile and profile.signature.strip():
        return profile.signature.strip()
    return f"{_manager_name(customer)}\n{settings.BUSINESS_NAME}"


def _renewal_date(customer: Customer) -> str:
    if customer.renewal_date is None:
        return ""
    return formats.date_format(customer.renewal_date, "DATE_FORMAT")


def _expected_purchase_date(customer: Customer) -> str:
    """The day by which the customer would normally have bought again (their risk row,
    loaded with the customer when sending); empty without a buying rhythm."""
    risk = getattr(customer, "risk", None)  # no risk row yet: RelatedObjectDoesNotExist
    if risk is None or risk.expected_purchase_on is None:
        return ""
    return formats.date_format(risk.expected_purchase_on, "DATE_FORMAT")


def link_url(route: str, token: str) -> str:
    """The absolute URL of a public link route taking one token (reversed once per process:
    rendering 10,000 emails should not resolve the URLconf 30,000 times)."""
    return absolute_url(_route_pattern(route, get_script_prefix()).replace(_TOKEN, token))


_TOKEN = "__token__"  # noqa: S105 - a stand-in for the token in a reversed URL


@functools.lru_cache(maxsize=32)
def _route_pattern(route: str, script_prefix: str) -> str:
    return reverse(route, args=[_TOKEN])


def unsubscribe_url(customer: Customer) -> str:
    return link_url("retention:unsubscribe", make_token("unsubscribe", customer.pk))


BUILT_IN = [
    ("first_name", _("First name"), lambda customer: customer.first_name),
    ("name", _("Full name"), lambda customer: customer.name),
    ("account_manager", _("Account manager's name"), _manager_name),
    ("signature", _("Account manager's signature"), _signature),
    ("plan", _("Plan"), lambda customer: customer.plan),
    ("renewal_date", _("Renewal date"), _renewal_date),
    ("expected_purchase_date", _("Usual next purchase by (date)"), _expected_purchase_date),
    ("business_name", _("Our business name"), lambda customer: settings.BUSINESS_NAME),
    ("unsubscribe_link", _("Unsubscribe link"), unsubscribe_url),
]


def register_built_in() -> None:
    """The customer's own fields, the account manager, the expected next purchase and the
    unsubscribe link; the other features register their links and figures (onboarding/,
    loyalty/ placeholders.py)."""
    for name, label, value in BUILT_IN:
        register(name, label, value)
