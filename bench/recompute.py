"""The nightly churn-risk recompute, timed on the loaded data set.

Four steps, one after the other, each but (b) run REPEATS times (median reported):

(a) reference: one hand-written SQL statement of the same kind, aggregating every
    signal's facts per customer (FILTER clauses over the same windows, the same
    distinct-day counts) and updating a scratch table with them; what the machine
    does for this shape of work;
(b) the first full `scoring.compute_all(today)`, on empty risk tables: every current-risk
    row and every history row written (once, when the app is installed);
(c) the same day again, data unchanged: nothing to write ("Recompute now");
(d) the next day, night after night (today + 1, + 2, + 3): the nightly steady state.

Target: (c) and (d), the whole job with one worker, within TARGET_RATIO x (a), and (c)
writes nothing. (b) is reported, not held to the ratio: it inserts two rows per
customer (~157,000) into indexed tables with foreign keys, which the reference's
UPDATE of a scratch table does not; the bench prints what those inserts cost.
The risk tables are emptied first, so every run starts alike.
"""

import re
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone

from customers.models import Customer, Interaction
from retention.models import CustomerRisk, Notification, RiskEvent, RiskSnapshot
from retention.risk import planning, queue, scoring, signals
from retention.risk.history import CUSTOMER_KINDS

from . import pages

TARGET_RATIO = 3.0
REPEATS = 3  # runs per step; the median is reported (the machines are shared and noisy)
RISK_TABLES = (CustomerRisk, RiskSnapshot, RiskEvent, Notification)
WRITE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.IGNORECASE)


@dataclass
class Run:
    """One timed step and what it wrote."""

    label: str
    as_of: date
    seconds: float = 0.0
    sql_seconds: float = 0.0
    write_seconds: float = 0.0  # INSERT / UPDATE / DELETE statements
    commit_seconds: float = 0.0  # commits: deferred foreign-key checks run there
    queries: int = 0
    seen: int | None = None  # customers assessed (None: the reference)
    changed: int | None = None
    written: Counter = field(default_factory=Counter)  # table -> rows written
    gated: bool = False  # held to the target
    all_seconds: list[float] = field(default_factory=list)  # every run of the step
    ratio: float | None = None  # seconds / reference seconds

    def rows(self, model) -> int:
        return self.written[model._meta.db_table]

    @property
    def passed(self) -> bool:
        return self.ratio is None or self.ratio <= TARGET_RATIO


@dataclass
class Result:
    runs: list[Run]
    customer_risks: int  # rows after the last run
    snapshots: int
    events: int
    notifications: int
    levels: dict[str, int]
    open_cases: int
    open_high: int
    manager_open_cases: int
    notes: list[str]

    @property
    def failures(self) -> list[str]:
        failing = [
            f"{run.label}: {run.ratio:.1f}x the reference (target {TARGET_RATIO:.0f}x)"
            for run in self.runs
            if run.gated and not run.passed
        ]
        return failing + [note for note in self.notes if note.startswith("FAIL")]


class Recorder:
    """Counts statements, their time and the rows each table got (execute_wrapper)."""

    def __init__(self) -> None:
        self.queries = 0
        self.seconds = 0.0
        self.write_seconds = 0.0
        self.written: Counter = Counter()

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            elapsed = time.perf_counter() - started
            self.seconds += elapsed
            self.queries += 1
            match = WRITE.match(sql)
            if match:
                self.write_seconds += elapsed
            rowcount = getattr(context.get("cursor"), "rowcount", -1)
            if match and rowcount and rowcount > 0:
                self.written[match.group(1)] += rowcount


