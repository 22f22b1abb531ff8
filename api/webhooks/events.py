"""An event from a shop or billing system, written as the API writes it.

The event's customer is found by external id (or email); an unknown one is created for
a purchase, the first event a shop sends about a new buyer (name and email from the
payload), and refused for the other events, which are about someone already known.
The interaction goes through the API's InteractionCreateSerializer, so the page's form
and services.interaction_log run: timeline, last contact and loyalty as in the UI.

A "usage" event is different: its data is the usage endpoint's batch ({"events": [...]})
added to the daily counts by customers.usage, as POST /api/v1/usage/ does. Counts are
added, not upserted by an id, so its only guard against counting a redelivery twice is
the delivery id: the view writes the accepted WebhookDelivery row (unique per source and
delivery id) in the same transaction as the counts.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.settings import api_settings

from customers import access
from customers.importing.columns import made_subject, subject_formats
from customers.models import Customer, Interaction
from customers.usage import UsageResult, events_from_json, usage_record

from ..models import WebhookDelivery, WebhookSource
from ..serializers.customers import CustomerWriteSerializer
from ..serializers.interactions import InteractionCreateSerializer

Kind = Interaction.Kind
# Event type -> the interaction kind it is logged as. A renewal is a payment for the next
# term: a purchase (it earns points and counts as spend), with a subject of its own.
EVENT_KINDS = {
    "purchase": Kind.PURCHASE,
    "refund": Kind.REFUND,
    "cancellation": Kind.CANCELLATION,
    "renewal": Kind.PURCHASE,
    "ticket": Kind.SERVICE_REQUEST,
}
TICKET_KINDS = (Kind.SERVICE_REQUEST, Kind.COMPLAINT)
USAGE = "usage"  # an event type of its own: daily counts, not an interaction
EVENT_TYPES = (*EVENT_KINDS, USAGE)
# The fields of `data` passed on to the interaction serializer as they are.
PASSED_ON = ("subject", "occurred_at", "amount", "body")


class EventError(Exception):
    """The event cannot be written: a 400 (or `status`), errors keyed by the payload's field."""

    def __init__(self, errors: dict[str, list[str]], status: int = 400) -> None:
        super().__init__(errors)
        self.errors = errors
        self.status = status


@dataclass(frozen=True)
class Outcome:
    status: str  # WebhookDelivery.Status
    external_id: str
    interaction: Interaction | None = None
    usage: UsageResult | None = None


def refuse(field: str, message: str, status: int = 400) -> EventError:
    return EventError({field: [message]}, status)


def event_type(payload) -> str:
    """The event's type, or an EventError naming `type` (or the body, if not an object)."""
    if not isinstance(payload, dict):
        raise refuse("body", _("The body must be a JSON object."))
    kind = payload.get("type")
    if kind not in EVENT_TYPES:
        raise refuse(
            "type", _("Unknown event type; one of: %(types)s.") % {"types": ", ".join(EVENT_TYPES)}
        )
    return kind


def handle(source: WebhookSource, payload: dict) -> Outcome:
    """Write the event (the caller holds the transaction); a known external id writes nothing."""
    kind = event_type(payload)
    data = payload.get("data")
    if not isinstance(data, dict):
        raise refuse("data", _("The event needs a data object."))
    if kind == USAGE:
        return handle_usage(source, data)
    external_id = data.get("external_id")
    if not isinstance(external_id, str | int) or not str(external_id).strip():
        raise refuse("data.external_id", _("The event needs the external id of its record."))
    external_id = str(external_id).strip()
    if Interaction.objects.filter(external_id=external_id).exists():
        return Outcome(WebhookDelivery.Status.DUPLICATE, external_id)
    user = source.act_as
    customer = find_customer(data.get("customer"), create=kind == "purchase", user=user)
    if not access.can_log_interaction(user, customer):
        raise refuse("source", _("The source's user cannot log interactions."), status=403)
    write = InteractionCreateSerializer(data=interaction_data(kind, data, customer, external_id))
    if not write.is_valid():
        raise EventError(payload_errors(write.errors, "data."))
    if not data.get("subject"):
        write.validated_data["subject"] = made_up_subject(kind, write.validated_data)
    try:
        interaction = write.log(user=user)
    except serializers.ValidationError as exc:
        raise EventError(payload_errors(exc.detail, "data.")) from exc
    return Outcome(WebhookDelivery.Status.ACCEPTED, external_id, interaction)


