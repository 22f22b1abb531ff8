"""Cards that other apps add to the customer page (risk, points, onboarding...).

An app registers `panel(request, customer) -> str` (rendered HTML) in its
AppConfig.ready(); the customer page shows them in registration order. Each
panel should cost a fixed, small number of queries.
"""

from collections.abc import Callable

from django.http import HttpRequest
from django.utils.safestring import SafeString

from .models import Customer

Panel = Callable[[HttpRequest, Customer], str]

_panels: dict[str, Panel] = {}


def register_panel(name: str, panel: Panel) -> None:
    _panels[name] = panel


def render_panels(request: HttpRequest, customer: Customer) -> list[SafeString]:
    return [SafeString(panel(request, customer)) for panel in _panels.values()]
