"""The retention work's effect: at-risk cases opened, saved and lost, and what worked.

What opens and ends a case is defined in retention/risk/cases.py (RiskEvent rows:
a rise into medium or high, a resolution saved or lost in the queue), which the
queue's list of the customers behind each figure reads too.

"What was done" for a resolved case is what is recorded between its opening and its
resolution: outbound calls, emails and meetings logged by staff, a follow-up email
sent (by a rule or by staff), a coupon redeemed or used. A case can count under several
actions, or under "nothing recorded". Each figure is one query over the period's
resolutions with an EXISTS per action, never a query per case.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import (
    Count,
    DateTimeField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce, NullIf
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from customers.models import Interaction
from retention.loyalty.models import Coupon
from retention.outreach.models import OutgoingEmail
from retention.risk import cases
from retention.risk.cases import RESOLUTIONS
from retention.risk.models import CustomerRisk, RiskEvent

from .periods import Period
from .scope import Scope

# A resolution with no opening on record (a case from before events were kept, or
# opened by an import) looks back this far for what was done.
WINDOW_WITHOUT_OPENING = timedelta(days=90)

FOLLOW_UP, COUPON, NOTHING = "follow_up", "coupon", "nothing"
# The actions, in the order the dashboard lists them; the first three are outreach
# logged as interactions of that kind.
ACTIONS = {
    Interaction.Kind.CALL.value: _("Call"),
    Interaction.Kind.EMAIL.value: _("Email (logged)"),
    Interaction.Kind.MEETING.value: _("Meeting"),
    FOLLOW_UP: _("Follow-up email sent"),
    COUPON: _("Coupon redeemed"),
    NOTHING: _("Nothing recorded"),
}
OUTREACH_KINDS = tuple(ACTIONS)[:3]


def save_rate(saved: int, lost: int) -> float | None:
    """Saved as a percent of the resolved cases; None when none was resolved."""
    return round(100 * saved / (saved + lost), 1) if saved + lost else None


@dataclass(frozen=True)
class ActionEffect:
    action: str  # a key of ACTIONS
    label: str
    cases: int  # cases resolved in the period with this action in their window
    saved: int
    lost: int
    save_rate: float | None


@dataclass(frozen=True)
class RetentionEffect:
    opened: int
    saved: int
    lost: int
    save_rate: float | None
    # The monthly value of the customers saved in the period (each once).
    value_saved: Decimal
    by_action: tuple[ActionEffect, ...]


def _in_period(events: QuerySet, scope: Scope, period: Period) -> QuerySet:
    start, end = cases.day_bounds(period.start, period.end)
    return events.filter(scope.q("customer__owner"), occurred_at__gte=start, occurred_at__lt=end)


def resolutions(scope: Scope, period: Period) -> QuerySet:
    """The period's resolutions, each with `opened_at` (its case's opening, or None) and
    `window_start` (the opening, or WINDOW_WITHOUT_OPENING before the resolution)."""
    opening = (
        cases.openings()
        .filter(customer_id=OuterRef("customer_id"), occurred_at__lte=OuterRef("occurred_at"))
        .order_by("-occurred_at", "-id")
        .values("occurred_at")[:1]
    )
    fallback = ExpressionWrapper(
        F("occurred_at") - Value(WINDOW_WITHOUT_OPENING), output_field=DateTimeField()
    )
    return (
        _in_period(RiskEvent.objects.filter(kind__in=RESOLUTIONS), scope, period)
        .annotate(opened_at=Subquery(opening, output_field=DateTimeField()))
        .annotate(window_start=Coalesce(F("opened_at"), fallback, output_field=DateTimeField()))
    )


def _within(field: str) -> dict:
    """`field` between the case's opening and its resolution (both included)."""
    return {f"{field}__gte": OuterRef("window_start"), f"{field}__lte": OuterRef("occurred_at")}


