"""Risk changes and queue actions in the customer's timeline."""

from datetime import datetime

from django.utils.translation import gettext as _

from customers.models import Customer
from customers.timeline import TimelineEntry

from . import signals
from .models import RiskEvent

BADGES = {
    RiskEvent.Kind.LEVEL_UP: "danger",
    RiskEvent.Kind.LEVEL_DOWN: "success",
    RiskEvent.Kind.SAVED: "success",
    RiskEvent.Kind.LOST: "dark",
}


def risk_event_entries(
    customer: Customer, until: datetime | None, limit: int
) -> list[TimelineEntry]:
    events = RiskEvent.objects.filter(customer=customer).select_related("actor")
    if until is not None:
        events = events.filter(occurred_at__lte=until)
    entries = []
    for event in events.order_by("-occurred_at", "-id")[:limit]:
        if event.kind in (RiskEvent.Kind.LEVEL_UP, RiskEvent.Kind.LEVEL_DOWN):
            title = _("Risk %(from)s → %(to)s (%(score)s %% likely to be lost)") % {
                "from": event.get_from_level_display(),
                "to": event.get_to_level_display(),
                "score": event.score if event.score is not None else "—",
            }
        else:
            title = event.get_kind_display()
        body = event.summary
        if event.kind in (RiskEvent.Kind.LEVEL_UP, RiskEvent.Kind.LEVEL_DOWN) and body:
            registry = signals.registered()
            body = ", ".join(
                str(registry[key].label) if key in registry else key for key in body.split("; ")
            )
        actor = (event.actor.get_full_name() or event.actor.get_username()) if event.actor else ""
        entries.append(
            TimelineEntry(
                occurred_at=event.occurred_at,
                source="risk",
                pk=event.pk,
                kind=f"risk_{event.kind}",
                kind_label=_("Risk"),
                title=title,
                body=body,
                actor=actor,
                badge=BADGES.get(event.kind, "warning"),
            )
        )
    return entries
