"""The at-risk queue: who is open, and what an account manager does about them."""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404, HttpRequest
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _

from audit.log import record
from audit.models import AuditEntry
from customers import access
from customers.models import Customer, Interaction
from customers.services import interaction_log

from .models import CustomerRisk, RiskEvent, RiskLevel

MAX_SNOOZE_DAYS = 90


def _is_open(today: date | None) -> Q:
    today = today or timezone.localdate()
    return Q(
        Q(level__in=[RiskLevel.MEDIUM, RiskLevel.HIGH], resolved_at__isnull=True),
        ~Q(snoozed_until__gt=today),
    )


def open_cases(*, today: date | None = None) -> QuerySet:
    """Customers at medium or high risk, not snoozed, not resolved: most value at risk first.

    Expected loss (probability x monthly value) first, so a likely loss of a large
    account comes before a certain loss of a small one; then the probability, the
    plan's monthly value and the id, so the order is total and pages are stable. The
    first two are the partial index risk_open_cases_idx: PostgreSQL reads open cases
    in that order and sorts only the few rows that tie on both (an incremental sort).
    """
    return (
        CustomerRisk.objects.filter(_is_open(today), customer__archived_at__isnull=True)
        .select_related("customer", "customer__owner", "customer__company")
        .order_by("-expected_loss", "-score", "-customer__monthly_value", "customer_id")
    )


def open_cases_to_count(*, today: date | None = None) -> QuerySet:
    """The same cases as open_cases(), for counting them.

    "Not archived" as NOT EXISTS over the few archived customers (a small partial
    index, migration 0005_perf) rather than a join: the count then never visits the
    ~100,000 current customers. The page's rows keep the join, which they need for
    the order anyway and which gives PostgreSQL a steadier plan for them.
    """
    archived = Customer.objects.filter(pk=OuterRef("customer_id"), archived_at__isnull=False)
    return CustomerRisk.objects.filter(_is_open(today), ~Exists(archived))


