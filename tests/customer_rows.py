"""Every kind of row the app keeps about a customer, built for tests of merging, export
and erasure.

`BUILDERS` has one function per model that points at Customer (a foreign key or a
one-to-one, found by walking apps.get_models()); `CHILDREN` the models that hang off
those (badges on the points account, a checklist's steps, a response's answers). Tests
assert that these cover every such model, so a model added later fails them until it
has a builder here (and, if it has a unique constraint with the customer, a merge rule).

Two customers built with the same `Given` collide on every unique constraint that
includes the customer: the same risk day, usage day and event, a running checklist
each, a points account, risk row and unsubscribe each, the same badge.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

from django.apps import apps
from django.utils import timezone

from customers import membership, services
from customers.models import (
    Customer,
    Interaction,
    StatusChange,
    UsageDay,
)
from retention.loyalty import ledger, redemption
from retention.models import (
    CustomerBadge,
    CustomerRisk,
    EmailUnsubscribe,
    LoyaltySettings,
    Notification,
    OutgoingEmail,
    PointsAccount,
    RiskEvent,
    RiskSnapshot,
)
from retention.onboarding import checklists
from surveys.models import Answer, SurveyResponse

from .factories import ChecklistTemplateFactory, RewardFactory, UserFactory
from .factories_surveys import invitation_with_token, nps_survey

DAY = date(2026, 11, 20)


@dataclass
class Given:
    """What the customers' rows share (so they collide), made once per test."""

    staff: object
    survey: object
    reward: object
    template: object
    day: date = DAY
    made: dict = field(default_factory=dict)

    @classmethod
    def make(cls) -> "Given":
        settings = LoyaltySettings.load()
        settings.purchases_since = date(2000, 1, 1)
        settings.save()
        return cls(
            staff=UserFactory(role="Account manager"),
            survey=nps_survey(),
            reward=RewardFactory(points_price=10),
            template=ChecklistTemplateFactory(),
        )


def _interactions(customer: Customer, given: Given) -> None:
    services.interaction_log(
        customer=customer,
        recorded_by=given.staff,
        kind=Interaction.Kind.CALL,
        subject=f"Call with {customer.name}",
        body=f"Rang {customer.phone}, wrote to {customer.email}",
    )
    # A purchase: an amount the revenue figures count, and points earned for it.
    services.interaction_log(
        customer=customer,
        recorded_by=given.staff,
        kind=Interaction.Kind.PURCHASE,
        subject="Annual plan",
        amount=Decimal("120.00"),
        external_id=f"order-{customer.pk}",
    )


def _status_changes(customer: Customer, given: Given) -> None:
    StatusChange.objects.create(
        customer=customer, from_status="active", to_status="at_risk", changed_on=given.day
    )


def _spells(customer: Customer, given: Given) -> None:
    membership.rebuild(customer_ids=[customer.pk])


def _usage(customer: Customer, given: Given) -> None:
    UsageDay.objects.create(customer=customer, day=given.day, event="logged in", count=3)
    UsageDay.objects.create(
        customer=customer, day=given.day - timedelta(days=customer.pk % 5 + 1), event="x", count=1
    )


def _points(customer: Customer, given: Given) -> None:
    ledger.points_earn(
        customer=customer, points=100, reason="Welcome", source_key=f"test:{customer.pk}"
    )
    account = PointsAccount.objects.get(customer=customer)
    CustomerBadge.objects.get_or_create(account=account, kind=CustomerBadge.Kind.FIRST_PURCHASE)


def _coupons(customer: Customer, given: Given) -> None:
    redemption.reward_redeem(customer=customer, reward=given.reward)


def _checklists(customer: Customer, given: Given) -> None:
    running = checklists.running_checklist(customer)
    if running is None:
        checklists.checklist_start(customer=customer, template=given.template)


def _risk(customer: Customer, given: Given) -> None:
    CustomerRisk.objects.update_or_create(
        customer=customer,
        defaults={
            "score": 40 + customer.pk % 10,
            "level": "medium",
            "computed_for": given.day,
            "level_since": given.day,
            "flags": [{"key": "silence", "strength": 0.5, "contribution": 10}],
        },
    )


def _snapshots(customer: Customer, given: Given) -> None:
    RiskSnapshot.objects.create(customer=customer, as_of=given.day, score=40, level="medium")
    RiskSnapshot.objects.create(
        customer=customer,
        as_of=given.day - timedelta(days=customer.pk % 5 + 1),
        score=30,
        level="medium",
    )


