"""Onboarding rules: starting checklists, ticking steps, progress, stalls, figures.

Progress counts the *required* steps: one counts once it is done or skipped
(skipping needs a reason). Optional steps are shown but never hold a customer
back. When every required step is resolved the checklist completes and a
customer still in onboarding becomes active. A checklist is *stalled* when a
required step has been overdue for more than ONBOARDING_STALL_DAYS.
"""

import statistics
from datetime import date, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    Count,
    DurationField,
    F,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from customers import links
from customers.models import Customer
from retention.risk.models import SignalSetting

from .events import onboarding_completed
from .models import Checklist, ChecklistStep, ChecklistTemplate
from .risk_signals import STALLED_ONBOARDING

Status = ChecklistStep.Status


def stall_days() -> int:
    """Days overdue before a step stalls: the stalled-onboarding signal's window."""
    saved = (
        SignalSetting.objects.filter(key=STALLED_ONBOARDING.key)
        .values_list("window_days", flat=True)
        .first()
    )
    return saved or STALLED_ONBOARDING.default_window_days


LINK_PURPOSE = "onboarding"


def public_link(customer: Customer) -> str:
    """The path of the customer's own progress page (signed, expires; no login)."""
    return reverse("onboarding_public", args=[links.make_token(LINK_PURPOSE, customer.pk)])


def running_checklist(customer: Customer) -> Checklist | None:
    return Checklist.objects.filter(customer=customer, status=Checklist.Status.IN_PROGRESS).first()


def latest_checklist(customer: Customer) -> Checklist | None:
    """The running checklist, else the most recent one (completed or cancelled); one query."""
    running_first = Case(When(status=Checklist.Status.IN_PROGRESS, then=0), default=1)
    return (
        Checklist.objects.filter(customer=customer)
        .order_by(running_first, "-started_on", "-id")
        .first()
    )


def pick_template(
    customer: Customer, templates: list[ChecklistTemplate]
) -> ChecklistTemplate | None:
    """The template for this customer's plan, else the default one."""
    plan = customer.plan.strip().lower()
    by_plan = next((t for t in templates if plan and t.plan.strip().lower() == plan), None)
    return by_plan or next((t for t in templates if t.is_default), None)


def template_for(customer: Customer) -> ChecklistTemplate | None:
    candidates = ChecklistTemplate.objects.filter(Q(is_default=True) | ~Q(plan=""))
    return pick_template(customer, list(candidates))


@transaction.atomic
def checklist_start(
    *,
    customer: Customer,
    template: ChecklistTemplate,
    started_by=None,
    start_on: date | None = None,
) -> Checklist:
    """Copy the template's steps into a new checklist for the customer."""
    if Checklist.objects.filter(customer=customer, status=Checklist.Status.IN_PROGRESS).exists():
        raise ValidationError(_("This customer already has an onboarding checklist running."))
    start_on = start_on or timezone.localdate()
    checklist = Checklist.objects.create(
        customer=customer,
        template=template,
        name=template.name,
        started_on=start_on,
        started_by=started_by,
    )
    ChecklistStep.objects.bulk_create(_copied_steps(checklist, start_on))
    return refresh_progress(checklist)


def _copied_steps(checklist: Checklist, start_on: date) -> list[ChecklistStep]:
    """The checklist's template steps as its own steps, due from `start_on`."""
    return [
        ChecklistStep(
            checklist=checklist,
            position=index,
            title=step.title,
            description=step.description,
            actor=step.actor,
            due_on=start_on + timedelta(days=step.due_offset_days),
            required=step.required,
        )
        for index, step in enumerate(checklist.template.steps.all())
    ]


