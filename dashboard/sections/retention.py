"""The retention work's effect and the risk now."""

from django.utils.translation import gettext as _

from retention.risk import cases

from .. import saves
from ..figures import Figures
from ..periods import Period
from ..scope import Scope
from ..tables import Series, Table
from ..tiles import DOWN, UP, Section, Tile
from .common import Links, money, queue_page


def effect_section(figures: Figures, scope: Scope, period: Period, links: Links) -> Section:
    now, before = figures.effect, figures.effect_before
    was = period.previous().title

    def link(which: str) -> str:
        return saves.cases_url(scope, period, which) if links.queue else ""

    table = Table(
        "save_rate_by_action",
        _("Save rate by what was done"),
        [_("What was done"), _("Cases"), _("Saved"), _("Lost"), _("Save rate")],
        [[str(a.label), a.cases, a.saved, a.lost, a.save_rate] for a in now.by_action],
        series=[Series(_("Save rate (%)"), 4)],
        percent_columns=frozenset({4}),
    )
    return Section(
        "effect",
        _("The retention work's effect"),
        _(
            "At-risk cases opened, and resolved as saved or lost, in the period. A case "
            "counts under everything done between its opening and its resolution."
        ),
        [
            Tile(
                "cases_opened",
                _("Cases opened"),
                now.opened,
                before.opened,
                link=link(cases.OPENED),
                before_label=was,
            ),
            Tile(
                "cases_saved",
                _("Saved"),
                now.saved,
                before.saved,
                good=UP,
                link=link(cases.SAVED),
                before_label=was,
            ),
            Tile(
                "cases_lost",
                _("Lost"),
                now.lost,
                before.lost,
                good=DOWN,
                link=link(cases.LOST),
                before_label=was,
            ),
            Tile(
                "save_rate",
                _("Save rate"),
                now.save_rate,
                before.save_rate,
                "%",
                UP,
                explanation=_("Saved ÷ (saved + lost) × 100."),
                before_label=was,
            ),
            Tile(
                "value_saved",
                _("Monthly value saved"),
                now.value_saved,
                before.value_saved,
                good=UP,
                link=link(cases.SAVED),
                before_label=was,
            ),
        ],
        [table],
        tile_width=4,
        half=True,
    )


def risk_section(figures: Figures, scope: Scope, period: Period, links: Links) -> Section:
    risk = figures.risk
    queue = links.queue
    trend = Table(
        "risk_trend",
        _("Customers per risk level"),
        [_("Period"), _("Low"), _("Medium"), _("High"), _("Monthly value at risk")],
        [[t.period.label, t.low, t.medium, t.high, t.value_at_risk] for t in figures.risk_trend],
        series=[
            Series(_("Low"), 1, stack="levels", colour="good"),
            Series(_("Medium"), 2, stack="levels", colour="middle"),
            Series(_("High"), 3, stack="levels", colour="bad"),
        ],
    )
    reasons = Table(
        "risk_reasons",
        _("The reasons behind most risk"),
        [_("Reason"), _("Customers"), _("Risk points"), _("Share")],
        [[r.label, r.customers, r.points, r.share] for r in figures.reasons],
        series=[Series(_("Share (%)"), 3)],
        percent_columns=frozenset({3}),
    )
    return Section(
        "risk",
        _("Risk now"),
        _("The chance of being lost within the risk horizon, as last night's run scored it."),
        [
            Tile(
                "risk_high",
                _("High risk"),
                risk.high,
                link=queue_page(scope, level="high") if queue else "",
                explanation=_("%(value)s a month at risk") % {"value": money(risk.value_high)},
            ),
            Tile(
                "risk_medium",
                _("Medium risk"),
                risk.medium,
                link=queue_page(scope) if queue else "",
                explanation=_("%(value)s a month at risk") % {"value": money(risk.value_medium)},
            ),
            Tile("risk_low", _("Low risk"), risk.low),
            Tile(
                "open_cases",
                _("Open cases"),
                risk.open_cases,
                link=queue_page(scope) if queue else "",
                explanation=_("In the at-risk queue, not snoozed."),
            ),
        ],
        [trend, reasons],
        tile_width=3,
    )
