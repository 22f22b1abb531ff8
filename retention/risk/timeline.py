"""Risk changes and queue actions in the customer's timeline."""

from datetime import datetime

from django.utils.translation import gettext as _

from customers.models import Customer
from customers.timeline import TimelineEntry

from . import signals
from .models import ChecklistStep, OutgoingEmail, PointsEntry, RiskEvent

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
            title = _("Risk %(from)s → %(to)s (score %(score)s)") % {
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


def checklist_step_entries(
    customer: Customer, until: datetime | None, limit: int
) -> list[TimelineEntry]:
    """Onboarding steps done or skipped, by staff or by the customer."""
    steps = ChecklistStep.objects.filter(
        checklist__customer=customer, completed_at__isnull=False
    ).select_related("completed_by", "checklist")
    if until is not None:
        steps = steps.filter(completed_at__lte=until)
    entries = []
    for step in steps.order_by("-completed_at", "-id")[:limit]:
        skipped = step.status == ChecklistStep.Status.SKIPPED
        if step.completed_by_customer:
            actor = _("the customer")
        elif step.completed_by:
            actor = step.completed_by.get_full_name() or step.completed_by.get_username()
        else:
            actor = ""
        entries.append(
            TimelineEntry(
                occurred_at=step.completed_at,
                source="onboarding",
                pk=step.pk,
                kind="onboarding_skipped" if skipped else "onboarding_done",
                kind_label=_("Onboarding"),
                title=(_("Skipped: %(title)s") if skipped else _("Done: %(title)s"))
                % {"title": step.title},
                body=step.skip_reason,
                actor=actor,
                detail=step.checklist.name,
                badge="secondary" if skipped else "success",
            )
        )
    return entries


LOYALTY_BADGES = {
    PointsEntry.Kind.EARN: "success",
    PointsEntry.Kind.REDEEM: "primary",
    PointsEntry.Kind.EXPIRE: "secondary",
    PointsEntry.Kind.ADJUST: "warning",
}


def points_entries(customer: Customer, until: datetime | None, limit: int) -> list[TimelineEntry]:
    """Points earned, redeemed (with the coupon code), expired and adjusted."""
    rows = PointsEntry.objects.filter(customer=customer).select_related("author", "coupon")
    if until is not None:
        rows = rows.filter(created_at__lte=until)
    entries = []
    for entry in rows.order_by("-created_at", "-id")[:limit]:
        coupon = getattr(entry, "coupon", None)
        detail = _("%(points)+d points") % {"points": entry.points}
        if coupon is not None:
            detail += " · " + _("coupon %(code)s") % {"code": coupon.code}
        author = entry.author
        entries.append(
            TimelineEntry(
                occurred_at=entry.created_at,
                source="loyalty",
                pk=entry.pk,
                kind=f"points_{entry.kind}",
                kind_label=_("Points"),
                title=entry.reason,
                actor=(author.get_full_name() or author.get_username()) if author else "",
                detail=detail,
                badge=LOYALTY_BADGES.get(entry.kind, "secondary"),
            )
        )
    return entries


def email_entries(customer: Customer, until: datetime | None, limit: int) -> list[TimelineEntry]:
    """Follow-up emails sent to the customer (not the notices sent about them to staff)."""
    emails = OutgoingEmail.objects.filter(
        customer=customer,
        kind__in=OutgoingEmail.CUSTOMER_KINDS,
        status=OutgoingEmail.Status.SENT,
    ).select_related("created_by", "rule")
    if until is not None:
        emails = emails.filter(sent_at__lte=until)
    entries = []
    for email in emails.order_by("-sent_at", "-id")[:limit]:
        if email.created_by:
            actor = email.created_by.get_full_name() or email.created_by.get_username()
        else:
            actor = ""
        details = [email.rule.name if email.rule else str(email.get_kind_display())]
        if email.opened_at:
            details.append(_("opened"))
        entries.append(
            TimelineEntry(
                occurred_at=email.sent_at,
                source="email",
                pk=email.pk,
                kind="email_sent",
                kind_label=_("Email sent"),
                title=email.subject,
                actor=actor,
                detail=" · ".join(str(d) for d in details),
                badge="info",
            )
        )
    return entries
