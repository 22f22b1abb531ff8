"""Cards that other apps add to the customer page (risk, points, onboarding...).

An app registers `panel(request, customer) -> str` (rendered HTML) in its
AppConfig.ready(); the customer page shows them in registration order. Each
panel should cost a fixed, small number of queries.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import Http404, HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString

from .models import Customer
from .usage import customer_activity

Panel = Callable[[HttpRequest, Customer], str]

_panels: dict[str, Panel] = {}
# Cards some roles never get (not even as a lazy placeholder): name -> visible(request).
_visibility: dict[str, Callable[[HttpRequest], bool]] = {}


def register_panel(
    name: str, panel: Panel, *, visible: Callable[[HttpRequest], bool] | None = None
) -> None:
    _panels[name] = panel
    if visible is not None:
        _visibility[name] = visible


def _shown(request: HttpRequest) -> dict[str, Panel]:
    return {
        name: panel
        for name, panel in _panels.items()
        if name not in _visibility or _visibility[name](request)
    }


def render_panels(request: HttpRequest, customer: Customer) -> list[SafeString]:
    """Every card, or (CUSTOMER_CARDS_LAZY) a placeholder per card that htmx replaces
    with the card right after the page loads: the page then costs the profile and
    the timeline only, and each card is its own small request. `?cards=all` renders
    them in the page (the no-JavaScript link)."""
    if settings.CUSTOMER_CARDS_LAZY and request.GET.get("cards") != "all":
        return [
            SafeString(
                render_to_string(
                    "customers/_panel_placeholder.html",
                    {"name": name, "url": reverse("customers:panel", args=[customer.pk, name])},
                )
            )
            for name in _shown(request)
        ]
    return [SafeString(panel(request, customer)) for panel in _shown(request).values()]


def render_panel(request: HttpRequest, customer: Customer, name: str) -> SafeString:
    panel = _shown(request).get(name)
    if panel is None:
        raise Http404
    return SafeString(panel(request, customer))


def usage_panel(request: HttpRequest, customer: Customer) -> str:
    """The "Activity" card: daily usage and visits over the last 90 days (one query)."""
    activity = customer_activity(customer.pk, timezone.localdate())
    chart = {
        "labels": [day.isoformat() for day in activity.days],
        "totals": activity.totals,
    }
    return render_to_string(
        "customers/_usage_card.html",
        {"activity": activity, "chart": chart},
        request=request,
    )


# Registered here, not in an AppConfig: the card is the customers app's own.
register_panel("usage", usage_panel)
