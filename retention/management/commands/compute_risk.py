from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from retention.risk import planning, scoring


class Command(BaseCommand):
    help = "Recompute churn risk for every customer, reading only data up to --as-of."

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
        self.stdout.write(
            f"Risk as of {day}: {outcome.seen} customers scored, {outcome.changed} changed, "
            f"{outcome.rose} rose, in {seconds:.1f} s."
        )