def refresh_progress(checklist: Checklist) -> Checklist:
    """Recount the checklist's steps; complete it when every required step is resolved."""
    counts = checklist.steps.aggregate(
        required_total=Count("id", filter=Q(required=True)),
        required_resolved=Count("id", filter=Q(required=True) & ~Q(status=Status.OPEN)),
        optional_total=Count("id", filter=Q(required=False)),
        optional_done=Count("id", filter=Q(required=False, status=Status.DONE)),
        next_due_on=Min("due_on", filter=Q(required=True, status=Status.OPEN)),
    )
    for field, value in counts.items():
        setattr(checklist, field, value)
    customer = checklist.customer
    running = checklist.status == Checklist.Status.IN_PROGRESS
    if running and counts["required_resolved"] >= counts["required_total"]:
        checklist.status = Checklist.Status.COMPLETED
        checklist.completed_at = timezone.now()
        if customer.status == Customer.Status.ONBOARDING:
            customer.status = Customer.Status.ACTIVE
            customer.customer_since = customer.customer_since or timezone.localdate()
    elif (
        checklist.status == Checklist.Status.COMPLETED
        and counts["required_resolved"] < counts["required_total"]
    ):
        checklist.status = Checklist.Status.IN_PROGRESS  # a step was reopened
        checklist.completed_at = None
    checklist.save()
    in_progress = checklist.status == Checklist.Status.IN_PROGRESS
    customer.onboarding_percent = checklist.percent if in_progress else None
    customer.save(update_fields=["status", "customer_since", "onboarding_percent", "updated_at"])
    if running and checklist.status == Checklist.Status.COMPLETED:
        onboarding_completed.send(sender=Checklist, checklist=checklist, customer=customer)
    return checklist


@transaction.atomic
def step_complete(*, step: ChecklistStep, user=None, by_customer: bool = False) -> ChecklistStep:
    if step.status != Status.OPEN:
        return step  # ticking twice (double click, two tabs) changes nothing
    step.status = Status.DONE
    step.completed_at = timezone.now()
    step.completed_by = user
    step.completed_by_customer = by_customer
    step.save()
    refresh_progress(step.checklist)
    return step


@transaction.atomic
def step_skip(*, step: ChecklistStep, user, reason: str) -> ChecklistStep:
    reason = reason.strip()
    if not reason:
        raise ValidationError(_("Say why the step is skipped."))
    if step.status != Status.OPEN:
        raise ValidationError(_("Only an open step can be skipped."))
    step.status = Status.SKIPPED
    step.completed_at = timezone.now()
    step.completed_by = user
    step.skip_reason = reason[:200]
    step.save()
    refresh_progress(step.checklist)
    return step


@transaction.atomic
def step_reopen(*, step: ChecklistStep, user) -> ChecklistStep:
    step.status = Status.OPEN
    step.completed_at = None
    step.completed_by = None
    step.completed_by_customer = False
    step.skip_reason = ""
    step.save()
    refresh_progress(step.checklist)
    return step


@transaction.atomic
def checklist_cancel(*, checklist: Checklist) -> Checklist:
    checklist.status = Checklist.Status.CANCELLED
    checklist.save(update_fields=["status"])
    Customer.objects.filter(pk=checklist.customer_id).update(onboarding_percent=None)
    return checklist


def is_stalled(checklist: Checklist, today: date, days: int) -> bool:
    """Stalled: a required step overdue for more than `days` (see stall_days())."""
    return (
        checklist.status == Checklist.Status.IN_PROGRESS
        and checklist.next_due_on is not None
        and (today - checklist.next_due_on).days > days
    )


def stalled_q(today: date, days: int) -> Q:
    """is_stalled as a condition on Checklist rows, for counts and the overview's filter."""
    return Q(status=Checklist.Status.IN_PROGRESS, next_due_on__lt=today - timedelta(days=days))


def is_overdue(checklist: Checklist, today: date | None = None) -> bool:
    today = today or timezone.localdate()
    return checklist.next_due_on is not None and checklist.next_due_on < today


def auto_start(customer: Customer) -> Checklist | None:
    """Start the matching template for a customer entering onboarding, if there is one."""
    if Checklist.objects.filter(customer=customer, status=Checklist.Status.IN_PROGRESS).exists():
        return None
    template = template_for(customer)
    if template is None or not template.steps.exists():
        return None
    return checklist_start(customer=customer, template=template)


