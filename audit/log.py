"""`record()`: the one way the CRM writes to the audit log.

Call it where the action happens, inside the action's transaction when it has one,
so an action rolled back leaves no entry and an entry never lacks its action:

    record(AuditEntry.Action.CUSTOMER_CHANGED, request=request, target=customer,
           details={"fields": ["email", "owner"]})

`details` is for ids, counts and field names, never names, emails or other text about
a customer (a GDPR erasure must leave nothing of them in the log).
"""

import ipaddress

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.http import HttpRequest, QueryDict

from .models import AuditEntry

USER_AGENT_LENGTH = AuditEntry._meta.get_field("user_agent").max_length
IGNORED_PARAMETERS = {"csrfmiddlewaretoken", "page", "preview", "confirm"}


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or the proxy's word for it behind our proxy.

    X-Forwarded-For is trusted only with BEHIND_TLS_PROXY on (a client can send the
    header itself), and then only its last entry, the one our proxy appended: earlier
    entries are whatever the client wrote.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if getattr(settings, "BEHIND_TLS_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded.strip():
            address = forwarded.split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


def parameter_names(data: QueryDict) -> list[str]:
    """The names of the filled-in parameters (filters of an export, a segment), for details.

    Names only: a value may be a search for a customer's name or email.
    """
    return sorted(name for name, value in data.items() if value and name not in IGNORED_PARAMETERS)


def record(
    action: str,
    *,
    request: HttpRequest | None = None,
    user=None,
    target: models.Model | None = None,
    details: dict | None = None,
) -> None:
    """Append one entry for `action` (an `AuditEntry.Action` value) by `user` on `target`.

    `user` defaults to the request's user when logged in; the address and browser come
    from `request`. Without a request (a task, a command) they stay empty.
    """
    if action not in AuditEntry.Action.values:
        raise ValueError(f"Unknown audit action {action!r}: add it to AuditEntry.Action.")
    if user is None and request is not None:
        request_user = getattr(request, "user", None)
        if request_user is not None and request_user.is_authenticated:
            user = request_user
    if user is not None and not user.is_authenticated:
        user = None
    entry = AuditEntry(
        action=action,
        user=user,
        username=user.get_username() if user is not None else "",
        details=details or {},
    )
    if target is not None:
        entry.target_type = ContentType.objects.get_for_model(target)
        entry.target_id = str(target.pk)
    if request is not None:
        entry.ip_address = client_ip(request)
        entry.user_agent = request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_LENGTH]
    entry.save()
