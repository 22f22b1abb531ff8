from datetime import date

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from retention.risk import daily


def _day(text: str | None, name: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError as error:
        raise CommandError(f"{name} must be YYYY-MM-DD: {error}") from error


class Command(BaseCommand):
    help = (
        "Fill the dashboard's daily risk totals (RiskDay) of past days from the risk history "
        "(RiskSnapshot): each day from what was known by that day. Replayed days are "
        "replayed again; days a run recorded are kept unless --replace. Safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--since", help="YYYY-MM-DD (default: the first day with history)")
        parser.add_argument("--until", help="YYYY-MM-DD (default: yesterday)")
        parser.add_argument(
            "--replace", action="store_true", help="Rewrite days the nightly run recorded too."
        )

    def handle(self, *args, since=None, until=None, replace=False, **options) -> None:
        first, last = _day(since, "--since"), _day(until, "--until")
        if last is not None and last >= timezone.localdate():
            raise CommandError("--until must be a past day: today's totals come from the run.")
        started = timezone.now()
        written = daily.replay_days(since=first, until=last, replace=replace)
        seconds = (timezone.now() - started).total_seconds()
        self.stdout.write(f"Daily risk totals: {written} rows written in {seconds:.1f} s.")
