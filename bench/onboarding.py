"""5,000 customers in onboarding, each with a running six-step checklist at a random
stage (some stalled), for the onboarding overview's page timings."""

import random
from datetime import timedelta

from django.db import connection
from django.utils import timezone

from customers.models import Customer
from retention.models import Actor, Checklist, ChecklistStep, ChecklistTemplate

from .load import copy_rows

RUNNING = 5_000
# (title, done by, due after days, required)
STEPS = [
    ("Welcome call", Actor.STAFF, 2, True),
    ("Complete the profile", Actor.CUSTOMER, 5, True),
    ("Import data", Actor.CUSTOMER, 10, True),
    ("Training session", Actor.STAFF, 14, True),
    ("Invite the team", Actor.CUSTOMER, 21, False),
    ("30-day check-in", Actor.STAFF, 30, True),
]
DEEP_PAGE = 100


def ensure_checklists(log=print) -> None:
    if Checklist.objects.filter(status=Checklist.Status.IN_PROGRESS).count() >= RUNNING:
        return
    log(f"Onboarding: starting {RUNNING:,} checklists ...")
    rng = random.Random(5)
    today = timezone.localdate()
    template = ChecklistTemplate.objects.create(name="Bench onboarding", is_default=True)
    customer_ids = list(
        Customer.objects.filter(status=Customer.Status.ONBOARDING, archived_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:RUNNING]
    )
    required = [spec for spec in STEPS if spec[3]]
    plans = []  # (customer id, started_on, steps done)
    for customer_id in customer_ids:
        started_on = today - timedelta(days=rng.randint(0, 60))
        due_by_now = sum(1 for spec in STEPS if started_on + timedelta(days=spec[2]) <= today)
        done = due_by_now if rng.random() < 0.7 else rng.randint(0, due_by_now)
        plans.append((customer_id, started_on, done))
    now = timezone.now().isoformat()
    copy_rows(
        Checklist,
        ["customer_id", "template_id", "name", "status", "started_on", "required_total"],
        (
            (cid, template.pk, template.name, "in_progress", start.isoformat(), len(required))
            for cid, start, _done in plans
        ),
    )
    checklist_ids = dict(
        Checklist.objects.filter(template=template).values_list("customer_id", "pk")
    )

    def step_rows():
        for cid, start, done in plans:
            for position, (title, actor, days, is_required) in enumerate(STEPS):
                finished = position < done
                yield (
                    checklist_ids[cid], position, title, "", actor,
                    (start + timedelta(days=days)).isoformat(), is_required,
                    "done" if finished else "open", now if finished else None,
                )  # fmt: skip

    columns = ["checklist_id", "position", "title", "description", "actor", "due_on",
               "required", "status", "completed_at"]  # fmt: skip
    copy_rows(ChecklistStep, columns, step_rows())
    checklists = connection.ops.quote_name(Checklist._meta.db_table)
    steps = connection.ops.quote_name(ChecklistStep._meta.db_table)
    customers = connection.ops.quote_name(Customer._meta.db_table)
    with connection.cursor() as cursor:
        # The same counters retention.onboarding.refresh_progress keeps, set-based.
        cursor.execute(
            f"""
            UPDATE {checklists} AS c SET
                required_resolved = s.resolved, optional_total = s.optional_total,
                optional_done = s.optional_done, next_due_on = s.next_due_on
            FROM (
                SELECT checklist_id,
                    count(*) FILTER (WHERE required AND status <> 'open') AS resolved,
                    count(*) FILTER (WHERE NOT required) AS optional_total,
                    count(*) FILTER (WHERE NOT required AND status = 'done') AS optional_done,
                    min(due_on) FILTER (WHERE required AND status = 'open') AS next_due_on
                FROM {steps} GROUP BY checklist_id
            ) AS s
            WHERE s.checklist_id = c.id
            """  # noqa: S608 (quoted model table names)
        )
        cursor.execute(
            f"""
            UPDATE {customers} AS u
            SET onboarding_percent = round(100.0 * c.required_resolved / c.required_total)
            FROM {checklists} AS c
            WHERE c.customer_id = u.id AND c.status = 'in_progress'
            """  # noqa: S608
        )
        cursor.execute(f"ANALYZE {checklists}")
        cursor.execute(f"ANALYZE {steps}")
    with connection.cursor() as cursor:
        # The UPDATE above left 5,000 dead customer rows on pages no longer marked
        # all-visible, which turns the list's index-only COUNT into heap fetches until
        # autovacuum passes; do what it would (VACUUM cannot run in a transaction).
        cursor.execute(f"VACUUM ANALYZE {customers}")
    log(f"Onboarding: {len(plans):,} checklists running")


def figures_lines(runs: int = 5) -> list[str]:
    """The overview caches its completion figures for ten minutes; what a refresh costs."""
    import statistics
    import time

    from retention.onboarding import checklists as onboarding

    since = timezone.localdate() - timedelta(days=365)
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        onboarding.completion_figures(since=since)
        durations.append((time.perf_counter() - started) * 1000)
    return [
        f"Onboarding completion figures (cached 10 minutes by the overview): "
        f"{statistics.median(durations):.1f} ms median to recompute over "
        f"{Checklist.objects.count():,} checklists.",
    ]
