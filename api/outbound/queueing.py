"""Writing outbound webhook rows: one per event and active endpoint subscribed to it.

Rows are written in the caller's transaction (the cause's: a rolled back churn posts
nothing) and a worker is asked to post them once it commits; no HTTP request is made
here. Each row's delivery id (a uuid) is fixed now, so every retry carries the same one.
"""

from collections.abc import Iterable
from datetime import date

from django.db import transaction
from django.utils import timezone

from customers.models import Customer

from ..models import WebhookEndpoint, WebhookMessage
from .events import messages_queued

Event = WebhookEndpoint.Event


def subscribed_endpoints(event: str) -> list[WebhookEndpoint]:
    """The active endpoints that chose `event` (one query; endpoints are few)."""
    return [e for e in WebhookEndpoint.objects.filter(active=True) if event in (e.events or [])]


def customer_data(customer: Customer) -> dict:
    return {
        "id": customer.pk,
        "external_id": customer.external_id,
        "name": customer.name,
        "email": customer.email,
        "status": customer.status,
    }


def queue_event(
    event: str, datas: Iterable[dict], endpoints: list[WebhookEndpoint] | None = None
) -> int:
    """One row per item of `datas` and subscribed endpoint; the number written."""
    endpoints = subscribed_endpoints(event) if endpoints is None else endpoints
    if not endpoints:
        return 0
    now = timezone.now()
    rows = []
    for data in datas:
        for endpoint in endpoints:
            message = WebhookMessage(endpoint=endpoint, event=event, next_attempt_at=now)
            message.payload = {
                "id": str(message.delivery_id),
                "event": event,
                "occurred_at": now.isoformat(),
                "data": data,
            }
            rows.append(message)
    with transaction.atomic():
        WebhookMessage.objects.bulk_create(rows)
        if rows:
            messages_queued.send(sender=WebhookMessage)
    return len(rows)


def queue_churn(customer: Customer) -> int:
    data = customer_data(customer)
    churned_on = customer.churned_on or timezone.localdate()
    data["churned_on"] = churned_on.isoformat()
    return queue_event(Event.CUSTOMER_CHURNED, [data])


def queue_risk_rises(rises: list[tuple[int, str]], as_of: date) -> int:
    """One row per risen customer and endpoint; the customers in one query."""
    endpoints = subscribed_endpoints(Event.RISK_LEVEL_ROSE)
    if not endpoints:
        return 0
    customers = Customer.objects.in_bulk([customer_id for customer_id, _level in rises])
    datas = [
        {"customer": customer_data(customers[customer_id]), "level": level, "as_of": str(as_of)}
        for customer_id, level in rises
        if customer_id in customers
    ]
    return queue_event(Event.RISK_LEVEL_ROSE, datas, endpoints)


def queue_survey_answer(response, customer: Customer) -> int:
    data = {
        "customer": customer_data(customer),
        "survey": {"id": response.survey_id, "name": response.survey.name},
        "response": {
            "id": response.pk,
            "submitted_at": response.submitted_at.isoformat(),
            "language": response.language,
            "nps_score": response.nps_score,
        },
    }
    return queue_event(Event.SURVEY_ANSWERED, [data])