def _risk_events(customer: Customer, given: Given) -> None:
    RiskEvent.objects.create(
        customer=customer,
        kind=RiskEvent.Kind.LEVEL_UP,
        occurred_at=timezone.now(),
        from_level="low",
        to_level="medium",
        summary=f"{customer.name} went quiet",
    )


def _notifications(customer: Customer, given: Given) -> None:
    Notification.objects.create(
        recipient=given.staff, customer=customer, message=f"{customer.name}'s risk rose"
    )


def _emails(customer: Customer, given: Given) -> None:
    OutgoingEmail.objects.create(
        customer=customer,
        kind=OutgoingEmail.Kind.MANUAL,
        to_email=customer.email,
        idempotency_key=f"manual:{customer.pk}",
        status=OutgoingEmail.Status.SENT,
        subject=f"Hello {customer.name}",
        body_text=f"Dear {customer.name}, call us back on {customer.phone}",
        body_html=f"<p>Dear {customer.name}</p>",
        sent_at=timezone.now(),
    )


def _unsubscribes(customer: Customer, given: Given) -> None:
    EmailUnsubscribe.objects.create(customer=customer, source=EmailUnsubscribe.Source.LINK)


def _survey_invitations(customer: Customer, given: Given) -> None:
    invitation, _token = invitation_with_token(survey=given.survey, customer=customer)
    given.made.setdefault("invitations", {})[customer.pk] = invitation


def _survey_responses(customer: Customer, given: Given) -> None:
    invitation = given.made["invitations"][customer.pk]
    response = SurveyResponse.objects.create(
        invitation=invitation,
        survey=given.survey,
        customer=customer,
        language="en",
        submitted_at=timezone.now(),
        nps_score=9,
    )
    scale, why = given.survey.questions.order_by("position")
    Answer.objects.create(response=response, question=scale, number=9)
    Answer.objects.create(response=response, question=why, text=f"I am {customer.name}")


# In this order: responses need the invitations, coupons the points.
BUILDERS = {
    "customers.Interaction": _interactions,
    "customers.StatusChange": _status_changes,
    "customers.MembershipSpell": _spells,
    "customers.UsageDay": _usage,
    "retention.PointsAccount": _points,
    "retention.PointsEntry": _points,
    "retention.Coupon": _coupons,
    "retention.Checklist": _checklists,
    "retention.CustomerRisk": _risk,
    "retention.RiskSnapshot": _snapshots,
    "retention.RiskEvent": _risk_events,
    "retention.Notification": _notifications,
    "retention.OutgoingEmail": _emails,
    "retention.EmailUnsubscribe": _unsubscribes,
    "surveys.SurveyInvitation": _survey_invitations,
    "surveys.SurveyResponse": _survey_responses,
}

# Models reaching the customer through one of the above (built with it).
CHILDREN = {
    "retention.CustomerBadge": ("account", "customer"),
    "retention.ChecklistStep": ("checklist", "customer"),
    "surveys.Answer": ("response", "customer"),
}


def build_all(customer: Customer, given: Given) -> None:
    """Every kind of row for `customer` (a builder listed twice runs once)."""
    done = set()
    for builder in BUILDERS.values():
        if builder not in done:
            builder(customer, given)
            done.add(builder)


def models_pointing_at_customer() -> set[str]:
    return {
        model._meta.label
        for model in apps.get_models()
        for f in model._meta.concrete_fields
        if f.is_relation and f.related_model is Customer
    }


def models_hanging_off(labels: set[str]) -> set[str]:
    """Models with a foreign key to one of `labels`' models that is their parent (a
    cascade: the child exists for that row only)."""
    targets = {apps.get_model(label) for label in labels}
    found = set()
    for model in apps.get_models():
        for f in model._meta.concrete_fields:
            if (
                f.is_relation
                and f.related_model in targets
                and model._meta.label not in labels
                and getattr(f.remote_field, "on_delete", None).__name__ == "CASCADE"
            ):
                found.add(model._meta.label)
    return found


def rows_of(customer_id: int) -> dict[str, int]:
    """How many rows of each model belong to the customer (children through parents)."""
    counts = {}
    for label in BUILDERS:
        model = apps.get_model(label)
        counts[label] = model._default_manager.filter(customer_id=customer_id).count()
    for label, (parent, _customer) in CHILDREN.items():
        model = apps.get_model(label)
        counts[label] = model._default_manager.filter(
            **{f"{parent}__customer_id": customer_id}
        ).count()
    return counts
