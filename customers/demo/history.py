"""A demo customer's status history, so the churn figures have 18 months to show.

From a generator of its own (the rest of the demo data draws as before): customers
are onboarded on customer_since and active two to six weeks later; at-risk ones turned
so in the last three months; churned ones churned on churned_on, spread over the last
eighteen months; a share of active customers left once and came back (churned, then
active again weeks or months later); a few active customers joined two to three months
ago, between those still onboarding and the older ones; and a few customers buy without
a contract (no plan), so some are lost by going six months without a purchase.
"""

import random
from datetime import date, timedelta

from customers.models import Customer, StatusChange

from .interactions import at_day

Status = Customer.Status

CHURN_WITHIN_DAYS = 540  # churned customers left within the last eighteen months
REACTIVATED_SHARE = 0.07  # of active customers: left once and came back
RECENT_SHARE = 0.05  # of active customers: became customers two to three months ago
SHOP_SHARE = 0.08  # of customers: buy without a contract (no plan), so they can lapse


class StatusStories:
    """Draws the dates of each customer's status changes (does not write them)."""

    def __init__(self, *, rng: random.Random, today: date) -> None:
        self.rng = rng
        self.today = today
        self.reactivated = 0

    def adjust(self, customer: Customer) -> None:
        """Spread the dates the main draws give (churn within the last 330 days, active
        customers 90 days or older) over the eighteen months the dashboard shows, and
        make a few customers shop buyers without a contract."""
        rng, since = self.rng, customer.customer_since
        if since is None:
            return
        if rng.random() < SHOP_SHARE:
            customer.plan, customer.renewal_date, customer.monthly_value = "", None, 0
        age = (self.today - since).days
        if customer.status == Status.CHURNED:
            customer.churned_on = self.today - timedelta(
                days=rng.randint(3, min(age - 1, CHURN_WITHIN_DAYS))
            )
            if customer.plan:
                # The renewal they did not take: the only renewal dates in the past.
                customer.renewal_date = customer.churned_on
        elif customer.status == Status.ACTIVE and rng.random() < RECENT_SHARE:
            customer.customer_since = self.today - timedelta(days=rng.randint(61, 95))
            customer.created_at = at_day(customer.customer_since)

    def changes(self, customer: Customer) -> list[tuple[date, str]]:
        """(day, new status) for this customer, oldest first."""
        rng, since, today = self.rng, customer.customer_since, self.today
        if customer.status == Status.LEAD or since is None:
            return [(customer.created_at.date(), Status.LEAD)]
        changes = [(since, Status.ONBOARDING)]
        if customer.status == Status.ONBOARDING:
            return changes
        end = customer.churned_on or today
        active_on = min(since + timedelta(days=rng.randint(14, 45)), end)
        if active_on < end or customer.status != Status.CHURNED:
            changes.append((active_on, Status.ACTIVE))
        if customer.status == Status.AT_RISK:
            changes.append(
                (max(active_on, today - timedelta(days=rng.randint(5, 90))), Status.AT_RISK)
            )
        elif customer.status == Status.CHURNED:
            changes.append((customer.churned_on, Status.CHURNED))
        elif (today - active_on).days > 240 and rng.random() < REACTIVATED_SHARE:
            left = active_on + timedelta(days=rng.randint(60, (today - active_on).days - 150))
            back = left + timedelta(days=rng.randint(20, 120))
            changes += [(left, Status.CHURNED), (back, Status.ACTIVE)]
            self.reactivated += 1
        return [(min(day, today), status) for day, status in changes]

    def rows(self, customers: list[Customer]) -> list[StatusChange]:
        rows = []
        for customer in customers:
            previous = ""
            for day, status in self.changes(customer):
                rows.append(
                    StatusChange(
                        customer_id=customer.pk,
                        from_status=previous,
                        to_status=status,
                        changed_on=day,
                    )
                )
                previous = status
        return rows
