"""The nightly churn-risk recompute, timed on the loaded data set.

Four timings, one after the other:

(a) reference: one hand-written SQL statement of the same kind, aggregating every
    signal's facts per customer (FILTER clauses over the same windows) and updating a
    scratch table with them; what the machine does for this shape of work;
(b) the first full `scoring.compute_all(today)`, on empty risk tables: every current-risk
    row and every history row written (once, when the app is installed);
(c) the same day again, data unchanged: nothing to write ("Recompute now");
(d) the next day (`today + 1 day`): the nightly steady state.

Target: (c) and (d), the whole job with one worker, within TARGET_RATIO x (a), and (c)
writes nothing. (b) is reported, not held to the ratio: it inserts two rows per
customer (~157,000) into indexed tables with foreign keys, which the reference's
UPDATE of a scratch table does not; the bench prints what those inserts cost.
The risk tables are emptied first, so every run starts alike.
"""

import re
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

from . import pages

TARGET_RATIO = 3.0
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
    log("  (a) reference statement, timed run ...")
    updated = timed(reference, lambda: reference_statement(today))
    reference.written = Counter({"bench_risk_reference": updated})
    log(f"      {reference.seconds:.1f} s, {updated:,} scratch rows updated")
    runs = [reference]
    steps = [
        ("(b) compute_all, first run (empty tables)", today),
        ("(c) compute_all, same day again (no change)", today),
        ("(d) compute_all, next day", today + timedelta(days=1)),
    ]
    for label, as_of in steps:
        log(f"  {label} ...")
        run = Run(label, as_of)
        outcome = timed(run, lambda as_of=as_of: scoring.compute_all(as_of))
        run.seen, run.changed = outcome.seen, outcome.changed
        run.ratio = run.seconds / reference.seconds
        run.gated = not label.startswith("(b)")
        runs.append(run)
        log(
            f"      {run.seconds:.1f} s ({run.ratio:.1f}x), {run.queries} queries, "
            f"{run.changed:,} of {run.seen:,} customers changed"
        )
        vacuum_analyze()  # untimed, as autovacuum would between two nights
    return summarise(runs, data)


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
    """Every signal's facts per customer in one GROUP BY, written by one UPDATE.

    The scratch table (a temporary one, dropped at the end) holds the customers
    the job scores; filling it is part of the timing but costs little next to the
    statement. Windows come from the same configuration the job uses.
    """
    params = planning.load_configuration().params
    end = signals.end_of_day(as_of)

    def since(key: str) -> datetime:
        return end - timedelta(days=params[key].window_days)

    values = {
        "end": end,
        "year_ago": end - timedelta(days=365),
        "complaints_from": since("complaints"),
        "service_from": since("service_requests"),
        "discount_from": since("discount_near_renewal"),
        "cancellation_from": since("cancellation"),
        "statuses": list(signals.SCORED_STATUSES),
        "complaint": Interaction.Kind.COMPLAINT,
        "negative": Interaction.Sentiment.NEGATIVE,
        "service": Interaction.Kind.SERVICE_REQUEST,
        "discount": Interaction.Kind.DISCOUNT_REQUEST,
        "cancellation": Interaction.Kind.CANCELLATION,
    }
    customers = connection.ops.quote_name(Customer._meta.db_table)
    interactions = connection.ops.quote_name(Interaction._meta.db_table)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            CREATE TEMP TABLE bench_risk_reference (
                customer_id bigint PRIMARY KEY,
                last_at timestamptz, first_in_year timestamptz, count_in_year integer,
                recent_complaints_window integer, negative integer,
                recent_service_window integer, service_requests integer,
                discount_requests integer, last_discount timestamptz,
                cancellations integer, last_cancellation timestamptz, total integer
            ) ON COMMIT DROP
            """
        )
        cursor.execute(
            f"""
            INSERT INTO bench_risk_reference (customer_id)
            SELECT id FROM {customers}
            WHERE archived_at IS NULL AND status = ANY(%(statuses)s) AND created_at < %(end)s
            """,  # noqa: S608 (quoted model table names, values as parameters)
            values,
        )
        cursor.execute("ANALYZE bench_risk_reference")
        cursor.execute(
            f"""
            UPDATE bench_risk_reference AS r SET
                last_at = a.last_at, first_in_year = a.first_in_year,
                count_in_year = a.count_in_year,
                recent_complaints_window = a.recent_complaints_window, negative = a.negative,
                recent_service_window = a.recent_service_window,
                service_requests = a.service_requests,
                discount_requests = a.discount_requests, last_discount = a.last_discount,
                cancellations = a.cancellations, last_cancellation = a.last_cancellation,
                total = a.total
            FROM (
                SELECT customer_id,
                    max(occurred_at) AS last_at,
                    min(occurred_at) FILTER (WHERE occurred_at >= %(year_ago)s) AS first_in_year,
                    count(*) FILTER (WHERE occurred_at >= %(year_ago)s) AS count_in_year,
                    count(*) FILTER (WHERE occurred_at >= %(complaints_from)s)
                        AS recent_complaints_window,
                    count(*) FILTER (WHERE occurred_at >= %(complaints_from)s
                        AND (kind = %(complaint)s OR sentiment = %(negative)s)) AS negative,
                    count(*) FILTER (WHERE occurred_at >= %(service_from)s)
                        AS recent_service_window,
                    count(*) FILTER (WHERE occurred_at >= %(service_from)s
                        AND kind = %(service)s) AS service_requests,
                    count(*) FILTER (WHERE occurred_at >= %(discount_from)s
                        AND kind = %(discount)s) AS discount_requests,
                    max(occurred_at) FILTER (WHERE kind = %(discount)s) AS last_discount,
                    count(*) FILTER (WHERE occurred_at >= %(cancellation_from)s
                        AND kind = %(cancellation)s) AS cancellations,
                    max(occurred_at) FILTER (WHERE occurred_at >= %(cancellation_from)s
                        AND kind = %(cancellation)s) AS last_cancellation,
                    count(*) AS total
                FROM {interactions}
                WHERE occurred_at < %(end)s
                GROUP BY customer_id
            ) AS a
            WHERE r.customer_id = a.customer_id
            """,  # noqa: S608
            values,
        )
        return cursor.rowcount


def table(result: Result) -> list[str]:
    rows = [
        "| step | as of | seconds | x reference | SQL s | writes s | commits s | queries "
        "| customers changed "
        "| CustomerRisk rows written | RiskSnapshot rows written | events | notifications "
        "| target | result |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
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
