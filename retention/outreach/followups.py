"""Which follow-ups to queue, to whom, and when: rules, cadence caps, quiet hours, consent.

After the nightly risk run, `queue_rule_followups` turns every active rule into
outgoing-email rows, set-based (a handful of queries per rule, whatever the
number of customers) and idempotent: each row's key is (rule, customer, day), so
running it twice queues nothing new. Within one run a customer gets at most one
follow-up (the matching rule with the lowest priority number wins).

Who may be written to, and when, is cadence.py's concern (consent, caps, quiet hours).
"""

from datetime import date, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import DateField, QuerySet, Value
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.models import Customer
from retention.risk.models import LEVEL_RANK, CustomerRisk, RiskEvent

from .cadence import (
    ACTIVE_STATUSES,
    cadence,
    capped_customers,
    next_allowed_time,
    reachable,
    why_not_reachable,
)
from .events import emails_queued
from .models import EmailTemplate, EmailUnsubscribe, FollowUpRule, OutgoingEmail
from .outbox import email_queue

# Triggers that fire on a day after an event (churn, a missed purchase) match for this
# many days, so a missed night still finds the customer; the key keeps it to one email.
GRACE_DAYS = 7


def _customers_with_flag(key: str) -> QuerySet | list[int]:
    """Customers whose current reasons include `key`, flagged (strong and adding risk).

    A reason that is there but weak, or that lowers the risk, is not a flag: a
    customer who complained once a year ago is not written an apology.
    """
    risks = CustomerRisk.objects.all()
    if connection.features.supports_json_field_contains:
        return risks.filter(flags__contains=[{"key": key, "flagged": True}]).values("customer_id")
    # SQLite: JSON containment is not supported; the text of the key is a fine pre-filter,
    # confirmed in Python.
    candidates = risks.filter(flags__icontains=f'"{key}"').values_list("customer_id", "flags")
    return [
        cid
        for cid, flags in candidates
        if any(f.get("key") == key and f.get("flagged") is True for f in flags)
    ]


def rule_candidates(rule: FollowUpRule, as_of: date) -> QuerySet:
    """Customers `rule` applies to on `as_of` (reachability and caps are checked later)."""
    customers = Customer.objects.all()
    if rule.trigger == FollowUpRule.Trigger.LEVEL_RISE:
        levels = [lvl for lvl, rank in LEVEL_RANK.items() if rank >= LEVEL_RANK[rule.min_level]]
        risen = RiskEvent.objects.filter(
            kind=RiskEvent.Kind.LEVEL_UP, to_level__in=levels, occurred_at__date=as_of
        ).values("customer_id")
        return customers.filter(pk__in=risen)
    if rule.trigger == FollowUpRule.Trigger.FLAG:
        return customers.filter(pk__in=_customers_with_flag(rule.flag_key)).exclude(
            status=Customer.Status.CHURNED
        )
    if rule.trigger == FollowUpRule.Trigger.WIN_BACK:
        latest = as_of - timedelta(days=rule.days_after_churn)
        return customers.filter(
            status=Customer.Status.CHURNED,
            churned_on__lte=latest,
            churned_on__gt=latest - timedelta(days=GRACE_DAYS),
        )
    if rule.trigger == FollowUpRule.Trigger.PURCHASE_OVERDUE:
        # Due `days_overdue` days after the day they would normally have bought again.
        latest = as_of - timedelta(days=rule.days_overdue)
        return customers.filter(
            risk__expected_purchase_on__lte=latest,
            risk__expected_purchase_on__gt=latest - timedelta(days=GRACE_DAYS),
            archived_at__isnull=True,
        ).exclude(status=Customer.Status.CHURNED)
    return customers.none()


# The date that makes one occurrence of a trigger: one email per churn, per missed purchase.
EPISODE_FIELDS = {
    FollowUpRule.Trigger.WIN_BACK: "churned_on",
    FollowUpRule.Trigger.PURCHASE_OVERDUE: "risk__expected_purchase_on",
}


def rule_key(rule: FollowUpRule, customer_id: int, as_of: date, episode: date | None = None) -> str:
    """The follow-up's idempotency key: per day, or per episode (`EPISODE_FIELDS`) where the
    trigger stays true for several nights."""
    if rule.trigger == FollowUpRule.Trigger.WIN_BACK and episode:
        return f"rule:{rule.pk}:customer:{customer_id}:churned:{episode.isoformat()}"
    if rule.trigger == FollowUpRule.Trigger.PURCHASE_OVERDUE and episode:
        return f"rule:{rule.pk}:customer:{customer_id}:purchase_due:{episode.isoformat()}"
    return f"rule:{rule.pk}:customer:{customer_id}:{as_of.isoformat()}"


