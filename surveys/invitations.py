"""Survey invitations: created, delivered by email, reminded, and consumed once.

An invitation is a row written in the same transaction as its cause (staff
sending, the NPS schedule, a customer churning); the email goes out from a Celery
task enqueued on commit (surveys.delivery sends it and recovers what a lost task or
a dead worker left). The link's token is random (`secrets.token_urlsafe`) and only
its SHA-256 hash is stored, so a leaked database opens no survey. The token is made
when the email is sent (`delivery.invitation_deliver`), or when staff ask for a link
to copy, and it is never stored in clear anywhere.

A link works once: answering consumes it with one conditional UPDATE
(`invitation_consume`), so two submissions racing each other store one answer.
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.urls import reverse
from django.utils import timezone

from customers.links import BadLink
from customers.models import Customer

from .events import invitations_queued
from .models import Survey, SurveyInvitation

# A customer who churns and cancels in one go gets one exit survey, not two.
EXIT_SURVEY_COOLDOWN_DAYS = 30
# Delivery tasks take this many invitations each (a segment can be thousands).
DELIVERY_BATCH = 200


# --- Tokens ------------------------------------------------------------------


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(token: str) -> str:
    """The absolute link a customer follows (SITE_URL + the public page's path)."""
    return settings.SITE_URL.rstrip("/") + reverse("surveys:answer", args=[token])


def find_invitation(token: str) -> SurveyInvitation:
    """The invitation this token opens, answered or not; BadLink if none or expired.

    An answered invitation is returned even after it expired, so the customer sees
    "already answered" rather than "expired".
    """
    if not token or len(token) > 100:
        raise BadLink()
    digest = token_hash(token)
    invitation = (
        SurveyInvitation.objects.select_related("survey", "customer")
        .filter(Q(token_hash=digest) | Q(reminder_token_hash=digest) | Q(earlier_token_hash=digest))
        .first()
    )
    if invitation is None:
        raise BadLink()
    if invitation.used_at is None and invitation.expires_at <= timezone.now():
        raise BadLink(expired=True)
    return invitation


def invitation_consume(*, invitation: SurveyInvitation, now: datetime | None = None) -> bool:
    """Mark the invitation used, if it still is usable. True for exactly one caller."""
    now = now or timezone.now()
    consumed = SurveyInvitation.objects.filter(
        pk=invitation.pk, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if consumed:
        invitation.used_at = now
    return bool(consumed)


# --- Creating ------------------------------------------------------------------


def _expiry(now: datetime) -> datetime:
    return now + timedelta(days=settings.SURVEY_LINK_DAYS)


def enqueue_delivery(invitation_ids: list[int]) -> None:
    """Have them sent once the transaction commits, in batches of DELIVERY_BATCH.

    surveys.receivers enqueues the task (this module does not import tasks.py, which
    imports it)."""
    for start in range(0, len(invitation_ids), DELIVERY_BATCH):
        invitations_queued.send(
            sender=SurveyInvitation, invitation_ids=invitation_ids[start : start + DELIVERY_BATCH]
        )


@transaction.atomic
def invitation_create(
    *, survey: Survey, customer: Customer, trigger: str, created_by=None
) -> SurveyInvitation:
    """Invite one customer by email; the email leaves after the transaction commits."""
    invitation = SurveyInvitation.objects.create(
        survey=survey,
        customer=customer,
        trigger=trigger,
        created_by=created_by,
        expires_at=_expiry(timezone.now()),
    )
    enqueue_delivery([invitation.pk])
    return invitation


@transaction.atomic
def invitation_link_create(
    *, survey: Survey, customer: Customer, created_by
) -> tuple[SurveyInvitation, str]:
    """An invitation with a link for staff to copy (no email); the link is shown once."""
    token = new_token()
    now = timezone.now()
    invitation = SurveyInvitation.objects.create(
        survey=survey,
        customer=customer,
        trigger=SurveyInvitation.Trigger.LINK,
        status=SurveyInvitation.Status.LINK,
        created_by=created_by,
        token_hash=token_hash(token),
        expires_at=_expiry(now),
        # Handed to staff now: for the figures, that is when it was sent.
        sent_at=now,
    )
    return invitation, survey_url(token)


@dataclass(frozen=True)
class SegmentPlan:
    """Who of a segment would be invited, and who is skipped and why."""

    matching: int
    without_email: int
    recently_invited: int

    @property
    def to_invite(self) -> int:
        return self.matching - self.without_email - self.recently_invited


def _open_invitation(survey: Survey, since: datetime) -> Exists:
    return Exists(
        SurveyInvitation.objects.filter(
            customer=OuterRef("pk"), survey=survey, created_at__gte=since, used_at__isnull=True
        )
    )


def segment_plan(*, survey: Survey, customers: QuerySet) -> SegmentPlan:
    """Counts for the confirmation page (one query)."""
    since = timezone.now() - timedelta(days=settings.SURVEY_LINK_DAYS)
    no_email = Q(email="")
    row = (
        customers.order_by()
        .annotate(open_invitation=_open_invitation(survey, since))
        .aggregate(
            matching=Count("pk"),
            without_email=Count("pk", filter=no_email),
            recently_invited=Count("pk", filter=~no_email & Q(open_invitation=True)),
        )
    )
    return SegmentPlan(**row)


def segment_needs_confirmation(plan: SegmentPlan, *, filtered: bool) -> bool:
    """Whether sending asks "invite N customers?" first: always without a filter (that is
    every customer), and above SURVEY_SEGMENT_CONFIRM_ABOVE invitations. A click on a
    form with the filters left empty must not invite thousands."""
    if plan.to_invite <= 0:
        return False
    return not filtered or plan.to_invite > settings.SURVEY_SEGMENT_CONFIRM_ABOVE


def segment_confirmed(plan: SegmentPlan, confirmed_count: int | None) -> bool:
    """The number confirmed is the number that would be invited now: if more customers
    matched since the page was shown, the sender is asked again."""
    return confirmed_count == plan.to_invite


@transaction.atomic
def invitations_create_for_segment(*, survey: Survey, customers: QuerySet, created_by) -> int:
    """Invite every customer of the segment who has an email and no open invitation
    to this survey from the last link lifetime. Set-based: one INSERT for all."""
    now = timezone.now()
    since = now - timedelta(days=settings.SURVEY_LINK_DAYS)
    ids = list(
        customers.order_by()
        .exclude(email="")
        .exclude(_open_invitation(survey, since))
        .values_list("pk", flat=True)
    )
    return _bulk_invite(survey, ids, SurveyInvitation.Trigger.SEGMENT, now, created_by)


def _bulk_invite(
    survey: Survey, customer_ids: list[int], trigger: str, now: datetime, created_by=None
) -> int:
    if not customer_ids:
        return 0
    created = SurveyInvitation.objects.bulk_create(
        [
            SurveyInvitation(
                survey=survey,
                customer_id=customer_id,
                trigger=trigger,
                created_by=created_by,
                expires_at=_expiry(now),
            )
            for customer_id in customer_ids
        ],
        batch_size=1000,
    )
    ids = [invitation.pk for invitation in created if invitation.pk]
    if len(ids) != len(created):  # backends that do not return ids from bulk INSERT
        ids = list(
            SurveyInvitation.objects.filter(
                survey=survey, customer_id__in=customer_ids, status="pending", created_at__gte=now
            ).values_list("pk", flat=True)
        )
    enqueue_delivery(ids)
    return len(created)


# --- Automatic invitations ----------------------------------------------------------

# Who is asked for an NPS: customers we work with, not leads or churned ones.
NPS_STATUSES = (Customer.Status.ACTIVE, Customer.Status.AT_RISK, Customer.Status.ONBOARDING)
# A new customer is asked once they have been with us this long.
NPS_MIN_TENURE_DAYS = 30


@transaction.atomic
def nps_invitations_schedule(*, now: datetime | None = None) -> int:
    """Invite to the automatic NPS survey every customer not asked for N months.

    Set-based and idempotent: customers with an NPS invitation (any NPS survey)
    newer than the interval are excluded, so a second run the same day adds none.
    """
    months = settings.SURVEY_NPS_EVERY_MONTHS
    survey = Survey.objects.automatic(Survey.Kind.NPS)
    if months <= 0 or survey is None:
        return 0
    now = now or timezone.now()
    since = now - timedelta(days=round(months * 30.44))
    asked_recently = SurveyInvitation.objects.filter(
        customer=OuterRef("pk"), survey__kind=Survey.Kind.NPS, created_at__gte=since
    )
    ids = list(
        Customer.objects.filter(
            status__in=NPS_STATUSES,
            archived_at__isnull=True,
            created_at__lte=now - timedelta(days=NPS_MIN_TENURE_DAYS),
        )
        .exclude(email="")
        .filter(email_unsubscribe__isnull=True)  # see delivery.is_unsubscribed
        .exclude(Exists(asked_recently))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    return _bulk_invite(survey, ids, SurveyInvitation.Trigger.NPS_SCHEDULE, now)


def exit_invitation_create(*, customer: Customer, trigger: str) -> SurveyInvitation | None:
    """Invite a customer who is leaving to the automatic exit survey (once a month at most).

    Called inside the transaction that churned the customer or logged the
    cancellation, so the invitation exists exactly when its cause does.
    """
    if not customer.email or customer.archived_at:
        return None
    survey = Survey.objects.automatic(Survey.Kind.EXIT)
    if survey is None:
        return None
    since = timezone.now() - timedelta(days=EXIT_SURVEY_COOLDOWN_DAYS)
    already = SurveyInvitation.objects.filter(
        customer=customer, survey__kind=Survey.Kind.EXIT, created_at__gte=since
    ).exists()
    unsubscribed = Customer.objects.filter(pk=customer.pk, email_unsubscribe__isnull=False)
    if already or unsubscribed.exists():  # see delivery.is_unsubscribed
        return None
    return invitation_create(survey=survey, customer=customer, trigger=trigger)
