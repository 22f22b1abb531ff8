"""Password reset by email: who gets one, how often, and what it says.

The email goes through the CRM's outbox like every other email (a row first, sent by
the worker, retried): the outbox lives in an app above this one, so it registers the
function that queues a reset email here (`register_reset_sender`, from its
`AppConfig.ready()`), and renders the email at sending time with `reset_email()`.

No account enumeration: the page answers the same whether the address belongs to an
account or not, and costs the same: the request only counts the limits (the per-account
counter is keyed by the address typed) and enqueues a task, which looks the address up
and queues the email (an unknown address queues nothing).
"""

import hashlib
import time
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import HttpRequest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from audit import log as audit_log

from . import events, languages

HOUR = 3600
ResetSender = Callable[..., None]
_reset_sender: ResetSender | None = None


def register_reset_sender(sender: ResetSender) -> None:
    """`sender(user=..., language=...)` queues a reset email for `user` in the caller's
    transaction (the outbox registers it)."""
    global _reset_sender
    _reset_sender = sender


def _counter(scope: str, key: str) -> int:
    """One more hit on a fixed one-hour window in the shared cache; the count so far."""
    window = int(time.time() // HOUR)
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    cache_key = f"ratelimit:{scope}:{digest}:{window}"
    if cache.add(cache_key, 1, timeout=HOUR + 5):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=HOUR + 5)
        return 1


def address_allowed(request: HttpRequest) -> bool:
    """Count one reset request from the client's address; False over the hourly limit."""
    address = audit_log.client_ip(request) or ""
    return _counter("password-reset-ip", address) <= settings.PASSWORD_RESET_PER_IP_PER_HOUR


def accounts_for(email: str):
    """Active accounts with this address and a usable password (Django's own rule)."""
    user_model = get_user_model()
    email_field = user_model.get_email_field_name()
    users = user_model._default_manager.filter(
        **{f"{email_field}__iexact": email, "is_active": True}
    )
    return [user for user in users if user.has_usable_password()]


def request_reset(email: str) -> bool:
    """A visitor asks for a reset link for `email`: counted against the hourly limit per
    account (keyed by the address typed), then looked up and queued by a worker. The same
    work whether the address has an account or not; False over the limit."""
    normalised = email.strip().lower()
    count = _counter("password-reset-account", normalised)
    if count > settings.PASSWORD_RESET_PER_HOUR:
        return False
    events.reset_requested.send(
        sender=None, email=normalised, language=translation.get_language() or ""
    )
    return True


def queue_reset_emails(email: str, *, language: str = "") -> int:
    """Queue a reset email for each account with `email` (the task); how many."""
    if _reset_sender is None:
        raise ImproperlyConfigured("No reset email sender registered (the outbox app's ready()).")
    queued = 0
    with transaction.atomic():
        for user in accounts_for(email):
            # The language the user chose for the app, else the one of the page they
            # asked on (a stranger to the account cannot pick the email's language).
            _reset_sender(user=user, language=languages.user_language(user) or language)
            queued += 1
    return queued


def reset_link(user) -> str:
    """The one-time link: valid PASSWORD_RESET_TIMEOUT seconds from now, and only until
    the password changes or the user logs in (Django's token covers both)."""
    path = reverse(
        "accounts:password_reset_confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    return settings.SITE_URL.rstrip("/") + path


def reset_email(user, *, language: str = "") -> tuple[str, str, str]:
    """(subject, text, html) of the reset email, rendered when it is sent."""
    language = language or settings.LANGUAGE_CODE
    with translation.override(language):
        context = {
            "user": user,
            "reset_url": reset_link(user),
            "site_host": urlsplit(settings.SITE_URL).netloc,
            "business_name": settings.BUSINESS_NAME,
            "valid_minutes": max(settings.PASSWORD_RESET_TIMEOUT // 60, 1),
        }
        subject = render_to_string("registration/email/password_reset_subject.txt", context)
        text = render_to_string("registration/email/password_reset_email.txt", context)
        html = render_to_string("registration/email/password_reset_email.html", context)
    return " ".join(subject.split()), text, html