@transaction.atomic
def queue_rule_followups(*, as_of: date | None = None, now: datetime | None = None) -> int:
    """Queue today's follow-ups for every active rule; returns how many were queued."""
    now = now or timezone.now()
    as_of = as_of or timezone.localdate(now)
    rules = cadence()
    due = next_allowed_time(now, rules)
    chosen: dict[int, tuple[FollowUpRule, str, str]] = {}  # customer → (rule, key, email)
    for rule in FollowUpRule.objects.filter(active=True).select_related("template"):
        candidates = reachable(rule_candidates(rule, as_of))
        # One email per customer from a rule per `repeat_after_days`.
        recently = OutgoingEmail.objects.filter(
            rule=rule,
            status__in=ACTIVE_STATUSES,
            created_at__gte=now - timedelta(days=rule.repeat_after_days),
        ).values("customer_id")
        episode = EPISODE_FIELDS.get(rule.trigger)
        rows = candidates.exclude(pk__in=recently).values_list(
            "pk", "email", episode or Value(None, output_field=DateField())
        )
        for customer_id, email, day in rows:
            if customer_id in chosen:
                continue  # an earlier (higher-priority) rule already writes to them
            chosen[customer_id] = (rule, rule_key(rule, customer_id, as_of, day), email)
    capped = capped_customers(list(chosen), now=now, rules=rules)
    wanted = {cid: value for cid, value in chosen.items() if cid not in capped}
    keys = [key for _rule, key, _email in wanted.values()]
    existing = set(
        OutgoingEmail.objects.filter(idempotency_key__in=keys).values_list(
            "idempotency_key", flat=True
        )
    )
    new = [
        OutgoingEmail(
            customer_id=customer_id,
            kind=OutgoingEmail.Kind.FOLLOW_UP,
            rule=rule,
            template_id=rule.template_id,
            to_email=email,
            idempotency_key=key,
            next_attempt_at=due,
            created_at=now,
        )
        for customer_id, (rule, key, email) in wanted.items()
        if key not in existing
    ]
    # ignore_conflicts: a concurrent run that queued the same key first wins, silently.
    OutgoingEmail.objects.bulk_create(new, ignore_conflicts=True, batch_size=1000)
    if new:
        emails_queued.send(sender=OutgoingEmail)
    return len(new)


def followup_send_manual(
    *, customer: Customer, template: EmailTemplate, user, now: datetime | None = None
) -> OutgoingEmail:
    """Queue `template` to `customer` now (quiet hours permitting), sent by `user`.

    A second click the same day for the same template queues nothing new.
    """
    reason = why_not_reachable(customer)
    if reason:
        raise ValidationError(reason)
    if not template.translations.exists():
        raise ValidationError(_("This template has no text yet."))
    now = now or timezone.now()
    key = f"manual:{template.pk}:customer:{customer.pk}:{timezone.localdate(now).isoformat()}"
    email = email_queue(
        customer=customer,
        kind=OutgoingEmail.Kind.MANUAL,
        key=key,
        to_email=customer.email,
        template=template,
        created_by=user,
        due=next_allowed_time(now),
    )
    if email is None:
        raise ValidationError(_("This follow-up was already queued today."))
    return email


def queue_owner_notices(rises: list[tuple[int, str]], *, as_of: date) -> int:
    """Email each account manager whose customer's risk rose (staff mail: no cadence).

    `rises` is [(customer_id, new level)]; called inside the risk chunk's transaction.
    """
    if not rises:
        return 0
    owners = {
        pk: (owner_id, owner_email)
        for pk, owner_id, owner_email in Customer.objects.filter(
            pk__in=[cid for cid, _level in rises], owner__isnull=False
        )
        .exclude(owner__email="")
        .values_list("pk", "owner_id", "owner__email")
    }
    rows = [
        OutgoingEmail(
            customer_id=customer_id,
            kind=OutgoingEmail.Kind.STAFF_NOTICE,
            recipient_user_id=owners[customer_id][0],
            to_email=owners[customer_id][1],
            idempotency_key=f"notice:{customer_id}:{level}:{as_of.isoformat()}",
        )
        for customer_id, level in rises
        if customer_id in owners
    ]
    # Not sent from here: a run has many chunks, and the follow-up task at the end of the
    # run (or the sweeper, within a minute) sends them all in one go.
    OutgoingEmail.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


@transaction.atomic
def customer_unsubscribe(*, customer: Customer, source: str) -> bool:
    """Record the unsubscribe (idempotent); False when it was already recorded."""
    _row, created = EmailUnsubscribe.objects.get_or_create(
        customer=customer, defaults={"source": source}
    )
    if created:
        # Queued follow-ups will not go out either.
        OutgoingEmail.objects.filter(
            customer=customer,
            kind__in=OutgoingEmail.CUSTOMER_KINDS,
            status=OutgoingEmail.Status.QUEUED,
        ).update(status=OutgoingEmail.Status.CANCELLED, last_error=_("The customer unsubscribed."))
    return created
