"""Follow-up emails in the customer's timeline."""

from datetime import datetime

from django.utils.translation import gettext as _

from customers.models import Customer
from customers.timeline import TimelineEntry

from .models import OutgoingEmail


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
