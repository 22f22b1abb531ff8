from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from retention.risk import daily, planning, scoring


class Command(BaseCommand):
    help = (
        "Compute churn risk for every customer from data up to --as-of. Today (the default): "
        "the current risk, events and notices. A past date: only that date's history."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", help="YYYY-MM-DD (default: today)")
        parser.add_argument("--chunk-size", type=int, default=planning.DEFAULT_CHUNK_SIZE)

    def handle(self, *args, as_of=None, chunk_size=None, **options) -> None:
        try:
            day = date.fromisoformat(as_of) if as_of else timezone.localdate()
        except ValueError as error:
            raise CommandError(f"--as-of must be YYYY-MM-DD: {error}") from error
        planning.ensure_signal_settings()
        started = timezone.now()
        outcome = scoring.compute_all(day, chunk_size)
        seconds = (timezone.now() - started).total_seconds()
        if scoring.is_past(day):
            self.stdout.write(
                f"Risk as of {day} (a past date): {outcome.seen} customers scored, "
                f"written to that date's history only, in {seconds:.1f} s."
            )
        else:
            daily.record_day(day)  # the dashboard's totals, as a nightly run writes them
            self.stdout.write(
                f"Risk as of {day}: {outcome.seen} customers scored, {outcome.changed} changed, "
                f"{outcome.rose} rose, in {seconds:.1f} s."
            )
        if not outcome.seen:
            self.stdout.write(
                "No customer was scored: only onboarding, active and at-risk customers (and, "
                "for a past date, those who churned later) whose relationship had begun by "
                "that date (customer since, or their first interaction) are scored."
            )
