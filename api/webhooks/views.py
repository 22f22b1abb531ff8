"""POST /api/webhooks/<source id>/: a signed event from a shop or billing system.

Not a DRF view: no token, no session, no CSRF (the signature is the authentication).
Every request to a source that exists leaves a WebhookDelivery row (the admin's log);
an accepted one is written in the same transaction as the event's writes, so a replay
finds it exactly when the writes happened. Two copies of one delivery racing each other:
the second's accepted row breaks the (source, delivery id) uniqueness and its whole
transaction, event writes included, is rolled back (a duplicate); that is the only guard
for usage events, whose counts are added.
"""

import json
import logging

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from ..models import WebhookDelivery, WebhookSource
from . import events, signatures

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
Status = WebhookDelivery.Status


@csrf_exempt
@require_POST
def receive(request: HttpRequest, source_id: int) -> JsonResponse:
    source = WebhookSource.objects.select_related("act_as").filter(pk=source_id).first()
    if source is None or not source.active:
        if source is not None:
            _record(source, request, Status.REJECTED, _("The source is inactive."))
        return _error(404, _("No active webhook source has this id."))
    if _declared_length(request) > MAX_BODY_BYTES:
        return _reject(source, request, 413, _("The body is larger than 1 MB."))
    body = request.body
    if len(body) > MAX_BODY_BYTES:
        return _reject(source, request, 413, _("The body is larger than 1 MB."))
    try:
        signatures.verify(
            source.secret,
            timestamp=request.headers.get("X-CRM-Timestamp", ""),
            given=request.headers.get("X-CRM-Signature", ""),
            body=body,
        )
    except signatures.SignatureError as exc:
        return _reject(source, request, 401, str(exc))
    delivery_id = request.headers.get("X-CRM-Delivery", "").strip()
    if not delivery_id or len(delivery_id) > 100:
        message = _("The X-CRM-Delivery header must hold the delivery's id (up to 100 characters).")
        return _reject(source, request, 400, message, field="X-CRM-Delivery")
    if _seen(source, delivery_id):
        return _duplicate(source, request)
    try:
        payload = json.loads(body)
    except ValueError as exc:
        message = _("The body is not valid JSON: %(error)s") % {"error": exc}
        return _reject(source, request, 400, message, field="body")
    try:
        with transaction.atomic():
            outcome = events.handle(source, payload)
            delivery = _record(
                source, request, outcome.status, external_id=outcome.external_id, payload=payload
            )
    except events.EventError as exc:
        field, messages = next(iter(exc.errors.items()))
        _record(source, request, Status.REJECTED, _describe(exc.errors), payload=payload)
        return JsonResponse(
            {"status": Status.REJECTED, "error": messages[0], "field": field, "errors": exc.errors},
            status=exc.status,
        )
    except IntegrityError:
        # The same delivery (or record) sent twice at the same instant: the other one won.
        logger.info("Webhook delivery %s of source %s raced another", delivery_id, source.pk)
        return _duplicate(source, request, payload=payload)
    if outcome.status == Status.DUPLICATE:
        return JsonResponse({"status": Status.DUPLICATE, "delivery": delivery.pk})
    if outcome.usage is not None:
        usage = outcome.usage
        return JsonResponse(
            {
                "status": Status.ACCEPTED,
                "delivery": delivery.pk,
                "events": usage.events,
                "clicks": usage.clicks,
                "rows": usage.rows,
            }
        )
    return JsonResponse(
        {
            "status": Status.ACCEPTED,
            "delivery": delivery.pk,
            "interaction": outcome.interaction.pk,
            "customer": outcome.interaction.customer_id,
        }
    )


def _declared_length(request: HttpRequest) -> int:
    """The Content-Length the sender gave (0 if none or not a number): checked before
    the body is read, so a large one is refused unread."""
    try:
        return int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return 0


def _seen(source: WebhookSource, delivery_id: str) -> bool:
    return WebhookDelivery.objects.filter(
        source=source, delivery_id=delivery_id, status=Status.ACCEPTED
    ).exists()


def _record(
    source: WebhookSource,
    request: HttpRequest,
    status: str,
    error: str = "",
    *,
    external_id: str = "",
    payload=None,
) -> WebhookDelivery:
    data = payload.get("data") if isinstance(payload, dict) else None
    if not external_id and isinstance(data, dict):
        external_id = str(data.get("external_id") or "")
    event_type = payload.get("type") if isinstance(payload, dict) else ""
    return WebhookDelivery.objects.create(
        source=source,
        delivery_id=request.headers.get("X-CRM-Delivery", "")[:100],
        event_type=str(event_type or "")[:30],
        status=status,
        error=error,
        external_id=external_id[:100],
    )


def _duplicate(source: WebhookSource, request: HttpRequest, payload=None) -> JsonResponse:
    delivery = _record(source, request, Status.DUPLICATE, payload=payload)
    return JsonResponse({"status": Status.DUPLICATE, "delivery": delivery.pk})


def _reject(
    source: WebhookSource, request: HttpRequest, code: int, message: str, field: str = ""
) -> JsonResponse:
    _record(source, request, Status.REJECTED, f"{field}: {message}" if field else message)
    return _error(code, message, field)


def _error(code: int, message: str, field: str = "") -> JsonResponse:
    body = {"status": Status.REJECTED, "error": message}
    if field:
        body["field"] = field
    return JsonResponse(body, status=code)


def _describe(errors: dict[str, list[str]]) -> str:
    return "; ".join(f"{field}: {' '.join(messages)}" for field, messages in errors.items())