def _actions() -> dict[str, Exists]:
    """Per action: whether the resolved case (the outer row) had it in its window."""
    customer = {"customer_id": OuterRef("customer_id")}
    done = {
        kind: Exists(
            Interaction.objects.filter(
                **customer,
                **_within("occurred_at"),
                kind=kind,
                direction=Interaction.Direction.OUTBOUND,
                recorded_by__isnull=False,  # logged by staff, not imported history
            )
        )
        for kind in OUTREACH_KINDS
    }
    done[FOLLOW_UP] = Exists(
        OutgoingEmail.objects.filter(
            **customer,
            **_within("sent_at"),
            kind__in=OutgoingEmail.CUSTOMER_KINDS,
            status=OutgoingEmail.Status.SENT,
        )
    )
    done[COUPON] = Exists(
        Coupon.objects.filter(customer_id=OuterRef("customer_id")).filter(
            Q(**_within("created_at")) | Q(**_within("used_at"))
        )
    )
    return done


def retention_effect(scope: Scope, period: Period) -> RetentionEffect:
    """Cases opened, saved and lost in the period, and the save rate by action.

    Three queries: the openings; the resolutions grouped by outcome and by which
    actions their cases had (at most 2 x 2^5 groups); the value saved.
    """
    opened = _in_period(cases.openings(), scope, period).count()
    actions = _actions()
    groups = (
        resolutions(scope, period)
        .annotate(**{f"did_{name}": exists for name, exists in actions.items()})
        .values_list("kind", *(f"did_{name}" for name in actions))
        .annotate(count=Count("pk"))
        .order_by()
    )
    names = list(actions)
    tally = {name: [0, 0] for name in [*names, NOTHING]}  # [saved, lost]
    saved = lost = 0
    for kind, *flags, count in groups:
        outcome = 0 if kind == RiskEvent.Kind.SAVED else 1
        if outcome == 0:
            saved += count
        else:
            lost += count
        done = [name for name, flag in zip(names, flags, strict=True) if flag]
        for name in done or [NOTHING]:
            tally[name][outcome] += count
    by_action = tuple(
        ActionEffect(
            action=name,
            label=str(ACTIONS[name]),
            cases=tally[name][0] + tally[name][1],
            saved=tally[name][0],
            lost=tally[name][1],
            save_rate=save_rate(*tally[name]),
        )
        for name in ACTIONS
    )
    return RetentionEffect(
        opened=opened,
        saved=saved,
        lost=lost,
        save_rate=save_rate(saved, lost),
        value_saved=_value_saved(scope, period),
        by_action=by_action,
    )


def _value_saved(scope: Scope, period: Period) -> Decimal:
    """The monthly value of the customers saved in the period, each counted once.

    CustomerRisk.value is the value the case was about: the plan's monthly value, or
    a shop customer's average monthly spend, which the plan field does not have. It
    is as of the last night; a customer no longer scored (churned or archived since)
    has 0 there, and their plan's monthly value stands in.
    """
    saved = _in_period(
        RiskEvent.objects.filter(kind=RiskEvent.Kind.SAVED, customer_id=OuterRef("customer_id")),
        Scope(),  # the outer query is scoped
        period,
    )
    total = CustomerRisk.objects.filter(scope.q("customer__owner"), Exists(saved)).aggregate(
        value=Sum(
            Coalesce(NullIf("value", Value(Decimal(0))), "customer__monthly_value"),
            output_field=DecimalField(max_digits=14, decimal_places=2),
        )
    )["value"]
    return (total or Decimal(0)).quantize(Decimal("0.01"))


def cases_url(scope: Scope, period: Period, which: str) -> str:
    """The page listing the customers behind a figure: `which` is cases.OPENED, SAVED or LOST.

    The at-risk queue in its cases mode (risk/views.py): the customer list cannot
    filter by risk (customers knows nothing of retention). `owner` as the queue reads
    it: an id, or empty for everyone (admins only; a manager's own id shows theirs).
    """
    query = {
        "cases": which,
        "from": period.start.isoformat(),
        "to": period.end.isoformat(),
        "owner": "" if scope.is_everyone else str(scope.owner_id),
    }
    return f"{reverse('retention:queue')}?{urlencode(query)}"
