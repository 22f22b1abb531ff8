"""Page timings: each page requested through django.test.Client, queries captured.

Server time is the wall time of `client.get` (middleware, views, SQL, templates),
measured after a couple of warm-up requests. Every page has the same target.
"""

import html
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.http import urlencode

from .load import Dataset

TARGET_MS = 100.0
RUNS = 30
WARM_UPS = 2
SLOW_QUERIES_EXPLAINED = 3
QUEUE_FIRST = "Queue, page 1 (admin)"
QUEUE_DEEP_PAGE = 50
QUEUE_DEEP = f"Queue, page {QUEUE_DEEP_PAGE} (admin)"
ONBOARDING_FIRST = "Onboarding overview, page 1 (admin)"
ONBOARDING_DEEP = "Onboarding overview, page 100 (admin)"
# The "Show older entries" button of a timeline page.
MORE_LINK = re.compile(r'hx-get="(/customers/\d+/timeline/\?[^"]*)"')


class BenchError(RuntimeError):
    pass


@dataclass(frozen=True)
class Page:
    label: str
    client: str  # "admin" or "manager"
    url: str | Callable[[], str]  # a callable for URLs only known from another page


@dataclass
class Timing:
    page: Page
    url: str
    durations_ms: list[float]
    query_counts: list[int]
    sql_ms: list[float]
    last_queries: list[dict] = field(default_factory=list)

    @property
    def median_ms(self) -> float:
        return statistics.median(self.durations_ms)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.durations_ms)
        return ordered[max(0, round(0.95 * len(ordered)) - 1)]

    @property
    def queries(self) -> str:
        low, high = min(self.query_counts), max(self.query_counts)
        return str(low) if low == high else f"{low}-{high}"

    @property
    def passed(self) -> bool:
        # The median: on a shared CI machine the p95 mostly measures the neighbours.
        return self.median_ms <= TARGET_MS


def build_pages(data: Dataset, clients: dict[str, Client]) -> list[Page]:
    customers = reverse("customers:list")
    queue = reverse("retention:queue")
    onboarding = reverse("retention:onboarding")
    longest = reverse("customers:detail", args=[data.longest_history_pk])

    def second_timeline_page() -> str:
        response = _get(clients["admin"], longest)
        match = MORE_LINK.search(response.content.decode())
        if match is None:
            raise BenchError(f"No 'Show older entries' link on {longest}")
        return html.unescape(match.group(1))

    renewal_and_tag = urlencode({"renewal": "90", "tag": data.filter_tag_pk})
    return [
        Page("Customer list, page 1", "admin", customers),
        Page(f"Search q={data.search_term}", "admin", f"{customers}?q={data.search_term}"),
        Page("Filter status=at_risk", "admin", f"{customers}?status=at_risk"),
        Page("Filter renewal=90 days + tag", "admin", f"{customers}?{renewal_and_tag}"),
        Page("Customer list, page 500", "admin", f"{customers}?page=500"),
        Page("Sort by monthly value desc", "admin", f"{customers}?sort=-value"),
        Page("My customers (account manager)", "manager", customers),
        Page("Detail, longest history", "admin", longest),
        Page("Timeline page 2, longest history", "admin", second_timeline_page),
        Page(
            "Detail, short history",
            "admin",
            reverse("customers:detail", args=[data.short_history_pk]),
        ),
        # The customer page's cards, each fetched by htmx right after the page.
        *(
            Page(
                f"Card {name}, longest history",
                "admin",
                reverse("customers:panel", args=[data.longest_history_pk, name]),
            )
            for name in ("onboarding", "risk", "loyalty", "followups", "surveys")
        ),
        # The at-risk queue: needs the risk rows the recompute bench wrote.
        Page(QUEUE_FIRST, "admin", queue),
        Page("Queue, level=high (admin)", "admin", f"{queue}?level=high"),
        Page(QUEUE_DEEP, "admin", f"{queue}?page={QUEUE_DEEP_PAGE}"),
        Page("Queue, own customers (account manager)", "manager", queue),
        # 5,000 running checklists (bench/onboarding.py).
        Page(ONBOARDING_FIRST, "admin", onboarding),
        Page("Onboarding overview, stalled (admin)", "admin", f"{onboarding}?state=stalled"),
        Page(ONBOARDING_DEEP, "admin", f"{onboarding}?page=100"),
        Page("Onboarding overview, own (account manager)", "manager", f"{onboarding}?owner=me"),
    ]


def run(data: Dataset, log=print) -> list[Timing]:
    """Time every page RUNS times, round-robin, so a busy moment hits all pages alike."""
    clients = {"admin": Client(), "manager": Client()}
    clients["admin"].force_login(data.admin)
    clients["manager"].force_login(data.manager)
    timings = []
    for page in build_pages(data, clients):
        url = page.url() if callable(page.url) else page.url
        for _ in range(WARM_UPS):
            _get(clients[page.client], url)
        timings.append(Timing(page, url, [], [], []))
    for _ in range(RUNS):
        for timing in timings:
            measure_once(timing, clients[timing.page.client])
    for timing in timings:
        log(
            f"  {timing.page.label:<34} median {timing.median_ms:6.1f} ms, "
            f"p95 {timing.p95_ms:6.1f} ms, {timing.queries} queries"
        )
    return timings


def measure_once(timing: Timing, client: Client) -> None:
    with CaptureQueriesContext(connection) as captured:
        started = time.perf_counter()
        _get(client, timing.url)
        elapsed = time.perf_counter() - started
    timing.durations_ms.append(elapsed * 1000)
    timing.query_counts.append(len(captured))
    timing.sql_ms.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
    timing.last_queries = list(captured.captured_queries)


def _get(client: Client, url: str):
    response = client.get(url)
    if response.status_code != 200:
        raise BenchError(f"GET {url} answered {response.status_code}, expected 200")
    return response


def query_counts_constant(timings: list[Timing]) -> tuple[bool, list[str]]:
    """Page 1 vs a deep page (list, queue), a short vs the longest history: same query count."""
    by_label = {timing.page.label: timing for timing in timings}
    pairs = [
        ("Customer list, page 1", "Customer list, page 500"),
        ("Detail, short history", "Detail, longest history"),
        (QUEUE_FIRST, QUEUE_DEEP),
        (ONBOARDING_FIRST, ONBOARDING_DEEP),
    ]
    lines, constant = [], True
    for first, second in pairs:
        a, b = by_label[first], by_label[second]
        same = set(a.query_counts) == set(b.query_counts) and len(set(a.query_counts)) == 1
        constant = constant and same
        lines.append(
            f"{first}: {a.queries} vs {second}: {b.queries} -> {'same' if same else 'DIFFERENT'}"
        )
    return constant, lines


def explain_slowest(timing: Timing) -> list[str]:
    """EXPLAIN ANALYZE of the page's slowest SELECTs (from its last measured run)."""
    selects = [q for q in timing.last_queries if q["sql"].lstrip().upper().startswith("SELECT")]
    selects.sort(key=lambda q: float(q["time"]), reverse=True)
    lines = []
    with connection.cursor() as cursor:
        for query in selects[:SLOW_QUERIES_EXPLAINED]:
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {query['sql']}")
            plan = [row[0] for row in cursor.fetchall()]
            total = next((line for line in plan if line.startswith("Execution Time")), "?")
            lines.append(f"-- {float(query['time']) * 1000:.1f} ms in the page; {total}")
            lines.append(query["sql"])
            lines.extend(plan)
            lines.append("")
    return lines
