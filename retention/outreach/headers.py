"""The list headers and the reply address of the emails the app sends.

- `List-Id` (RFC 2919) names the stream an email belongs to: mail programs filter on
  it, and spam filters count its absence against short messages (SpamAssassin's
  LIST_PARTIAL_SHORT_MSG). Its identifier is `<label>.<host of SITE_URL>`.
- `List-Unsubscribe` with `List-Unsubscribe-Post` (RFC 8058): one-click unsubscribe.
- `Reply-To`: follow-ups say "just reply"; the reply goes to the customer's account
  manager, not to the shared sender address.

Every value returned here is ASCII already (a non-ASCII name RFC 2047-encoded), so it
goes unchanged through mime.py and through Django's EmailMessage alike. Survey emails
(a Django EmailMessage) call `apply_list_headers` too.
"""

import re
from email.utils import formataddr
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import EmailMessage

from .rendering import single_line

FOLLOW_UPS = "follow-ups"
STAFF_NOTICES = "crm-notices"
# dot-atom text, as RFC 2919 requires of the identifier (host names qualify).
_DOT_ATOM = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$")


def idna_address(address: str) -> str:
    """An internationalised domain (anna@müller.de, which the forms accept) in its
    ASCII form. A non-ASCII local part still fails: it needs SMTPUTF8."""
    local, _at, domain = address.rpartition("@")
    return f"{local}@{domain.encode('idna').decode('ascii')}" if domain else address


def list_namespace() -> str:
    """The host of SITE_URL in ASCII ("localhost" when it is no host name, e.g. [::1])."""
    host = urlsplit(settings.SITE_URL).hostname or ""
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    return host if _DOT_ATOM.match(host) else "localhost"


def list_id(label: str, description: str = "") -> str:
    """`"Description" <label.host>`, e.g. `Our company follow-ups <follow-ups.crm.example.com>`."""
    if not _DOT_ATOM.match(label):
        raise ValueError(f"Not a List-Id label: {label!r}")
    identifier = f"{label}.{list_namespace()}"
    description = single_line(description)
    if not description:
        return f"<{identifier}>"
    # formataddr quotes or RFC 2047-encodes the phrase and leaves <identifier> alone.
    return formataddr((description, identifier), charset="utf-8")


def list_headers(*, label: str, description: str, unsubscribe_url: str = "") -> dict[str, str]:
    """List-Id, and with an unsubscribe URL the RFC 8058 one-click pair."""
    headers = {"List-Id": list_id(label, description)}
    if unsubscribe_url:
        if any(c.isspace() or c in "<>" for c in unsubscribe_url):
            raise ValueError("An unsubscribe URL cannot hold spaces or angle brackets.")
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return headers


def apply_list_headers(
    message: EmailMessage, *, label: str, description: str, unsubscribe_url: str = ""
) -> EmailMessage:
    """Add `list_headers(...)` to a Django email message's headers; returns the message.

    For survey emails, e.g.
    `apply_list_headers(message, label="surveys", description=f"{BUSINESS_NAME} surveys",
    unsubscribe_url=one_click_url)`."""
    message.extra_headers.update(
        list_headers(label=label, description=description, unsubscribe_url=unsubscribe_url)
    )
    return message


def reply_to(user) -> str:
    """A user (the account manager) as a Reply-To value, or "" when they have no usable
    address (none, or a non-ASCII local part, which needs SMTPUTF8)."""
    if user is None or not user.email:
        return ""
    name = single_line(user.get_full_name())
    try:
        return formataddr((name, idna_address(single_line(user.email))), charset="utf-8")
    except UnicodeError:
        return ""