def start_many(customer_ids: list[int]) -> int:
    """auto_start for many customers at once (a CSV import): the ones in onboarding who
    never had a checklist get the matching template, in a few queries for all of them.

    Set-based like the import itself; a template without required steps completes at
    once, which auto_start handles one customer at a time. Returns how many started.
    """
    templates = list(
        ChecklistTemplate.objects.filter(Q(is_default=True) | ~Q(plan="")).prefetch_related("steps")
    )
    if not templates or not customer_ids:
        return 0
    today = timezone.localdate()
    started = 0
    for chunk in (customer_ids[i : i + 1000] for i in range(0, len(customer_ids), 1000)):
        customers = (
            Customer.objects.filter(pk__in=chunk, status=Customer.Status.ONBOARDING)
            .exclude(checklists__isnull=False)
            .only("pk", "plan")
        )
        checklists, one_by_one = [], []
        for customer in customers:
            template = pick_template(customer, templates)
            steps = list(template.steps.all()) if template else []
            required = [step for step in steps if step.required]
            if not required:
                if steps:
                    one_by_one.append(customer)
                continue
            first_due = min(step.due_offset_days for step in required)
            checklists.append(
                Checklist(
                    customer=customer,
                    template=template,
                    name=template.name,
                    started_on=today,
                    required_total=len(required),
                    optional_total=len(steps) - len(required),
                    next_due_on=today + timedelta(days=first_due),
                )
            )
        Checklist.objects.bulk_create(checklists)
        ChecklistStep.objects.bulk_create(
            step for checklist in checklists for step in _copied_steps(checklist, today)
        )
        Customer.objects.filter(pk__in=[c.customer_id for c in checklists]).update(
            onboarding_percent=0, updated_at=timezone.now()
        )
        for customer in one_by_one:
            auto_start(customer)
        started += len(checklists) + len(one_by_one)
    return started


FIGURES_CACHE_SECONDS = 600


def cached_completion_figures(*, since: date) -> dict:
    """completion_figures for the overview, recomputed at most every ten minutes: they
    aggregate every checklist of the year, and the overview is opened all day long."""
    return cache.get_or_set(
        f"onboarding-figures:{since.isoformat()}",
        lambda: completion_figures(since=since),
        FIGURES_CACHE_SECONDS,
    )


def counted_checklists() -> QuerySet:
    """The checklists the figures count: every one started, but the cancelled ones (a
    checklist cancelled to start another would count the customer twice)."""
    return Checklist.objects.exclude(status=Checklist.Status.CANCELLED)


def days_to_complete() -> CombinedExpression:
    """Days from the start to the completion day (business time zone), as a duration."""
    return TruncDate("completed_at") - F("started_on")


class _Median(Aggregate):
    function = "PERCENTILE_CONT"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def median_days_to_complete(completed: QuerySet) -> float | None:
    """The median of days_to_complete over these completed checklists; None if none.

    PostgreSQL computes it (percentile_cont: the mean of the two middle values of an
    even count, like statistics.median); elsewhere (SQLite) it is computed here.
    """
    completed = completed.filter(completed_at__isnull=False)
    if connection.vendor == "postgresql":
        median = completed.aggregate(
            median=_Median(days_to_complete(), output_field=DurationField())
        )["median"]
        return None if median is None else median.total_seconds() / 86400
    durations = [
        (timezone.localdate(done) - start).days
        for start, done in completed.values_list("started_on", "completed_at")
    ]
    return float(statistics.median(durations)) if durations else None


def completion_figures(*, since: date | None = None) -> dict:
    """Share completing, median days to complete, and where running checklists are stuck."""
    started = counted_checklists()
    if since:
        started = started.filter(started_on__gte=since)
    counts = started.aggregate(
        total=Count("id"), completed=Count("id", filter=Q(status=Checklist.Status.COMPLETED))
    )
    total = counts["total"]
    completed = started.filter(status=Checklist.Status.COMPLETED)
    first_open = (
        ChecklistStep.objects.filter(checklist=OuterRef("pk"), required=True, status=Status.OPEN)
        .order_by("position", "id")
        .values("title")[:1]
    )
    stuck = (
        started.filter(status=Checklist.Status.IN_PROGRESS)
        .annotate(stuck_at=Subquery(first_open))
        .exclude(stuck_at=None)
        .values("stuck_at")
        .annotate(customers=Count("id"))
        .order_by("-customers", "stuck_at")
    )
    return {
        "started": total,
        "completed": counts["completed"],
        "completion_rate": round(100 * counts["completed"] / total, 1) if total else None,
        "median_days": median_days_to_complete(completed),
        "stuck_steps": [(row["stuck_at"], row["customers"]) for row in stuck[:5]],
    }
