"""The dashboard's onboarding and loyalty tiles (the NPS tile is in dashboard/nps.py).

The rules are the features' own: which checklists count, what "stalled" means and how
days to complete are counted are retention.onboarding.checklists's; what "issued",
"redeemed" and "expired" points are is retention.loyalty.selectors's. This module only
picks the period's rows and the scope's customers.
"""

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse

from retention.loyalty.models import Coupon
from retention.loyalty.selectors import points_totals
from retention.onboarding import checklists
from retention.onboarding.models import Checklist

from .nps import span
from .periods import Period
from .scope import Scope

COMPLETED = Checklist.Status.COMPLETED


@dataclass(frozen=True)
class OnboardingFigures:
    """Checklists started in the period and how many of them are completed by now (the
    completion rate of that cohort: of the customers who began in March, how many got
    through, never above 100 % and not moved by how many began the months before);
    checklists completed in the period, whenever started, and their median days from
    start to completion; checklists stalled today. Cancelled checklists count nowhere."""

    period: Period
    started: int
    completed: int  # of those started in the period, completed by now
    completed_in_period: int
    median_days: float | None  # of those completed in the period
    stalled_now: int

    @property
    def completion_rate(self) -> float | None:
        """completed ÷ started × 100, one decimal; None when none started."""
        return round(100 * self.completed / self.started, 1) if self.started else None


def onboarding_figures(scope: Scope, period: Period, today: date) -> OnboardingFigures:
    """Three queries: the stall window (a risk-signal setting), the counts, the median."""
    stall_days = checklists.stall_days()
    start, end = span(period)
    started_in = Q(started_on__gte=period.start, started_on__lte=period.end)
    completed_in = Q(status=COMPLETED, completed_at__gte=start, completed_at__lt=end)
    stalled = checklists.stalled_q(today, stall_days)
    counted = checklists.counted_checklists().filter(scope.q("customer__owner"))
    row = counted.filter(started_in | completed_in | stalled).aggregate(
        started=Count("id", filter=started_in),
        completed=Count("id", filter=started_in & Q(status=COMPLETED)),
        completed_in_period=Count("id", filter=completed_in),
        stalled_now=Count("id", filter=stalled),
    )
    median = checklists.median_days_to_complete(counted.filter(completed_in))
    return OnboardingFigures(period=period, median_days=median, **row)


@dataclass(frozen=True)
class LoyaltyFigures:
    """Points issued (every positive ledger entry: earnings and corrections up),
    redeemed and expired in the period, each a positive number; coupons issued in the
    period (one per redemption) and coupons used in the period, whenever issued."""

    period: Period
    points_issued: int
    points_redeemed: int
    points_expired: int
    coupons_issued: int
    coupons_used: int


def loyalty_figures(scope: Scope, period: Period) -> LoyaltyFigures:
    """Two queries: the points (from the monthly totals for everyone's whole months,
    else the ledger), and the coupons."""
    points = points_totals(
        first=period.start, last=period.end, entries=scope.q("customer__owner") or None
    )
    start, end = span(period)
    issued = Q(created_at__gte=start, created_at__lt=end)
    used = Q(used_at__gte=start, used_at__lt=end)
    coupons = Coupon.objects.filter(scope.q("customer__owner")).filter(issued | used)
    row = coupons.aggregate(
        coupons_issued=Count("id", filter=issued), coupons_used=Count("id", filter=used)
    )
    return LoyaltyFigures(
        period=period,
        points_issued=points["issued"],
        points_redeemed=points["redeemed"],
        points_expired=points["expired"],
        **row,
    )


# --- Where the customers behind each figure are -------------------------------------


def _url(name: str, scope: Scope, params: dict) -> str:
    if scope.owner_id is not None:
        params = {**params, "owner": scope.owner_id}
    return f"{reverse(name)}?{urlencode(params)}" if params else reverse(name)


def _days(period: Period) -> dict:
    return {"from": period.start.isoformat(), "to": period.end.isoformat()}


def onboarding_links(scope: Scope, period: Period) -> dict[str, str]:
    """The onboarding overview filtered to each figure's checklists. "completed" (of
    those started) is the started list: it shows each one's progress."""
    started = _url("retention:onboarding", scope, {"state": "started", **_days(period)})
    return {
        "started": started,
        "completed": started,
        "completed_in_period": _url(
            "retention:onboarding", scope, {"state": "completed", **_days(period)}
        ),
        "median_days": _url("retention:onboarding", scope, {"state": "completed", **_days(period)}),
        "stalled_now": _url("retention:onboarding", scope, {"state": "stalled"}),
    }


def loyalty_links(scope: Scope, period: Period) -> dict[str, str]:
    """The coupon list for the coupons (and the points redeemed for them: every
    redemption issues one coupon); the loyalty overview (points per month) for the
    points issued and expired, which have no list of customers per period."""
    overview = reverse("retention:loyalty")
    issued = _url("retention:loyalty_coupons", scope, _days(period))
    return {
        "points_issued": overview,
        "points_redeemed": issued,
        "points_expired": overview,
        "coupons_issued": issued,
        "coupons_used": _url(
            "retention:loyalty_coupons", scope, {"status": "used", **_days(period)}
        ),
    }
