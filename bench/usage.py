"""Usage events through POST /api/v1/usage/: batches of 100 for 10 seconds, events/s.

`python -m bench.usage` runs on a throwaway test database of whatever DATABASE_URL
names (SQLite by default, a file, so writes hit the disk as in production), through
the whole Django stack (token auth, parsing, checks, the upsert), without a network.
Target: 100 events a second sustained. Not part of `make bench`.
"""

import os
import random
import sys
import tempfile
import time
from datetime import timedelta

BATCH = 100
SECONDS = 10.0
CUSTOMERS = 1000
EVENT_NAMES = ["logged in", "used reports", "visited pricing page", "exported csv", "invited user"]
TARGET = 100.0


def main() -> int:
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings_test"
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import setup_test_environment
    from django.utils import timezone
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from customers.access import STAFF
    from customers.models import Customer, UsageDay
    from tests.factories import UserFactory

    if connection.vendor == "sqlite":
        path = os.path.join(tempfile.mkdtemp(), "bench_usage.sqlite3")
        connection.settings_dict["TEST"]["NAME"] = path
    setup_test_environment()
    old_name = connection.creation.create_test_db(verbosity=0)
    try:
        user = UserFactory(role=STAFF)
        Customer.objects.bulk_create(
            Customer(name=f"C{n}", external_id=f"K-{n}", email=f"c{n}@example.org")
            for n in range(CUSTOMERS)
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
        now = timezone.now()
        rng = random.Random(16)

        def batch() -> list[dict]:
            return [
                {
                    "customer_external_id": f"K-{rng.randrange(CUSTOMERS)}",
                    "event": rng.choice(EVENT_NAMES),
                    "at": (now - timedelta(days=rng.randrange(90))).isoformat(),
                }
                for _ in range(BATCH)
            ]

        sent = batches = 0
        slowest = 0.0
        started = time.perf_counter()
        while time.perf_counter() - started < SECONDS:
            body = {"events": batch()}
            tick = time.perf_counter()
            response = client.post("/api/v1/usage/", body, format="json")
            slowest = max(slowest, time.perf_counter() - tick)
            if response.status_code != 201:
                print(response.status_code, response.content[:300], file=sys.stderr)
                return 1
            sent += BATCH
            batches += 1
        seconds = time.perf_counter() - started
        rate = sent / seconds
        stored = sum(UsageDay.objects.values_list("count", flat=True))
        print(
            f"{connection.vendor}: {sent:,} events in {batches} batches of {BATCH} over "
            f"{seconds:.1f} s: {rate:,.0f} events/s (slowest batch {slowest * 1000:.0f} ms); "
            f"{UsageDay.objects.count():,} rows hold {stored:,} events "
            f"(target ≥ {TARGET:.0f}/s: {'PASS' if rate >= TARGET else 'FAIL'})"
        )
        return 0 if rate >= TARGET and stored == sent else 1
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)


if __name__ == "__main__":
    sys.exit(main())
