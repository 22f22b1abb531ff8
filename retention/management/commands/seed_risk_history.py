"""Demo risk history: scores at past dates and the at-risk cases of the year, worked.

Run by `make run` after the first compute_risk, once (it does nothing when any risk
history before today or any resolved case exists). Without it the demo's history
starts today: every snapshot is today's, so the dashboard's trend has one point and
no case was ever saved or lost.

1. Risk as of the 15th and the last day of each of the last 12 months, as the
   nightly job computes a past date (scoring.compute_all: that date's snapshots only).
2. The levels' rises and falls between those dates as RiskEvents, replacing the
   first run's (which, with no history, saw every customer at risk rise "today").
3. The cases worked: of those whose risk fell back to low, most were saved by their
   account manager; of those who churned while at risk, most were recorded lost.
   Before the resolution: calls, emails, meetings and follow-up emails, more often
   for the saved ones, so "what works" has something to show.
4. What a new user finds: the demo business's risk bands (15 % / 35 %, so levels spread),
   each customer's level dated from when it began (the queue's "days at risk"), and the
   first run's notices dated on the nights the risks rose, the newest few unread and the
   newest few emails still queued.
"""

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.db.models import Max, OuterRef, Subquery
from django.utils import timezone

from customers.access import ADMIN
from customers.models import Customer, Interaction
from retention.outreach import rendering
from retention.outreach.models import OutgoingEmail
from retention.risk import daily, planning, scoring
from retention.risk.models import (
    CustomerRisk,
    Notification,
    RiskConfig,
    RiskEvent,
    RiskLevel,
    RiskSnapshot,
)

RANK = {None: -1, RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}
SAVED_WHEN_RECOVERED = 0.6  # a fall back to low: the manager recorded a save
LOST_WHEN_CHURNED = 0.75  # churned while at risk: the manager recorded the loss
# The chance of each action before a resolution: (saved, lost). Calls work best here.
ACTIONS = {
    Interaction.Kind.CALL: (0.7, 0.15),
    Interaction.Kind.EMAIL: (0.3, 0.25),
    Interaction.Kind.MEETING: (0.3, 0.03),
    "follow_up": (0.45, 0.1),
}
# The demo business's bands (Administration > Risk levels): a 15 % chance of being lost
# within the horizon is worth a call at its churn rate (about 3 % a quarter); with the
# shipped 33 % / 67 % almost every demo customer would be low.
DEMO_MEDIUM_FROM, DEMO_HIGH_FROM = 15, 35
# What a new user finds: the newest few notices unread and the newest few emails still
# queued; the older ones were read and sent on the night the risk rose.
UNREAD_KEPT = 4
NIGHTS = 21
QUEUED_KEPT = 3
SUBJECTS = {
    Interaction.Kind.CALL: "Check-in call",
    Interaction.Kind.EMAIL: "How is everything going?",
    Interaction.Kind.MEETING: "Account review",
}


def history_days(today: date, months: int, nights: int = 0) -> list[date]:
    """The 15th and the last day of each of the last `months` months, and each of the last
    `nights` nights, oldest first."""
    days = [today - timedelta(days=back) for back in range(1, nights + 1)]
    first = today.replace(day=1)
    for _ in range(months):
        last = first - timedelta(days=1)
        first = last.replace(day=1)
        days += [first.replace(day=15), last]
    return sorted({day for day in days if day < today})


def _latest_per_customer(rows) -> list:
    """The newest row of each customer and recipient; the older ones deleted. compute_risk's
    first run and the rerun with the demo's bands can both have noticed a rise ("medium",
    then "high") on the same night: one notice per customer is what a night's run sends."""
    latest = {}
    for row in rows.order_by("pk"):
        recipient = getattr(row, "recipient_id", None) or getattr(row, "recipient_user_id", None)
        latest[(row.customer_id, recipient)] = row
    keep = {row.pk for row in latest.values()}
    rows.exclude(pk__in=keep).delete()
    return list(latest.values())


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


