"""A demo customer's interactions: kinds, texts and moments drawn from the seeded generator.

Interactions fall on weekdays in business hours, within the customer's time with
us and at most a year back (from the churn, for those who left); customers at risk
complain more towards the end, and a churned customer's history ends with the
cancellation. Subjects and bodies are templates from customers.demo.vocabulary whose
words are drawn only when a template uses them. Complaints and service requests are
mostly resolved a few days later; a minority stays open (the recent ones more often,
some for weeks). Those draws come from a generator of their own, so the rest of the
data is the same as without them.
"""

import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from customers.models import Customer, Interaction

from .vocabulary import (
    BODIES,
    KIND_DIRECTIONS,
    KIND_WEIGHTS,
    MONTHS,
    NEXT_PLAN,
    SUBJECTS,
    TOPICS,
    WORD_CHOICES,
    weighted,
)

Kind = Interaction.Kind
Sentiment = Interaction.Sentiment
Status = Customer.Status


class _Words(dict):
    """Template words, each drawn (from the seeded generator) only when a template uses it."""

    def __init__(self, draw) -> None:
        super().__init__()
        self.draw = draw

    def __missing__(self, key: str):
        value = self[key] = self.draw(key)
        return value


def at_day(day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


class InteractionMaker:
    """Makes (does not write) the interactions of one customer after another."""

    def __init__(
        self,
        *,
        rng: random.Random,
        until: datetime,
        recorders: list,
        resolution_rng: random.Random,
    ) -> None:
        self.rng = rng
        self.until = until  # nothing happens after this moment
        self.recorders = recorders
        self.resolution_rng = resolution_rng

    def make_interactions(self, customer: Customer, count: int) -> list[Interaction]:
        rng = self.rng
        end = self.until
        if customer.churned_on:
            end = at_day(customer.churned_on) + timedelta(hours=17)
        # The year up to today, or up to the churn for those who left.
        start = min(self.until, end) - timedelta(days=365)
        if customer.customer_since:
            start = max(start, at_day(customer.customer_since))
        else:
            start = max(start, customer.created_at)
        span = max((end - start).total_seconds(), 3600.0)
        recent = end - timedelta(days=90)
        weights = dict(KIND_WEIGHTS)
        if customer.status == Status.LEAD:
            weights.update({Kind.PURCHASE: 0, Kind.SERVICE_REQUEST: 0, Kind.DISCOUNT_REQUEST: 0})
        # Ids, not users: assigning model instances costs more than the rest of the row.
        recorder_pool = [customer.owner_id] * 4 if customer.owner_id else []
        recorder_pool += [user.pk for user in self.recorders]
        rows = []
        for _ in range(count):
            occurred = self.business_hours(start + timedelta(seconds=rng.random() * span), end)
            kind = weighted(rng, weights)
            if customer.status == Status.AT_RISK and occurred > recent and rng.random() < 0.3:
                kind = rng.choice([Kind.COMPLAINT, Kind.DISCOUNT_REQUEST, Kind.COMPLAINT])
            rows.append(self.make_interaction(customer, kind, occurred, rng.choice(recorder_pool)))
        if customer.status == Status.CHURNED and customer.churned_on:
            occurred = at_day(customer.churned_on) + timedelta(hours=rng.randint(9, 16))
            rows.append(
                self.make_interaction(customer, Kind.CANCELLATION, occurred, customer.owner_id)
            )
        for row in rows:
            if row.kind in Interaction.KINDS_WITH_STATE:
                self.resolve_ticket(customer, row)
        return rows

    def resolve_ticket(self, customer: Customer, ticket: Interaction) -> None:
        """Most tickets are resolved within days; recent ones, unhappy customers' and those
        of customers who churned within the next four months stay open.

        A resolution that would fall after `until` leaves the ticket open: it is
        still being worked on.
        """
        rng = self.resolution_rng
        age_days = (self.until - ticket.occurred_at).days
        open_chance = 0.35 if age_days < 14 else 0.15 if age_days < 60 else 0.04
        if customer.status == Status.AT_RISK:
            open_chance *= 2
        if customer.churned_on and (at_day(customer.churned_on) - ticket.occurred_at).days < 120:
            # Customers left waiting leave: most of those who churned had a ticket open.
            open_chance = 0.7
        if rng.random() < open_chance:
            return
        hours = min(1 + rng.expovariate(1 / 60), 21 * 24)  # about 2.5 days on average
        resolved = ticket.occurred_at + timedelta(hours=hours)
        if resolved > self.until:
            return
        ticket.resolved_at = resolved
        ticket.resolved_by_id = ticket.recorded_by_id if rng.random() < 0.9 else None

    def make_interaction(
        self, customer: Customer, kind: str, occurred: datetime, recorder_id: int | None
    ) -> Interaction:
        rng = self.rng
        words = _Words(lambda key: self.word(key, customer, occurred, words))
        amount = None
        monthly = customer.monthly_value or Decimal("49")
        if kind == Kind.PURCHASE:
            amount = (monthly * rng.choice([1, 1, 2, 3, 6, 12])).quantize(Decimal("0.01"))
        elif kind == Kind.DISCOUNT_REQUEST:
            amount = (monthly * 12 * words["percent"] / 100).quantize(Decimal("0.01"))
        elif kind == Kind.CANCELLATION:
            amount = monthly
        if kind in (Kind.COMPLAINT, Kind.CANCELLATION):
            sentiment = Sentiment.NEGATIVE
        elif kind in (Kind.NOTE, Kind.PURCHASE):
            sentiment = ""
        elif customer.status in (Status.AT_RISK, Status.CHURNED) and rng.random() < 0.35:
            sentiment = Sentiment.NEGATIVE
        else:
            sentiment = rng.choice([Sentiment.POSITIVE, Sentiment.NEUTRAL, Sentiment.NEUTRAL, ""])
        return Interaction(
            customer_id=customer.pk,
            kind=kind,
            direction=rng.choice(KIND_DIRECTIONS[kind]),
            subject=rng.choice(SUBJECTS[kind]).format_map(words)[:200],
            body=rng.choice(BODIES[kind]).format_map(words),
            amount=amount,
            sentiment=sentiment,
            occurred_at=occurred,
            recorded_by_id=recorder_id,
        )

    def word(self, key: str, customer: Customer, occurred: datetime, words: dict) -> object:
        """One placeholder of the subject and body templates."""
        rng = self.rng
        match key:
            case "first":
                return customer.first_name
            case "company":
                return customer.company.name if customer.company else customer.name
            case "plan":
                return customer.plan or "Starter"
            case "next_plan":
                return NEXT_PLAN.get(customer.plan, "Growth")
            case "month":
                return MONTHS[(occurred.month - 2) % 12]
            case "topic":
                return rng.choice(TOPICS).format_map(words)
            case "reason":
                return (customer.churn_reason or "no reason given").lower()
            case "days":
                return rng.randint(3, 9)
            case "seats":
                return rng.randint(2, 25)
            case "percent":
                return rng.choice([5, 10, 15, 20, 25])
        return rng.choice(WORD_CHOICES[key])

    def business_hours(self, moment: datetime, end: datetime) -> datetime:
        """The same day (a weekday) between 08:00 and 18:00, never after `end`."""
        day = moment.date()
        if day.weekday() >= 5:
            day -= timedelta(days=day.weekday() - 4)  # back to Friday
        snapped = at_day(day) + timedelta(
            hours=self.rng.randint(8, 17), minutes=self.rng.randint(0, 59)
        )
        return min(snapped, end - timedelta(minutes=self.rng.randint(1, 600)))
