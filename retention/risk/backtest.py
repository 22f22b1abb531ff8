"""Backtesting: would the flags on a past date have found the customers who then left?

A customer "went bad" after `as_of` when they churned within the horizon, or had
no interaction at all in the horizon. For each level (and each flag) we report:
precision (share of flagged customers who went bad), recall (share of those who
went bad that were flagged) and lift (precision ÷ the base rate of going bad).
"""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Q

from customers.models import Customer, Interaction

from . import planning, scoring, signals
from .models import RiskLevel


@dataclass(frozen=True)
class Row:
    name: str
    flagged: int
    hits: int
    precision: float | None
    recall: float | None
    lift: float | None


@dataclass(frozen=True)
class Report:
    as_of: date
    horizon_days: int
    customers: int
    went_bad: int
    rows: list[Row]

    @property
    def base_rate(self) -> float | None:
        return self.went_bad / self.customers if self.customers else None


def went_bad_ids(as_of: date, horizon_days: int, candidates: set[int]) -> set[int]:
    start = signals.end_of_day(as_of)
    end = start + timedelta(days=horizon_days)
    churned = set(
        Customer.objects.filter(
            pk__in=candidates,
            churned_on__gt=as_of,
            churned_on__lte=as_of + timedelta(days=horizon_days),
        ).values_list("pk", flat=True)
    )
    active = set(
        Interaction.objects.filter(
            Q(occurred_at__gte=start) & Q(occurred_at__lt=end), customer_id__in=candidates
        )
        .values_list("customer_id", flat=True)
        .distinct()
    )
    return churned | (candidates - active)


def _row(name: str, flagged: set[int], bad: set[int], base_rate: float | None) -> Row:
    hits = len(flagged & bad)
    precision = hits / len(flagged) if flagged else None
    recall = hits / len(bad) if bad else None
    lift = precision / base_rate if precision is not None and base_rate else None
    return Row(name, len(flagged), hits, precision, recall, lift)


def backtest(
    as_of: date, horizon_days: int = 90, chunk_size: int = planning.DEFAULT_CHUNK_SIZE
) -> Report:
    config = planning.load_configuration()
    assessments = []
    for id_from, id_to in planning.plan_chunks(chunk_size):
        assessments.extend(scoring.assess_chunk(as_of, id_from, id_to, config))
    everyone = {a.customer_id for a in assessments}
    bad = went_bad_ids(as_of, horizon_days, everyone) if everyone else set()
    base_rate = len(bad) / len(everyone) if everyone else None
    high = {a.customer_id for a in assessments if a.level == RiskLevel.HIGH}
    medium_up = high | {a.customer_id for a in assessments if a.level == RiskLevel.MEDIUM}
    rows = [
        _row("level: high", high, bad, base_rate),
        _row("level: medium or high", medium_up, bad, base_rate),
    ]
    by_flag: dict[str, set[int]] = {}
    for assessment in assessments:
        for flag in assessment.flags:
            by_flag.setdefault(flag.key, set()).add(assessment.customer_id)
    rows += [_row(f"flag: {key}", ids, bad, base_rate) for key, ids in sorted(by_flag.items())]
    return Report(as_of, horizon_days, len(everyone), len(bad), rows)
