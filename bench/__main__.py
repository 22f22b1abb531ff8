"""`python -m bench`: migrate, load the data set if needed, time the risk recompute
and the pages, report.

Needs DATABASE_URL pointing at PostgreSQL (`make bench` starts a throwaway one).
Exits 1 when a page or the recompute misses its target or a query count grows with
the data.
"""

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "last-results.md"


def main() -> int:
    # Forced, not defaulted: a shell's DJANGO_SETTINGS_MODULE must not pick other settings.
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith(("postgres://", "postgresql://", "pgsql://")):
        print(
            "The bench needs PostgreSQL: set DATABASE_URL=postgres://... "
            "or run `make bench`, which starts a throwaway server.",
            file=sys.stderr,
        )
        return 2

    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection

    from . import calibration, load, loyalty, onboarding, pages, recompute
    from . import dashboard as dashboard_bench
    from . import outbox as outbox_bench
    from . import surveys as survey_bench

    started = time.monotonic()
    print("Migrating ...")
    call_command("migrate", verbosity=0)
    print("Data set ...")
    data = load.ensure_loaded()
    onboarding.ensure_checklists()
    # Before the pages: the at-risk queue shows what the recompute wrote.
    risk_result = recompute.run_all(data)
    calibration_lines, calibration_passed = calibration.run()
    # Before the pages: the customer pages then show points cards with real ledgers.
    loyalty_lines, loyalty_passed = loyalty.run(data)
    print(f"Timing pages ({pages.RUNS} runs each after {pages.WARM_UPS} warm-ups) ...")
    timings = pages.run(data)
    print("Timing the survey pages ...")
    survey_lines, surveys_passed = survey_bench.run(data)
    print("Timing the dashboard ...")
    dashboard_lines, dashboard_passed = dashboard_bench.run(data)
    constant, constant_lines = pages.query_counts_constant(timings)
    outbox_result = outbox_bench.run()
    failing = [timing for timing in timings if not timing.passed]
    recompute_failures = risk_result.failures

    report = [
        f"# Bench results, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"PostgreSQL {connection.pg_version // 10000}, "
        f"{load.CUSTOMERS:,} customers, {load.INTERACTIONS:,} interactions "
        f"(longest history {load.LONGEST_HISTORY:,}); {pages.RUNS} runs per page, "
        "server time = wall time of django.test.Client.get; PASS = median within the target.",
        (
            f"Data set loaded in {data.load_seconds:.1f} s this run."
            if data.load_seconds is not None
            else "Data set reused from an earlier run."
        ),
        "",
        "## Nightly risk recompute",
        "",
        f"One worker (`scoring.compute_all`, chunks of {recompute.planning.DEFAULT_CHUNK_SIZE:,}), "
        "risk tables emptied first; target: a re-run and the next night, the whole job, "
        f"within {recompute.TARGET_RATIO:.0f}x the reference statement, and nothing "
        "written by a same-day re-run (the first run, which inserts every row, is reported). "
        "SQL s = time inside Django's database calls (not the streamed chunk query, which "
        "overlaps with scoring); writes s = its INSERTs; commits s = commits, where the "
        "deferred foreign-key checks of inserted rows run.",
        "",
        *recompute.table(risk_result),
        "",
        *recompute.summary(risk_result),
        "",
        *calibration_lines,
        "## Pages",
        "",
        *table(timings),
        "",
        f"query count constant: {'yes' if constant else 'no'}",
        *(f"- {line}" for line in constant_lines),
        "",
        *onboarding.figures_lines(),
        "",
        *survey_lines,
        *loyalty_lines,
        *dashboard_lines,
        *outbox_bench.section(outbox_result),
    ]
    if failing:
        slowest = max(failing, key=lambda timing: timing.median_ms)
        report += [
            "",
            f"## Slowest failing page: {slowest.page.label} ({slowest.url})",
            "",
            "EXPLAIN (ANALYZE, BUFFERS) of its slowest queries:",
            "",
            "```",
            *pages.explain_slowest(slowest),
            "```",
        ]
    report += ["", f"Whole bench: {time.monotonic() - started:.0f} s"]
    text = "\n".join(report) + "\n"
    print()
    print(text)
    RESULTS.write_text(text, encoding="utf-8")
    print(f"Written to {RESULTS}")
    passed = (
        constant
        and not failing
        and not recompute_failures
        and outbox_result.passed
        and dashboard_passed
    )
    passed = passed and calibration_passed
    return 0 if passed and surveys_passed and loyalty_passed else 1


def table(timings) -> list[str]:
    from .pages import TARGET_MS

    rows = [
        "| page | median ms | p95 ms | queries | SQL ms (median) | target ms | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for timing in timings:
        sql_ms = sorted(timing.sql_ms)[len(timing.sql_ms) // 2]
        rows.append(
            f"| {timing.page.label} | {timing.median_ms:.1f} | {timing.p95_ms:.1f} | "
            f"{timing.queries} | {sql_ms:.1f} | {TARGET_MS:.0f} | "
            f"{'PASS' if timing.passed else 'FAIL'} |"
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