def run_all(data, log=print) -> Result:
    today = timezone.localdate()
    log("Risk recompute: emptying the risk tables ...")
    empty_risk_tables()
    reference = Run("(a) reference: one SQL aggregate + UPDATE", today)
    log("  (a) reference statement, warm-up run ...")
    reference_statement(today)
    seconds = []
    for _ in range(REPEATS):
        updated = timed(reference, lambda: reference_statement(today))
        seconds.append(reference.seconds)
    reference.seconds = statistics.median(seconds)
    reference.all_seconds = seconds
    reference.written = Counter({"bench_risk_reference": updated})
    log(f"      median {reference.seconds:.1f} s of {fmt(seconds)}, {updated:,} scratch rows")
    runs = [reference]
    steps = [
        ("(b) compute_all, first run (empty tables)", [today]),
        ("(c) compute_all, same day again (no change)", [today] * REPEATS),
        # Night after night: each run is the next day of the one before.
        ("(d) compute_all, next day", [today + timedelta(days=n + 1) for n in range(REPEATS)]),
    ]
    for label, days in steps:
        log(f"  {label} ...")
        measured = []
        for as_of in days:
            run = Run(label, as_of)
            outcome = timed(run, lambda as_of=as_of: scoring.compute_all(as_of))
            run.seen, run.changed = outcome.seen, outcome.changed
            measured.append(run)
            vacuum_analyze()  # untimed, as autovacuum would between two nights
        run = sorted(measured, key=lambda r: r.seconds)[len(measured) // 2]  # the median
        run.all_seconds = [r.seconds for r in measured]
        run.ratio = run.seconds / reference.seconds
        run.gated = not label.startswith("(b)")
        if label.startswith("(c)"):  # every re-run must write nothing, not just the median
            run.written = sum((r.written for r in measured), Counter())
        runs.append(run)
        log(
            f"      median {run.seconds:.1f} s ({run.ratio:.1f}x) of {fmt(run.all_seconds)}, "
            f"{run.queries} queries, {run.changed:,} of {run.seen:,} customers changed"
        )
    return summarise(runs, data)


def fmt(seconds: list[float]) -> str:
    return " / ".join(f"{value:.1f}" for value in seconds)


def timed(run: Run, action):
    recorder = Recorder()
    commits = []
    commit = connection._commit  # Django's hook around the driver's commit (bench only)

    def timed_commit():
        started = time.perf_counter()
        try:
            return commit()
        finally:
            commits.append(time.perf_counter() - started)

    connection._commit = timed_commit
    try:
        with connection.execute_wrapper(recorder):
            started = time.perf_counter()
            value = action()
            run.seconds = time.perf_counter() - started
    finally:
        del connection._commit  # back to the class's method
    run.sql_seconds, run.queries, run.written = recorder.seconds, recorder.queries, recorder.written
    run.write_seconds, run.commit_seconds = recorder.write_seconds, sum(commits)
    return value


def summarise(runs: list[Run], data) -> Result:
    first, again, _next_day = runs[1:]
    notes = []
    if sum(again.written.values()):
        notes.append(f"FAIL: the same-day re-run wrote rows: {dict(again.written)}")
    if again.seconds >= first.seconds:
        notes.append("the same-day re-run was not faster than the first run")
    open_cases = queue.open_cases()
    result = Result(
        runs=runs,
        customer_risks=CustomerRisk.objects.count(),
        snapshots=RiskSnapshot.objects.count(),
        events=RiskEvent.objects.count(),
        notifications=Notification.objects.count(),
        levels=dict(
            CustomerRisk.objects.values_list("level").annotate(n=Count("pk")).order_by("level")
        ),
        open_cases=open_cases.count(),
        open_high=open_cases.filter(level="high").count(),
        manager_open_cases=open_cases.filter(customer__owner=data.manager).count(),
        notes=notes,
    )
    if result.open_cases < 10_000:
        notes.append(f"only {result.open_cases:,} open cases (the queue target assumes 10,000)")
    deepest = pages.QUEUE_DEEP_PAGE * settings.CUSTOMERS_PER_PAGE
    if result.open_cases < deepest:
        notes.append(f"fewer than {deepest:,} open cases: the deep queue page is not that deep")
    return result


def empty_risk_tables() -> None:
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in RISK_TABLES)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables}")


