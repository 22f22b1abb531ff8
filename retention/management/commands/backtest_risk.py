from datetime import date

from django.core.management.base import BaseCommand, CommandError

from retention.risk.backtest import backtest


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


class Command(BaseCommand):
    help = (
        "On a past date, compare each customer's probability then with whether they were "
        "lost within the horizon afterwards. Writes nothing."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--as-of", required=True, help="YYYY-MM-DD")
        parser.add_argument("--horizon", type=int, help="days to look ahead (default: setting)")

    def handle(self, *args, as_of: str, horizon: int | None, **options) -> None:
        try:
            day = date.fromisoformat(as_of)
        except ValueError as error:
            raise CommandError(f"--as-of must be YYYY-MM-DD: {error}") from error
        report = backtest(day, horizon)
        write = self.stdout.write
        if report.get("too_few"):
            write(
                f"As of {day}: only {report['customers']} customers could be scored, too few "
                "for figures. Customers count from their customer-since date or first "
                "interaction, whichever is earlier."
            )
            return
        write(
            f"As of {day}, {report['customers']} customers; {report['lost']} lost within "
            f"{report['horizon_days']} days (base rate {_pct(report['base_rate'])})."
        )
        if not report["complete"]:
            write("The horizon is not over yet: some of those counted as lost may still come back.")
        write(f"{'':34} {'model':>10} {'baseline':>10}")
        model, baseline = report["model"], report["baseline"]
        write(f"{'ROC AUC':34} {_num(model['auc']):>10} {_num(baseline['auc']):>10}")
        for top in ("top10", "top20"):
            label = f"riskiest {top[3:]} %: precision / lift"
            precision = _pct(model[top]["precision"]), _pct(baseline[top]["precision"])
            write(f"{label:34} {precision[0]:>10} {precision[1]:>10}")
            write(f"{'':34} {_num(model[top]['lift'], 2):>10} {_num(baseline[top]['lift'], 2):>10}")
        write(
            f"Baseline: days since the last contact. Calibration error: "
            f"{_pct(report['calibration_error'])} (mean gap per tenth)."
        )
        write("Calibration, per tenth of customers by probability: predicted / observed")
        for row in report["calibration"]:
            write(f"  {row['count']:>7}  {_pct(row['predicted']):>8}  {_pct(row['observed']):>8}")
        write("Per signal (strength 50 % or more): customers, lost rate, lift")
        for row in report["signals"]:
            write(
                f"  {row['key']:24} {row['strong']:>7}  {_pct(row['lost_rate']):>8}  "
                f"{_num(row['lift'], 2):>6}   ({row['with_data']} with data)"
            )
