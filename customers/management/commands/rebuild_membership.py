"""`manage.py rebuild_membership`: recompute the membership spells now (the nightly job's
work), e.g. after loading data or changing LAPSED_AFTER_DAYS."""

import time
from datetime import date

from django.core.management.base import BaseCommand

from customers import membership


class Command(BaseCommand):
    help = "Recompute who was a customer when (the churn and cohort figures)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            default=None,
            help="Compute as if today were this day (YYYY-MM-DD). Default: today.",
        )

    def handle(self, *args, as_of: date | None, **options) -> None:
        started = time.monotonic()
        written = membership.rebuild(today=as_of)
        elapsed = time.monotonic() - started
        self.stdout.write(self.style.SUCCESS(f"{written} membership spells in {elapsed:.1f} s"))
