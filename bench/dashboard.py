"""The owner's dashboard on the loaded data set: its nightly builds, then the page.

1. The nightly steps the dashboard reads: the membership spells rebuilt from the
   status history and purchases (customers.membership.rebuild) and the risk nights
   replayed from the snapshots (retention.risk.daily.replay_days), each timed.
2. The page, as an admin (everyone) and as an account manager (their book), for a
   month, a quarter and a year: **cold** (the figures' cache emptied before every
   request: every selector runs) and **warm** (from the cache). Target: the cold
   median under TARGET_MS. The customer list's page 1 is timed in the same rounds
   as the reference, so a noisy machine shows in both.
3. Query counts: the same for a month and a year (they do not grow with the data).

`python -m bench.dashboard` runs this part alone on an already loaded data set.
"""

import os
import time

TARGET_MS = 200.0
RUNS = 15


def run(data, log=print) -> tuple[list[str], bool]:
    """Report lines (markdown) and whether the dashboard met its target."""
    from django.core.cache import cache
    from django.test import Client
    from django.urls import reverse

    from customers import membership
    from retention.risk import daily

    from . import pages

    steps = []
    for label, action in [
        ("membership spells, rebuilt", lambda: membership.rebuild()),
        ("risk nights replayed from the snapshots", lambda: daily.replay_days(replace=True)),
    ]:
        log(f"Dashboard: {label} ...")
        started = time.perf_counter()
        outcome = action()
        steps.append((label, time.perf_counter() - started, outcome))
        log(f"      {steps[-1][1]:.1f} s -> {outcome:,}")

    admin, manager = Client(), Client()
    admin.force_login(data.admin)
    manager.force_login(data.manager)
    home = reverse("home")
    page_list = [
        ("Dashboard, last month (admin, everyone)", admin, home),
        ("Dashboard, a quarter (admin, everyone)", admin, f"{home}?period=quarter"),
        ("Dashboard, a year (admin, everyone)", admin, f"{home}?period=year"),
        ("Dashboard, last month (manager, own book)", manager, home),
        ("Customer list, page 1 (reference)", admin, reverse("customers:list")),
    ]
    cold = {
        label: pages.Timing(pages.Page(label, "", url), url, [], [], [])
        for label, _c, url in page_list
    }
    warm = {
        label: pages.Timing(pages.Page(label, "", url), url, [], [], [])
        for label, _c, url in page_list
    }
    for _label, client, url in page_list:
        for _ in range(pages.WARM_UPS):
            pages._get(client, url)
    load_before = os.getloadavg()[0]
    for _ in range(RUNS):
        for label, client, _url in page_list:
            cache.clear()
            pages.measure_once(cold[label], client)
            pages.measure_once(warm[label], client)
    load_after = os.getloadavg()[0]

    reference = cold["Customer list, page 1 (reference)"].median_ms
    lines = [
        "## Dashboard",
        "",
        "Nightly steps: "
        + ", ".join(f"{label} {seconds:.1f} s ({outcome:,})" for label, seconds, outcome in steps)
        + ".",
        "",
        f"{RUNS} rounds, each page cold (cache emptied first) then warm; target: cold median "
        f"under {TARGET_MS:.0f} ms. Load average {load_before:.1f} before, {load_after:.1f} after.",
        "",
        "| page | cold median ms | cold p95 | warm median ms | queries cold / warm "
        "| x reference | result |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    passed = True
    for label, _client, _url in page_list:
        c, w = cold[label], warm[label]
        is_reference = "reference" in label
        ok = is_reference or c.median_ms <= TARGET_MS
        passed &= ok
        lines.append(
            f"| {label} | {c.median_ms:.0f} | {c.p95_ms:.0f} | {w.median_ms:.0f} | "
            f"{c.queries} / {w.queries} | {c.median_ms / reference:.1f} | "
            f"{'' if is_reference else 'PASS' if ok else 'FAIL'} |"
        )
    month, year = cold[page_list[0][0]], cold[page_list[2][0]]
    constant = month.queries == year.queries
    passed &= constant
    lines += ["", f"Query count the same for a month and a year: {'yes' if constant else 'no'}", ""]
    return lines, passed


if __name__ == "__main__":
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    import django

    django.setup()
    from . import load

    report, ok = run(load.ensure_loaded())
    print("\n".join(report))
    raise SystemExit(0 if ok else 1)
