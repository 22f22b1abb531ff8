"""Everything the dashboard shows for one scope and period, assembled from the selectors.

`collect` runs the selectors (a fixed number of queries, whatever the data) and
`cached` keeps the result for CACHE_SECONDS per scope, period, day and language, and
per nightly build: a new membership build or risk night makes a new key.
dashboard/board.py turns the figures into the page.
"""

from dataclasses import dataclass
from datetime import date, datetime

from django.core.cache import cache
from django.db import connection
from django.utils import timezone, translation

from customers.models import MembershipBuild
from retention.risk import queue
from retention.risk.models import RiskDay

from . import churn, engagement, nps, risk_now, saves
from .periods import Period
from .scope import Scope

TREND_PERIODS = 12
CACHE_SECONDS = 300


@dataclass
class Figures:
    """The selectors' results: plain data, cached as one object."""

    churn: list  # churn.ChurnFigures per trend period, oldest first; [-1] is the period
    effect: saves.RetentionEffect
    effect_before: saves.RetentionEffect
    risk: risk_now.RiskNow
    risk_trend: list
    reasons: list
    nps: list  # nps.NpsFigures per trend period
    exit_reasons: list
    onboarding: engagement.OnboardingFigures
    onboarding_before: engagement.OnboardingFigures
    loyalty: engagement.LoyaltyFigures
    loyalty_before: engagement.LoyaltyFigures
    cohorts: churn.CohortTable
    membership_built_at: datetime | None
    computed_at: datetime


def _cache_key(scope: Scope, period: Period, today: date) -> str:
    build = MembershipBuild.last_finished()
    night = RiskDay.objects.order_by("-day").values_list("day", flat=True).first()
    stamp = f"{build.finished_at.timestamp() if build else 0}:{night}"
    language = translation.get_language()
    return ":".join(
        ["dashboard", scope.key, period.kind, f"{period.start}", f"{period.end}", f"{today}"]
        + [language, stamp]
    )


def cached(scope: Scope, period: Period, today: date) -> Figures:
    """The figures from the cache, or collected and cached."""
    key = _cache_key(scope, period, today)
    figures = cache.get(key)
    if figures is None:
        figures = collect(scope, period, today)
        cache.set(key, figures, CACHE_SECONDS)
    return figures


def collect(scope: Scope, period: Period, today: date) -> Figures:
    """Every selector's figures for the page: a fixed number of queries.

    On PostgreSQL they run without JIT compilation and parallel workers: each query
    reads at most a few hundred thousand index entries, and compiling or starting
    workers cost more than the query (bench: a quarter's retention effect 210 ms with
    them, 95 ms without)."""
    with queue.serial_plans():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off")
        return _collect(scope, period, today)


def _collect(scope: Scope, period: Period, today: date) -> Figures:
    trend = period.trailing(TREND_PERIODS)
    previous = period.previous()
    build = MembershipBuild.last_finished()
    return Figures(
        churn=churn.churn_series(scope, trend),
        effect=saves.retention_effect(scope, period),
        effect_before=saves.retention_effect(scope, previous),
        risk=risk_now.risk_now(scope, today),
        risk_trend=risk_now.risk_trend(scope, trend, today),
        reasons=risk_now.top_reasons(scope, period, today),
        nps=nps.nps_series(scope, trend),
        exit_reasons=nps.top_exit_reasons(scope, period),
        onboarding=engagement.onboarding_figures(scope, period, today),
        onboarding_before=engagement.onboarding_figures(scope, previous, today),
        loyalty=engagement.loyalty_figures(scope, period),
        loyalty_before=engagement.loyalty_figures(scope, previous),
        cohorts=churn.cohorts(scope, today),
        membership_built_at=build.finished_at if build else None,
        computed_at=timezone.now(),
    )
