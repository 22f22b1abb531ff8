"""Who sent a request, and when: HMAC-SHA256 over "<timestamp>.<raw body>".

The timestamp is inside the signed text, so a captured request cannot be replayed later
with a fresh timestamp; within the tolerance, the delivery id stops a replay.
"""

import hashlib
import hmac
import time

from django.conf import settings
from django.utils.translation import gettext as _

PREFIX = "sha256="


class SignatureError(Exception):
    """The request is not from the source (or not from now): a 401."""


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The header's value for this body: "sha256=<hex>"."""
    signed = timestamp.encode() + b"." + body
    return PREFIX + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify(
    secret: str, *, timestamp: str, given: str, body: bytes, now: float | None = None
) -> None:
    """Raise SignatureError unless `given` signs this body and timestamp, and the timestamp
    is within WEBHOOK_TOLERANCE_SECONDS of now (either way: clocks drift)."""
    if not given:
        raise SignatureError(_("The X-CRM-Signature header is missing."))
    if not (timestamp.isascii() and timestamp.isdigit()):
        raise SignatureError(_("The X-CRM-Timestamp header must be a unix time in seconds."))
    if not hmac.compare_digest(given.encode(), signature(secret, timestamp, body).encode()):
        raise SignatureError(_("The signature does not match the body and the timestamp."))
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > settings.WEBHOOK_TOLERANCE_SECONDS:
        raise SignatureError(
            _("The timestamp is more than %(seconds)s seconds from now.")
            % {"seconds": settings.WEBHOOK_TOLERANCE_SECONDS}
        )
