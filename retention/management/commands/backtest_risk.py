from datetime import date

from django.core.management.base import BaseCommand, CommandError

from retention.risk.backtest import backtest


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


class Command(BaseCommand):
    help = "Compare customers flagged on a past date with what happened to them afterwards."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD")
        parser.add_argument("--horizon", type=int, default=90, help="days to look ahead")

    def handle(self, *args, as_of: str, horizon: int, **options) -> None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError as error:
            raise CommandError(f"--as-of must be YYYY-MM-DD: {error}") from error
        report = backtest(day, horizon)
        self.stdout.write(
            f"As of {report.as_of}, {report.customers} customers scored; {report.went_bad} "
            f"churned or went silent in the next {report.horizon_days} days "
            f"(base rate {_pct(report.base_rate)})."
        )
        self.stdout.write(
            f"{'':28} {'flagged':>8} {'hits':>6} {'precision':>10} {'recall':>8} {'lift':>6}"
        )
        for row in report.rows:
            lift = "—" if row.lift is None else f"{row.lift:.2f}"
            self.stdout.write(
                f"{row.name:28} {row.flagged:>8} {row.hits:>6} {_pct(row.precision):>10} "
                f"{_pct(row.recall):>8} {lift:>6}"
            )
