"""Brute-force protection of the login, with django-axes.

Two limits, both counted over the cool-off window (AXES_COOLOFF_TIME) before now:
- a username tried from one address: AXES_FAILURE_LIMIT wrong passwords lock it there
  (the owner of the account, elsewhere, can still log in);
- one address trying any usernames: LOGIN_IP_FAILURE_LIMIT wrong passwords lock the
  address (a script walking through a list of accounts).

AxesStandaloneBackend comes first in AUTHENTICATION_BACKENDS, so a locked-out login is
refused before the password is hashed: a locked attempt costs a few queries, not the
~0.25 s of CPU of a PBKDF2 check.
"""

from datetime import datetime

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from audit import log as audit_log


def client_ip(request: HttpRequest) -> str | None:
    """The address failures are counted for: the audit log's rule (REMOTE_ADDR, or our
    proxy's X-Forwarded-For entry when BEHIND_TLS_PROXY is on), so both agree."""
    return audit_log.client_ip(request)


class LockoutHandler(AxesDatabaseHandler):
    """Axes' database handler with a higher limit for the address alone.

    Axes has one failure limit for every lockout parameter; AXES_LOCKOUT_PARAMETERS is
    [[username, ip_address], ip_address], and the address alone is held to
    LOGIN_IP_FAILURE_LIMIT instead, so a colleague's typos behind the same office NAT
    do not lock everyone out after five.
    """

    def get_failures(self, request, credentials: dict | None = None) -> int:
        counts = [
            attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0
            for attempts in self.get_user_attempts(request, credentials)
        ]
        if len(counts) != 2:  # parameters changed in the settings: axes' own rule
            return max(counts, default=0)
        by_username_and_ip, by_ip = counts
        if by_ip >= settings.LOGIN_IP_FAILURE_LIMIT:
            return max(by_username_and_ip, get_failure_limit(request, credentials))
        return by_username_and_ip

    def user_logged_in(self, sender, request, user, **kwargs):
        """A right password forgives that username's failures from this address, and only
        those. (Axes' AXES_RESET_ON_SUCCESS would delete every failure from the address,
        so anyone with an account could log in every few guesses to reset the count on
        someone else's.)"""
        super().user_logged_in(sender, request, user, **kwargs)
        AccessAttempt.objects.filter(
            username=user.get_username(), ip_address=request.axes_ip_address
        ).delete()

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        was_locked = getattr(request, "axes_locked_out", False)
        super().user_login_failed(sender, credentials, request=request, **kwargs)
        if request is not None and not was_locked and getattr(request, "axes_locked_out", False):
            # This failure locked it (later attempts while locked are not logged again).
            user_model = get_user_model()
            username = (credentials or {}).get("username")
            target = (
                user_model._default_manager.filter(**{user_model.USERNAME_FIELD: username}).first()
                if username
                else None
            )
            audit_log.record("account.login_locked", request=request, target=target)


def locked_until(request: HttpRequest) -> datetime:
    """When the lock lifts at the latest: the cool-off after the last counted failure."""
    since = timezone.now() - settings.AXES_COOLOFF_TIME
    address = getattr(request, "axes_ip_address", None)
    latest = AccessAttempt.objects.filter(ip_address=address, attempt_time__gte=since).aggregate(
        latest=Max("attempt_time")
    )["latest"]
    return (latest or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(
    request: HttpRequest, original_response=None, credentials: dict | None = None
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the lockout page, 429, saying when to try again."""
    retry_at = locked_until(request)
    seconds = max(int((retry_at - timezone.now()).total_seconds()), 1)
    response = render(
        request,
        "accounts/locked_out.html",
        {"retry_at": retry_at, "admin_login": request.path.startswith("/admin/")},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )
    response["Retry-After"] = str(seconds)
    return response