def vacuum_analyze() -> None:
    with connection.cursor() as cursor:
        for model in RISK_TABLES:
            cursor.execute(f"VACUUM ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def reference_statement(as_of: date) -> int:
    """Every signal's aggregates per customer in one GROUP BY, written by one UPDATE.

    The same aggregates the job's chunk query computes (the shared history: recency,
    distinct active and purchase days over two years, spend, monthly activity; then
    complaints, open tickets, service and discount requests, cancellations), by hand
    in one statement over all customers, into a temporary scratch table. What the
    machine does for this shape of work, without numpy or writing the results.
    """
    params = planning.load_configuration().params
    end = signals.end_of_day(as_of)

    def since(days: int) -> datetime:
        return end - timedelta(days=days)

    values = {
        "end": end,
        "two_years": since(730),
        "year": since(365),
        "half": since(180),
        "prior_half": since(360),
        "month": since(30),
        "before_month": since(210),
        "complaints_from": since(params["complaints"].window_days),
        "service_from": since(params["service_requests"].window_days),
        "discount_from": since(params["discount_near_renewal"].window_days),
        "cancellation_from": since(params["cancellation"].window_days),
        "statuses": list(signals.SCORED_STATUSES),
        "customer_kinds": list(CUSTOMER_KINDS),
        "not_activity": [Interaction.Direction.OUTBOUND, Interaction.Direction.INTERNAL],
        "note": Interaction.Kind.NOTE,
        "purchase": Interaction.Kind.PURCHASE,
        "complaint": Interaction.Kind.COMPLAINT,
        "negative": Interaction.Sentiment.NEGATIVE,
        "tickets": [Interaction.Kind.COMPLAINT, Interaction.Kind.SERVICE_REQUEST],
        "service": Interaction.Kind.SERVICE_REQUEST,
        "discount": Interaction.Kind.DISCOUNT_REQUEST,
        "cancellation": Interaction.Kind.CANCELLATION,
    }
    customers = connection.ops.quote_name(Customer._meta.db_table)
    interactions = connection.ops.quote_name(Interaction._meta.db_table)
    activity = (
        "(kind = ANY(%(customer_kinds)s) OR (direction <> ALL(%(not_activity)s)"
        " AND kind <> %(note)s))"
    )
    day = "(occurred_at AT TIME ZONE 'UTC')::date"
    columns = {
        "first_any": "min(occurred_at)",
        "last_any": "max(occurred_at)",
        "last_activity": f"max(occurred_at) FILTER (WHERE {activity})",
        "first_activity": f"min(occurred_at) FILTER (WHERE {activity}"
        " AND occurred_at >= %(two_years)s)",
        "activity_days": f"count(DISTINCT {day}) FILTER (WHERE {activity}"
        " AND occurred_at >= %(two_years)s)",
        "last_purchase": "max(occurred_at) FILTER (WHERE kind = %(purchase)s)",
        "first_purchase": "min(occurred_at) FILTER (WHERE kind = %(purchase)s"
        " AND occurred_at >= %(two_years)s)",
        "purchase_days": f"count(DISTINCT {day}) FILTER (WHERE kind = %(purchase)s"
        " AND occurred_at >= %(two_years)s)",
        "spend_year": "sum(amount) FILTER (WHERE kind = %(purchase)s AND occurred_at >= %(year)s)",
        "spend_recent": "sum(amount) FILTER (WHERE kind = %(purchase)s"
        " AND occurred_at >= %(half)s)",
        "spend_prior": "sum(amount) FILTER (WHERE kind = %(purchase)s"
        " AND occurred_at >= %(prior_half)s AND occurred_at < %(half)s)",
        "activity_month": f"count(*) FILTER (WHERE {activity} AND occurred_at >= %(month)s)",
        "activity_before": f"count(*) FILTER (WHERE {activity}"
        " AND occurred_at >= %(before_month)s AND occurred_at < %(month)s)",
        "complaints": "count(*) FILTER (WHERE occurred_at >= %(complaints_from)s"
        " AND (kind = %(complaint)s OR sentiment = %(negative)s))",
        "last_complaint": "max(occurred_at) FILTER (WHERE occurred_at >= %(complaints_from)s"
        " AND (kind = %(complaint)s OR sentiment = %(negative)s))",
        "oldest_open": "min(occurred_at) FILTER (WHERE kind = ANY(%(tickets)s)"
        " AND (resolved_at IS NULL OR resolved_at >= %(end)s))",
        "open_tickets": "count(*) FILTER (WHERE kind = ANY(%(tickets)s)"
        " AND (resolved_at IS NULL OR resolved_at >= %(end)s))",
        "service_requests": "count(*) FILTER (WHERE occurred_at >= %(service_from)s"
        " AND kind = %(service)s)",
        "discount_requests": "count(*) FILTER (WHERE occurred_at >= %(discount_from)s"
        " AND kind = %(discount)s)",
        "last_cancellation": "max(occurred_at) FILTER (WHERE occurred_at >= %(cancellation_from)s"
        " AND kind = %(cancellation)s)",
    }
    with transaction.atomic(), connection.cursor() as cursor:
        declared = ", ".join(f"{name} {_column_type(sql)}" for name, sql in columns.items())
        cursor.execute(
            f"CREATE TEMP TABLE bench_risk_reference (customer_id bigint PRIMARY KEY, {declared})"
            " ON COMMIT DROP"
        )
        cursor.execute(
            f"""
            INSERT INTO bench_risk_reference (customer_id)
            SELECT id FROM {customers}
            WHERE archived_at IS NULL AND status = ANY(%(statuses)s)
            """,  # noqa: S608 (quoted model table names, values as parameters)
            values,
        )
        cursor.execute("ANALYZE bench_risk_reference")
        assignments = ", ".join(f"{name} = a.{name}" for name in columns)
        selected = ", ".join(f"{sql} AS {name}" for name, sql in columns.items())
        cursor.execute(
            f"""
            UPDATE bench_risk_reference AS r SET {assignments}
            FROM (
                SELECT customer_id, {selected}
                FROM {interactions}
                WHERE occurred_at < %(end)s
                GROUP BY customer_id
            ) AS a
            WHERE r.customer_id = a.customer_id
            """,  # noqa: S608
            values,
        )
        return cursor.rowcount


def _column_type(aggregate: str) -> str:
    """The scratch table's type for an aggregate's result."""
    if aggregate.startswith(("min(", "max(")):
        return "timestamptz"
    return "numeric" if aggregate.startswith("sum(") else "bigint"


def table(result: Result) -> list[str]:
    rows = [
        "| step | as of | median s | runs s | x reference | SQL s | writes s | commits s | queries "
        "| customers changed "
        "| CustomerRisk rows written | RiskSnapshot rows written | events | notifications "
        "| target | result |",
        "|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for run in result.runs:
        is_reference = run.seen is None
        changed = "—" if is_reference else f"{run.changed:,} of {run.seen:,}"
        written = (
            f"{run.written['bench_risk_reference']:,} (scratch)"
            if is_reference
            else f"{run.rows(CustomerRisk):,}"
        )
        writes_nothing = run.label.startswith("(c)")
        target = (
            "—"
            if is_reference or not run.gated
            else f"≤ {TARGET_RATIO:.0f}x" + (", 0 rows" if writes_nothing else "")
        )
        if is_reference or not run.gated:
            outcome = "—"
        else:
            wrote = sum(run.written.values())
            outcome = "PASS" if run.passed and not (writes_nothing and wrote) else "FAIL"
        rows.append(
            f"| {run.label} | {run.as_of.isoformat()} | {run.seconds:.1f} | "
            f"{fmt(run.all_seconds) or '—'} | "
            f"{'1.0' if is_reference else f'{run.ratio:.1f}'} | {run.sql_seconds:.1f} | "
            f"{run.write_seconds:.1f} | {run.commit_seconds:.1f} | "
            f"{run.queries:,} | {changed} | {written} | "
            f"{'—' if is_reference else f'{run.rows(RiskSnapshot):,}'} | "
            f"{'—' if is_reference else f'{run.rows(RiskEvent):,}'} | "
            f"{'—' if is_reference else f'{run.rows(Notification):,}'} | {target} | {outcome} |"
        )
    return rows


def summary(result: Result) -> list[str]:
    levels = ", ".join(f"{level} {count:,}" for level, count in sorted(result.levels.items()))
    return [
        f"After the runs: {result.customer_risks:,} CustomerRisk rows ({levels}), "
        f"{result.snapshots:,} RiskSnapshot rows, {result.events:,} RiskEvent rows, "
        f"{result.notifications:,} notifications.",
        f"Open cases in the queue: {result.open_cases:,} ({result.open_high:,} high); "
        f"the bench account manager's own: {result.manager_open_cases:,}.",
        *(f"- {note}" for note in result.notes),
    ]