def handle_usage(source: WebhookSource, data: dict) -> Outcome:
    """Add the batch to the daily counts (all or nothing), as the usage endpoint does;
    the endpoint's rule for who may send it: a user with a staff role."""
    if not access.has_role(source.act_as):
        raise refuse("source", _("The source's user has no role in this CRM."), status=403)
    try:
        result = usage_record(events_from_json(data.get("events")))
    except ValidationError as exc:
        raise EventError({f"data.{field}": messages for field, messages in exc}) from exc
    return Outcome(WebhookDelivery.Status.ACCEPTED, "", usage=result)


def find_customer(given, *, create: bool, user) -> Customer:
    """The customer named by `external_id` (first) or `email`; created if `create`."""
    if not isinstance(given, dict) or not (given.get("external_id") or given.get("email")):
        raise refuse("data.customer", _("The event needs a customer with an external_id or email."))
    external_id = str(given.get("external_id") or "").strip()
    email = str(given.get("email") or "").strip()
    customers = Customer.objects.select_related("company", "owner")
    if external_id:
        found = customers.filter(external_id=external_id).first()
    else:
        matches = list(customers.filter(email__iexact=email)[:2])
        if len(matches) > 1:
            raise refuse(
                "data.customer.email", _("Several customers have this email; send the external_id.")
            )
        found = matches[0] if matches else None
    if found is not None:
        return found
    if not create:
        raise refuse("data.customer", _("No customer has this external id or email."))
    if not user.has_perm("customers.add_customer"):
        raise refuse(
            "data.customer", _("Unknown customer, and the source's user cannot create customers.")
        )
    fields = {"name": given.get("name") or email or external_id, "email": email}
    if external_id:
        fields["external_id"] = external_id
    write = CustomerWriteSerializer(data=fields)
    if not write.is_valid():
        raise EventError(payload_errors(write.errors, "data.customer."))
    try:
        return write.save_with_form(user=user)
    except serializers.ValidationError as exc:
        raise EventError(payload_errors(exc.detail, "data.customer.")) from exc


def interaction_data(kind: str, data: dict, customer: Customer, external_id: str) -> dict:
    fields = {name: data[name] for name in PASSED_ON if data.get(name) not in (None, "")}
    fields.setdefault("occurred_at", timezone.now())
    fields.setdefault("subject", "-")  # made from the amount and date once they are read
    interaction_kind = EVENT_KINDS[kind]
    if kind == "ticket":
        interaction_kind = data.get("kind") or interaction_kind
        if interaction_kind not in TICKET_KINDS:
            raise refuse(
                "data.kind", _("A ticket is a service_request or a complaint (default: the first).")
            )
    return {
        **fields,
        "customer": customer.pk,
        "kind": interaction_kind,
        "direction": Interaction.Direction.INBOUND,
        "external_id": external_id,
    }


def made_up_subject(kind: str, validated: dict) -> str:
    """A subject for an event without one: the import's rule for purchases and refunds
    ("Purchase of 12.99 on 2026-01-31"), the same shape for renewals and cancellations."""
    interaction = Interaction(amount=validated.get("amount"), occurred_at=validated["occurred_at"])
    if EVENT_KINDS[kind] in Interaction.KINDS_OF_SPEND and interaction.amount is None:
        return "-"  # the form refuses it, naming the amount
    if kind in ("purchase", "refund"):
        return made_subject(subject_formats()[EVENT_KINDS[kind]], interaction)
    date = timezone.localdate(interaction.occurred_at).isoformat()
    # Stored, then read by everyone: in the business's language, as the import's subjects.
    with translation.override(settings.LANGUAGE_CODE):
        if kind == "renewal":
            return _("Renewal of %(amount)s on %(date)s") % {
                "amount": f"{abs(interaction.amount):f}",
                "date": date,
            }
        if kind == "cancellation":
            return _("Cancellation on %(date)s") % {"date": date}
    raise refuse("data.subject", _("This event needs a subject."))


def payload_errors(detail, prefix: str) -> dict[str, list[str]]:
    """DRF's errors under the payload's field names ("data.amount")."""
    if not isinstance(detail, dict):
        return {prefix.rstrip("."): [str(message) for message in detail]}
    errors = {}
    for field, messages in detail.items():
        name = prefix.rstrip(".") if field == api_settings.NON_FIELD_ERRORS_KEY else prefix + field
        errors[name] = [str(message) for message in messages]
    return errors
