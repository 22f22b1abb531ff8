"""Onboarding steps in the customer's timeline."""

from datetime import datetime

from django.utils.translation import gettext as _

from customers.models import Customer
from customers.timeline import TimelineEntry

from .models import ChecklistStep


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
