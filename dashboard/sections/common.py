"""What every section needs: the viewer's links and the pages figures link to."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.urls import reverse

from ..scope import Scope
from ..tables import shown


@dataclass(frozen=True)
class Links:
    """What the viewer may open: the customer list always; the rest by role."""

    queue: bool = True
    surveys: bool = True
    onboarding: bool = True
    loyalty: bool = True


def customers_page(query: str) -> str:
    return f"{reverse('customers:list')}?{query}"


def queue_page(scope: Scope, **params) -> str:
    owner = "" if scope.is_everyone else str(scope.owner_id)
    return f"{reverse('retention:queue')}?{urlencode({**params, 'owner': owner})}"


def money(value) -> str:
    return shown(value)
