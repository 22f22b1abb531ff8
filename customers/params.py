"""Reading ids and return addresses from requests, the one way every view does it.

`str.isdigit()` is true for "²", "①" and "٣", and `int()` then raises or accepts them;
a number past PostgreSQL's bigint reaches the database and fails there. Both were 500s.
"""

import re

from django.http import Http404, HttpRequest
from django.utils.http import url_has_allowed_host_and_scheme

# The largest value a PostgreSQL bigint (and SQLite's integer) holds: our ids never pass it.
MAX_ID = 2**63 - 1
_ASCII_DIGITS = re.compile(r"[0-9]{1,19}")


def parse_id(text: object) -> int | None:
    """`text` as a database id (ASCII digits, 1..2**63-1), or None for anything else."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text if 1 <= text <= MAX_ID else None
    if not isinstance(text, str) or not _ASCII_DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 1 <= value <= MAX_ID else None


class IdsInPathMiddleware:
    """Every id in an address is checked here, once for all views: `<int:pk>` matches any
    run of ASCII digits, the API's `[^/.]+` any digits at all, and Django's exact lookup
    on a foreign key (`customer_id=10**20`) sends the number to the database, which
    overflows (a 500). A part of the path made of digits that is no id is a 404."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs) -> None:
        for value in (*view_args, *view_kwargs.values()):
            digits = isinstance(value, int) or (isinstance(value, str) and value.isdigit())
            if digits and parse_id(value) is None:
                raise Http404


def safe_next(request: HttpRequest, default: str) -> str:
    """The `next` address from the POST or the query string if it stays on this site;
    `default` otherwise (another host, `//host`, `javascript:`, nothing at all). A bare word
    ("²", "12") is refused too: redirect() would take it for a view name (NoReverseMatch)."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    looks_like_address = target.startswith("/") or target.startswith(("http://", "https://"))
    return target if allowed and looks_like_address else default
