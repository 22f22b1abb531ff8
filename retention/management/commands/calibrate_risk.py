from django.core.management.base import BaseCommand

from retention.models import WeightSet
from retention.risk import calibration


class Command(BaseCommand):
    help = (
        "Learn the risk signal weights from the history (four past dates), as the weekly "
        "job does, and print the backtest of the weights in use and of the suggested ones. "
        "--apply uses the suggested weights from now on; --if-none only when no weights "
        "were ever applied (make run's first start)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--apply", action="store_true")
        parser.add_argument("--if-none", action="store_true")

    def handle(self, *args, apply: bool, if_none: bool, **options) -> None:
        applied = WeightSet.objects.filter(
            status__in=[WeightSet.Status.APPLIED, WeightSet.Status.SUPERSEDED]
        )
        if if_none and applied.exists():
            self.stdout.write("Risk weights were applied before: not calibrating again.")
            return
        weight_set = calibration.calibrate(WeightSet.objects.create())
        if weight_set.status != WeightSet.Status.SUGGESTED:
            self.stdout.write(f"{weight_set.get_status_display()}: {weight_set.message}")
            return
        figures = weight_set.figures
        for name in ("current", "suggested"):
            report = figures[name]
            self.stdout.write(
                f"{name:9} weights on {figures['dates'][0]}: AUC {report['model']['auc']:.3f} "
                f"(days since last contact: {report['baseline']['auc']:.3f}), calibration "
                f"error {100 * report['calibration_error']:.1f} %"
            )
        if apply:
            calibration.weights_apply(weight_set=weight_set, by=None)
            self.stdout.write("Suggested weights applied.")
        else:
            self.stdout.write("Suggested; apply them on the Risk model page or with --apply.")
