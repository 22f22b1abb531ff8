"""The pages customers reach from a follow-up email: no login, only the link's token.

Unsubscribe (a page that asks for one click, and RFC 8058's one-click POST from the
mail program) and the open pixel. A bad or expired link gets the one friendly
bad-link page; the pixel always answers with the image.
"""

import base64
from datetime import timedelta

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from customers.languages import customer_language, in_language
from customers.links import BadLink, bad_link_response, read_token
from customers.models import Customer

from . import followups, outbox
from .models import EmailUnsubscribe


def _unsubscribe_customer(token: str) -> Customer:
    max_age = timedelta(days=settings.UNSUBSCRIBE_LINK_MAX_AGE_DAYS)
    customer_id = read_token("unsubscribe", token, max_age=max_age)
    customer = Customer.objects.filter(pk=customer_id).first()
    if customer is None:
        raise BadLink()
    return customer


class UnsubscribeView(View):
    """GET asks for one click (mail scanners follow links); POST unsubscribes."""

    def get(self, request: HttpRequest, token: str) -> HttpResponse:
        return self._page(request, token, done=False)

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        return self._page(request, token, done=True)

    def _page(self, request, token: str, *, done: bool) -> HttpResponse:
        try:
            customer = _unsubscribe_customer(token)
        except BadLink as error:
            return bad_link_response(request, error)
        if done:
            followups.customer_unsubscribe(customer=customer, source=EmailUnsubscribe.Source.LINK)
        already = not done and EmailUnsubscribe.objects.filter(customer=customer).exists()
        language = customer_language(customer)
        with translation.override(language):
            context = {
                "business_name": settings.BUSINESS_NAME,
                "done": done,
                "already": already,
                "language": language,
            }
            return in_language(render(request, "public/unsubscribe.html", context), language)


@method_decorator(csrf_exempt, name="dispatch")
class UnsubscribeOneClickView(View):
    """RFC 8058: the mail program POSTs here (no cookie, no CSRF token) to unsubscribe."""

    def post(self, request: HttpRequest, token: str) -> HttpResponse:
        try:
            customer = _unsubscribe_customer(token)
        except BadLink as error:
            return bad_link_response(request, error)
        followups.customer_unsubscribe(customer=customer, source=EmailUnsubscribe.Source.ONE_CLICK)
        return HttpResponse(status=200, content_type="text/plain")


TRANSPARENT_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


def email_open(request: HttpRequest, token: str) -> HttpResponse:
    """The open pixel: records the first open; always answers with the image."""
    if settings.EMAIL_OPEN_TRACKING:
        try:
            email_id = read_token("open", token, max_age=timedelta(days=365))
        except BadLink:
            email_id = None
        if email_id is not None:
            outbox.record_open(email_id)
    response = HttpResponse(TRANSPARENT_GIF, content_type="image/gif")
    response["Cache-Control"] = "no-store, private"
    return response
