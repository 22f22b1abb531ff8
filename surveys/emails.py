"""The survey invitation and reminder emails, as they go out.

Subject, text and HTML come from `templates/surveys/email/` in the customer's
language. The headers make them read as the business's mail, not as bulk mail
from an unknown host:

- `Message-ID` under the domain of SITE_URL (Django would use the machine's host
  name), fixed per invitation and kind, so a repeat of the same email (a worker
  killed after the server accepted it) carries the same one;
- `List-Id` (RFC 2919) naming the business's survey emails;
- `List-Unsubscribe` and `List-Unsubscribe-Post` (RFC 8058): the follow-up emails'
  unsubscribe link (customers.links, purpose "unsubscribe"), which mail programs
  POST to. Delivery honours it: an unsubscribed customer gets no survey email.
- a Subject on one line (see `SurveyEmail`).
"""

import re
from email.header import Header
from email.policy import compat32
from email.utils import quote
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.crypto import salted_hmac

from customers.languages import customer_language
from customers.links import make_token

from .models import SurveyInvitation

# Header lines up to RFC 5322's limit of 998 characters, so the Subject is not refolded.
ONE_LINE_HEADERS = compat32.clone(max_line_length=998)
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
# What a Message-ID's and a List-Id's domain must be (RFC 5322 dot-atom; host names are).
DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")
# The characters that make a display name need quotes (RFC 5322 "specials").
SPECIALS = re.compile(r'[][()<>@,;:\\".]')


class SurveyEmail(EmailMultiAlternatives):
    """An EmailMultiAlternatives whose Subject stays on one line.

    Django 5.2 encodes a non-ASCII subject (every survey subject has a "·") as
    encoded words of up to 76 characters without counting the 9 of "Subject: ";
    the email package then folds the header before the first encoded word, which
    leaves an empty first line ("Subject: \\n =?utf-8?q?...") that some mail
    programs and filters read as an empty subject. Here the encoded words are
    joined by spaces on one line (valid up to 998 characters, RFC 5322 2.1.1).
    """

    def message(self):
        message = super().message()
        message.policy = ONE_LINE_HEADERS
        message.replace_header("Subject", one_line_header(self.subject))
        return message


def single_line(value: str) -> str:
    """A header-safe value: line breaks and control characters become one space."""
    return CONTROL_CHARACTERS.sub(" ", str(value or "")).strip()


def one_line_header(value: str) -> str:
    """`value` as one header line: ASCII as it is, anything else as RFC 2047 encoded
    words (each at most 75 characters) separated by spaces."""
    value = single_line(value)
    if value.isascii():
        return value
    encoded = Header(value, "utf-8", maxlinelen=75).encode()
    return " ".join(encoded.split())


def site_domain() -> str:
    """The host of SITE_URL in ASCII (an internationalised name in its IDNA form), or
    "localhost" when it is no host name (e.g. [::1])."""
    host = urlsplit(settings.SITE_URL).hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    return host if DOT_ATOM.match(host) else "localhost"


def message_id(invitation: SurveyInvitation, *, reminder: bool) -> str:
    """The same for every copy of one email; unguessable, and new for a new row even
    when a restored database reuses ids (the creation time is part of it)."""
    kind = "survey-reminder" if reminder else "survey-invitation"
    digest = salted_hmac(
        "surveys.emails.message_id", f"{kind}:{invitation.pk}:{invitation.created_at.isoformat()}"
    ).hexdigest()[:32]
    return f"<{kind}.{digest}@{site_domain()}>"


def list_id() -> str:
    """RFC 2919: a description, then the list's own identifier under our domain."""
    name = single_line(f"{settings.BUSINESS_NAME} surveys")
    if not name.isascii():
        phrase = one_line_header(name)
    elif SPECIALS.search(name):
        phrase = f'"{quote(name)}"'
    else:
        phrase = name
    return f"{phrase} <surveys.{site_domain()}>"


def _absolute(path: str) -> str:
    return settings.SITE_URL.rstrip("/") + path


def unsubscribe_urls(customer_id: int) -> tuple[str, str]:
    """The unsubscribe page (asks for one click) and the RFC 8058 one-click address,
    the same links the follow-up emails carry."""
    token = make_token("unsubscribe", customer_id)
    return (
        _absolute(reverse("retention:unsubscribe", args=[token])),
        _absolute(reverse("retention:unsubscribe_one_click", args=[token])),
    )


def build(
    invitation: SurveyInvitation, url: str, *, reminder: bool, connection=None
) -> SurveyEmail:
    """The invitation (or its reminder) linking to `url`, in the customer's language."""
    customer = invitation.customer
    language = customer_language(customer)
    page_url, one_click_url = unsubscribe_urls(customer.pk)
    with translation.override(language):
        context = {
            "customer": customer,
            "survey_title": invitation.survey.translated("title", language),
            "intro": invitation.survey.translated("intro", language),
            "url": url,
            "expires_at": invitation.expires_at,
            "business_name": settings.BUSINESS_NAME,
            "reminder": reminder,
            "unsubscribe_url": page_url,
            "LANGUAGE_CODE": language,
        }
        subject = render_to_string("surveys/email/invitation_subject.txt", context)
        text = render_to_string("surveys/email/invitation.txt", context)
        html = render_to_string("surveys/email/invitation.html", context)
    message = SurveyEmail(
        subject=single_line(subject),
        body=text,
        to=[customer.email],
        connection=connection,
        headers={
            "Message-ID": message_id(invitation, reminder=reminder),
            "List-Id": list_id(),
            "List-Unsubscribe": f"<{one_click_url}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        },
    )
    message.attach_alternative(html, "text/html")
    return message
