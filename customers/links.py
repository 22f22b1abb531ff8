"""Links customers follow without logging in (onboarding page; later the loyalty card,
unsubscribe, open tracking). One mechanism makes, checks and expires them all:
a signed token carrying the customer id, salted with the link's purpose so a
token for one purpose never opens another, and one friendly page for bad links.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from .params import parse_id


class BadLink(Exception):
    """The link is tampered with, for another purpose, or expired."""

    def __init__(self, expired: bool = False) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def _signer(purpose: str) -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=f"crm.links.{purpose}")


def make_token(purpose: str, customer_id: int) -> str:
    return _signer(purpose).sign(str(customer_id))


def read_token(purpose: str, token: str, *, max_age: timedelta | None = None) -> int:
    """The customer id in a valid token for `purpose`; BadLink otherwise."""
    max_age = max_age or timedelta(days=settings.PUBLIC_LINK_MAX_AGE_DAYS)
    try:
        value = _signer(purpose).unsign(token, max_age=max_age)
    except signing.SignatureExpired as error:
        raise BadLink(expired=True) from error
    except signing.BadSignature as error:
        raise BadLink() from error
    customer_id = parse_id(value)
    if customer_id is None:
        raise BadLink()
    return customer_id


def bad_link_response(request: HttpRequest, error: BadLink) -> HttpResponse:
    """The one friendly page for every expired or broken customer link."""
    if error.expired:
        title = _("This link has expired")
        message = _("Links we send stay valid for a while only. Ask us for a new one.")
        status = 410
    else:
        title = _("This link does not work")
        message = _("It may have been copied incompletely. Please use the link from our email.")
        status = 404
    context = {"title": title, "message": message, "business_name": settings.BUSINESS_NAME}
    return render(request, "public/bad_link.html", context, status=status)