@contextmanager
def serial_plans() -> Iterator[None]:
    """Queries inside run without parallel workers (PostgreSQL; elsewhere a no-op).

    A queue page reads at most a few thousand index entries, and depending on fresh
    statistics PostgreSQL sometimes planned it in parallel: starting the worker
    cost more than the whole serial plan (bench: ~100 ms against ~20 ms, page 50).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


def can_work_queue(user) -> bool:
    return access.is_admin(user) or access.is_account_manager(user)


def get_case_for_user(user, customer_id: int) -> CustomerRisk:
    """The risk case of a customer the user may act on (admin, or the customer's manager)."""
    if not can_work_queue(user):
        raise Http404
    risk = get_object_or_404(
        CustomerRisk.objects.select_related("customer", "customer__owner"), customer_id=customer_id
    )
    if not access.can_change_customer(user, risk.customer):
        raise PermissionDenied(_("Only this customer's account manager or an admin can do this."))
    return risk


def _event(risk: CustomerRisk, kind: str, user, summary: str = "") -> None:
    RiskEvent.objects.create(
        customer_id=risk.customer_id,
        kind=kind,
        occurred_at=timezone.now(),
        score=risk.score,
        to_level=risk.level,
        summary=summary,
        actor=user,
    )


# At most this many cases in one bulk assignment: a page of the queue is 25.
MAX_BULK_CASES = 100


@transaction.atomic
def cases_assign(
    *, customer_ids: Sequence[int], owner, by, request: HttpRequest | None = None
) -> list[CustomerRisk]:
    """Give these customers (and so their cases) to `owner`: all of them or none.

    Claiming is assigning to oneself. Each case is checked as a single action would be:
    an id without a case is a 404, a customer `by` may not change a 403, and only an
    admin assigns to someone else; any refusal changes nothing. One audit entry (ids
    only) and one claimed event per case, in a fixed number of queries.
    """
    ids = sorted(set(customer_ids))
    if not ids:
        raise ValidationError(_("Choose at least one case."))
    if len(ids) > MAX_BULK_CASES:
        raise ValidationError(
            _("Assign at most %(count)s cases at once.") % {"count": MAX_BULK_CASES}
        )
    if owner != by and not access.is_admin(by):
        raise PermissionDenied(_("Only an admin can assign a customer to someone else."))
    if not (access.is_admin(owner) or access.is_account_manager(owner)):
        raise ValidationError(_("Customers can only be assigned to account managers or admins."))
    risks = list(
        CustomerRisk.objects.select_related("customer", "customer__owner")
        .filter(customer_id__in=ids)
        .order_by("customer_id")
    )
    if len(risks) != len(ids):
        raise Http404
    for risk in risks:
        if not access.can_change_customer(by, risk.customer):
            raise PermissionDenied(
                _("Only this customer's account manager or an admin can do this.")
            )
    now = timezone.now()
    Customer.objects.filter(pk__in=ids).update(owner=owner, updated_at=now)
    name = owner.get_full_name() or owner.get_username()
    summary = _("Assigned to %(name)s") % {"name": name}
    RiskEvent.objects.bulk_create(
        RiskEvent(
            customer_id=risk.customer_id,
            kind=RiskEvent.Kind.CLAIMED,
            occurred_at=now,
            score=risk.score,
            to_level=risk.level,
            summary=summary,
            actor=by,
        )
        for risk in risks
    )
    for risk in risks:
        risk.customer.owner = owner
    record(
        AuditEntry.Action.QUEUE_ASSIGNED,
        request=request,
        user=by,
        target=risks[0].customer if len(risks) == 1 else None,
        details={"owner": owner.pk, "customers": ids, "count": len(ids)},
    )
    return risks


def case_assign(
    *, risk: CustomerRisk, owner, by, request: HttpRequest | None = None
) -> CustomerRisk:
    """One case's claim or assignment (see cases_assign)."""
    (assigned,) = cases_assign(customer_ids=[risk.customer_id], owner=owner, by=by, request=request)
    risk.customer.owner = assigned.customer.owner
    return risk


@transaction.atomic
def case_log_outreach(
    *, risk: CustomerRisk, user, kind: str, subject: str, body: str = ""
) -> Interaction:
    interaction = interaction_log(
        customer=risk.customer,
        recorded_by=user,
        kind=kind,
        direction=Interaction.Direction.OUTBOUND,
        subject=subject,
        body=body,
        occurred_at=timezone.now(),
    )
    CustomerRisk.objects.filter(pk=risk.pk).update(last_outreach_at=interaction.occurred_at)
    risk.last_outreach_at = interaction.occurred_at
    return interaction


@transaction.atomic
def case_snooze(*, risk: CustomerRisk, until: date, user) -> CustomerRisk:
    today = timezone.localdate()
    if until <= today:
        raise ValidationError(_("Snooze until a day in the future."))
    if until > today + timedelta(days=MAX_SNOOZE_DAYS):
        raise ValidationError(_("Snooze for at most %(days)s days.") % {"days": MAX_SNOOZE_DAYS})
    risk.snoozed_until = until
    risk.save(update_fields=["snoozed_until"])
    _event(risk, RiskEvent.Kind.SNOOZED, user, _("Until %(date)s") % {"date": until.isoformat()})
    return risk


@transaction.atomic
def case_resolve(*, risk: CustomerRisk, outcome: str, reason: str, user) -> CustomerRisk:
    """Saved: out of the queue until the risk rises. Lost: the customer churns today."""
    reason = reason.strip()
    if outcome not in CustomerRisk.Resolution.values:
        raise ValidationError(_("Choose saved or lost."))
    if outcome == CustomerRisk.Resolution.LOST and not reason:
        raise ValidationError(_("Say why the customer was lost."))
    risk.resolution = outcome
    risk.resolution_reason = reason
    risk.resolved_at = timezone.now()
    risk.save(update_fields=["resolution", "resolution_reason", "resolved_at"])
    customer = risk.customer
    if outcome == CustomerRisk.Resolution.LOST:
        customer.status = Customer.Status.CHURNED
        customer.churned_on = timezone.localdate()
        customer.churn_reason = reason[:200]
        customer.save(update_fields=["status", "churned_on", "churn_reason", "updated_at"])
        kind = RiskEvent.Kind.LOST
    else:
        if customer.status == Customer.Status.AT_RISK:
            customer.status = Customer.Status.ACTIVE
            customer.save(update_fields=["status", "updated_at"])
        kind = RiskEvent.Kind.SAVED
    _event(risk, kind, user, reason)
    return risk