class Command(BaseCommand):
    help = "Demo: a year of risk history at past dates, and the at-risk cases of the year."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--months", type=int, default=12)
        # Every night of the last weeks too: most demo risks rose recently (tickets still
        # open), so twice a month would date them all "today" ("0 days at risk").
        parser.add_argument("--nights", type=int, default=NIGHTS)
        parser.add_argument("--seed", type=int, default=11)

    def handle(self, *args, months: int, nights: int, seed: int, **options) -> None:
        today = timezone.localdate()
        if (
            RiskSnapshot.objects.filter(as_of__lt=today).exists()
            or RiskEvent.objects.filter(
                kind__in=[RiskEvent.Kind.SAVED, RiskEvent.Kind.LOST]
            ).exists()
        ):
            self.stdout.write("Risk history already present")
            return
        days = history_days(today, months, nights)
        planning.ensure_signal_settings()
        RiskConfig.objects.update_or_create(
            pk=1, defaults={"medium_from": DEMO_MEDIUM_FROM, "high_from": DEMO_HIGH_FROM}
        )
        # Today again with the demo's bands, and its dashboard totals as compute_risk wrote.
        scoring.compute_all(today)
        daily.record_day(today)
        for day in days:
            scoring.compute_all(day)
        counts = self.cases(random.Random(seed), days, today)  # noqa: S311 (demo data)
        self.stdout.write(
            self.style.SUCCESS(f"Risk history: {len(days)} past dates scored; cases: {counts}")
        )

    @transaction.atomic
    def cases(self, rng: random.Random, days: list[date], today: date) -> dict:
        paths = defaultdict(dict)  # customer: {day: level}
        rows = RiskSnapshot.objects.filter(as_of__in=days).values_list(
            "customer_id", "as_of", "level"
        )
        for customer_id, day, level in rows.iterator(chunk_size=5000):
            paths[customer_id][day] = level
        current = CustomerRisk.objects.filter(score__isnull=False).values_list(
            "customer_id", "level"
        )
        for customer_id, level in current:
            paths[customer_id][today] = level
        customers = Customer.objects.in_bulk(list(paths))
        admin = get_user_model().objects.filter(groups__name=ADMIN).order_by("pk").first()
        owners = get_user_model().objects.in_bulk(
            {c.owner_id for c in customers.values() if c.owner_id}
        )
        # The first run saw every customer at risk rise today: the history replaces that.
        changes = [RiskEvent.Kind.LEVEL_UP, RiskEvent.Kind.LEVEL_DOWN]
        RiskEvent.objects.filter(kind__in=changes).delete()
        self.events, self.interactions, self.emails = [], [], []
        counts = defaultdict(int)
        for customer_id, path in paths.items():
            customer = customers[customer_id]
            actor = owners.get(customer.owner_id) or admin
            self.walk(rng, customer, actor, path, [*days, today], today, counts)
        since = self.levels_since(paths, [*days, today], today)
        counts["unread_notifications"] = self.tidy_notifications(rng, since, today)
        counts["queued_emails"] = self.tidy_notices(rng, since, today)
        RiskEvent.objects.bulk_create(self.events)
        Interaction.objects.bulk_create(self.interactions)
        OutgoingEmail.objects.bulk_create(self.emails)
        touched = {interaction.customer_id for interaction in self.interactions}
        latest = Interaction.objects.filter(customer=OuterRef("pk")).values("customer")
        Customer.objects.filter(pk__in=touched).update(
            last_interaction_at=Subquery(latest.annotate(last=Max("occurred_at")).values("last"))
        )
        return dict(counts)

    def levels_since(self, paths: dict, days: list[date], today: date) -> dict[int, date]:
        """Each customer's current level began on the first scored day of its last run of
        that level (the queue's "days at risk"); written to their CustomerRisk."""
        since = {}
        for customer_id, path in paths.items():
            current = path.get(today)
            if current is None:
                continue
            began = today
            for day in reversed(days):
                level = path.get(day)
                if level is None:
                    continue
                if level != current:
                    break
                began = day
            since[customer_id] = began
        by_day = defaultdict(list)
        for customer_id, day in since.items():
            by_day[day].append(customer_id)
        for day, ids in by_day.items():
            CustomerRisk.objects.filter(customer_id__in=ids).update(level_since=day)
        return since

    def noticed_at(self, rng, since: dict, customer_id: int | None, today: date) -> datetime:
        """The night the customer's risk rose (the nightly run starts at 02:00)."""
        day = since.get(customer_id, today)
        return min(_at(day, 2, rng.randint(5, 50)), timezone.now())

    def tidy_notifications(self, rng, since: dict, today: date) -> int:
        """Date the first run's notices on the night each risk rose; keep the newest few
        per person unread, the others read the next working morning."""
        notices = _latest_per_customer(Notification.objects.filter(read_at__isnull=True))
        for notice in notices:
            notice.created_at = self.noticed_at(rng, since, notice.customer_id, today)
        notices.sort(key=lambda notice: (notice.recipient_id, notice.created_at), reverse=True)
        kept, recipient, unread = 0, None, 0
        for notice in notices:
            if notice.recipient_id != recipient:
                recipient, kept = notice.recipient_id, 0
            if kept < UNREAD_KEPT:
                kept += 1
                unread += 1
                continue
            read = notice.created_at + timedelta(hours=rng.randint(6, 30))
            notice.read_at = min(read, timezone.now())
        Notification.objects.bulk_update(notices, ["created_at", "read_at"], batch_size=500)
        return unread

    def tidy_notices(self, rng, since: dict, today: date) -> int:
        """The queued "your customer's risk rose" emails: sent on their night (with what
        was sent stored, as the worker stores it), the newest few left for the worker."""
        queued = _latest_per_customer(
            OutgoingEmail.objects.filter(
                kind=OutgoingEmail.Kind.STAFF_NOTICE, status=OutgoingEmail.Status.QUEUED
            ).select_related("customer__risk", "recipient_user")
        )
        for email in queued:
            email.created_at = self.noticed_at(rng, since, email.customer_id, today)
            email.next_attempt_at = email.created_at
        queued.sort(key=lambda email: email.created_at, reverse=True)
        for email in queued[QUEUED_KEPT:]:
            rendered = rendering.render_staff_notice(email)
            email.status = OutgoingEmail.Status.SENT
            email.attempts = 1
            email.sent_at = email.created_at + timedelta(minutes=rng.randint(1, 9))
            email.language = rendered.language
            email.subject = rendered.subject
            email.body_text = rendered.text
            email.body_html = rendered.html
        fields = ["created_at", "next_attempt_at", "status", "attempts", "sent_at", "language"]
        OutgoingEmail.objects.bulk_update(
            queued, [*fields, "subject", "body_text", "body_html"], batch_size=200
        )
        return min(len(queued), QUEUED_KEPT)

    def walk(self, rng, customer, actor, path: dict, days: list[date], today, counts) -> None:
        """One customer's levels over the dates: their rises and falls, their cases."""
        level, opened = None, None  # opened: when the open case (if any) began
        for day in days:
            new = path.get(day)
            if new is None:
                continue  # not scored that day (not begun yet, or churned)
            moment = min(_at(day, 2), timezone.now()) if day == today else _at(day, 2)
            old = level or RiskLevel.LOW
            if new != old and not (level is None and new == RiskLevel.LOW):
                rose = RANK[new] > RANK[old]
                kind = RiskEvent.Kind.LEVEL_UP if rose else RiskEvent.Kind.LEVEL_DOWN
                self.events.append(
                    RiskEvent(
                        customer=customer,
                        kind=kind,
                        occurred_at=moment,
                        from_level=old,
                        to_level=new,
                        score={"low": 15, "medium": 45, "high": 75}[new],
                    )
                )
                if rose and opened is None:
                    opened = moment
                    counts["opened"] += 1
            if new == RiskLevel.LOW and opened:
                if day != today and rng.random() < SAVED_WHEN_RECOVERED:
                    self.resolve(rng, customer, actor, opened, moment, RiskEvent.Kind.SAVED)
                    counts["saved"] += 1
                opened = None
            level = new
        churned = customer.status == Customer.Status.CHURNED and customer.churned_on
        if opened and churned and rng.random() < LOST_WHEN_CHURNED:
            end = _at(customer.churned_on, 15)
            if end > opened:
                self.resolve(rng, customer, actor, opened, end, RiskEvent.Kind.LOST)
                counts["lost"] += 1

    def resolve(self, rng, customer, actor, opened, before: datetime, kind: str) -> None:
        """A resolution some days before `before`, and what was done since `opened`."""
        span = max((before - opened).total_seconds(), 3600)
        at = opened + timedelta(seconds=span * rng.uniform(0.6, 0.95))
        at = at.replace(hour=rng.randint(10, 16), minute=rng.randint(0, 59))
        at = max(min(at, before - timedelta(hours=1)), opened + timedelta(minutes=30))
        at = min(at, timezone.now())
        reason = customer.churn_reason if kind == RiskEvent.Kind.LOST else "Happy again"
        self.events.append(
            RiskEvent(customer=customer, kind=kind, occurred_at=at, summary=reason, actor=actor)
        )
        column = 0 if kind == RiskEvent.Kind.SAVED else 1
        for action, chances in ACTIONS.items():
            if rng.random() >= chances[column]:
                continue
            when = opened + (at - opened) * rng.uniform(0.1, 0.9)
            if action == "follow_up":
                if customer.email:
                    self.emails.append(self.follow_up(customer, actor, when))
                continue
            self.interactions.append(
                Interaction(
                    customer=customer,
                    kind=action,
                    direction=Interaction.Direction.OUTBOUND,
                    subject=SUBJECTS[action],
                    occurred_at=when,
                    recorded_by=actor,
                )
            )

    def follow_up(self, customer, actor, when: datetime) -> OutgoingEmail:
        return OutgoingEmail(
            customer=customer,
            kind=OutgoingEmail.Kind.MANUAL,
            to_email=customer.email,
            idempotency_key=f"demo-case:{customer.pk}:{when.isoformat()}",
            status=OutgoingEmail.Status.SENT,
            language=customer.preferred_language,
            subject=f"{customer.first_name}, can we help?",
            body_text="We noticed things have been quiet. Is there anything we can do?",
            created_at=when - timedelta(minutes=1),
            created_by=actor,
            sent_at=when,
        )
