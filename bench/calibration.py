"""Learning the risk weights on the loaded data set, and the backtest of the result.

`calibration.calibrate` over four past dates (the newest a horizon ago, a month
apart): every customer's signal strengths on each date, their outcomes, the fit,
and the backtest of the weights in use and of the suggested ones on the newest
date. Target: under TARGET_SECONDS at 100,000 customers. The suggested weights are
not applied, so the pages after this see the same scores.
"""

import time

TARGET_SECONDS = 60.0


def _pct(value) -> str:
    return "—" if value is None else f"{100 * value:.1f} %"


def _num(value) -> str:
    return "—" if value is None else f"{value:.3f}"


def run(log=print) -> tuple[list[str], bool]:
    from retention.models import WeightSet
    from retention.risk import calibration

    log("Risk calibration (four past dates) ...")
    started = time.perf_counter()
    weight_set = calibration.calibrate(WeightSet.objects.create())
    seconds = time.perf_counter() - started
    log(f"      {seconds:.1f} s, {weight_set.get_status_display()}")
    figures = weight_set.figures
    passed = seconds <= TARGET_SECONDS
    lines = [
        "## Risk calibration",
        "",
        f"`calibration.calibrate` on {', '.join(figures['dates'])} "
        f"(horizon {figures['horizon_days']} days): {seconds:.1f} s for "
        f"{figures['training_customers']:,} training rows and the holdout backtests "
        f"(target ≤ {TARGET_SECONDS:.0f} s: {'PASS' if passed else 'FAIL'}); "
        f"outcome: {weight_set.get_status_display()}. {weight_set.message}",
        "",
    ]
    if "suggested" in figures:
        lines += [
            f"Holdout {figures['dates'][0]}: {figures['current']['customers']:,} customers, "
            f"{figures['current']['lost']:,} lost (base rate "
            f"{_pct(figures['current']['base_rate'])}).",
            "",
            "| weights | AUC | baseline AUC | top 10 % precision | top 20 % precision "
            "| calibration error |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for name in ("current", "suggested"):
            f = figures[name]
            lines.append(
                f"| {name} | {_num(f['model']['auc'])} | {_num(f['baseline']['auc'])} | "
                f"{_pct(f['model']['top10']['precision'])} | "
                f"{_pct(f['model']['top20']['precision'])} | {_pct(f['calibration_error'])} |"
            )
        lines.append("")
    return lines, passed
