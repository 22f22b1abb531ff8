"""Customers gained and lost, the revenue that went with them, and cohorts."""

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .. import churn
from ..figures import Figures
from ..periods import Period
from ..scope import Scope
from ..tables import Series, Table
from ..tiles import DOWN, UP, Section, Tile
from .common import Links, customers_page, queue_page


def churn_section(figures: Figures, scope: Scope, period: Period, links: Links) -> Section:
    now, before = figures.churn[-1], figures.churn[-2]
    was = before.period.title

    def link(kind: str, figure=now) -> str:
        return customers_page(churn.customers_link(kind, figure.period, scope))

    tiles = [
        Tile(
            "rate_vs_gained",
            _("Churn: lost ÷ gained"),
            now.rate_vs_gained,
            before.rate_vs_gained,
            "%",
            DOWN,
            link("lost"),
            _(
                "Lost ÷ gained × 100, the formula small businesses are taught: "
                "10 lost against 250 gained is 4 %."
            ),
            was,
        ),
        Tile(
            "rate_vs_start",
            _("Churn: lost ÷ customers at start"),
            now.rate_vs_start,
            before.rate_vs_start,
            "%",
            DOWN,
            link("lost"),
            _("Lost ÷ customers at the start of the period × 100, the standard churn rate."),
            was,
        ),
        Tile(
            "gained",
            _("Gained"),
            now.gained,
            before.gained,
            good=UP,
            link=link("gained"),
            explanation=_("%(new)s new, %(back)s came back")
            % {"new": now.gained_new, "back": now.gained_reactivated},
            before_label=was,
        ),
        Tile(
            "lost",
            _("Lost"),
            now.lost,
            before.lost,
            good=DOWN,
            link=link("lost"),
            explanation=ngettext(
                "%(churned)s churned, %(lapsed)s without a purchase for %(days)s day",
                "%(churned)s churned, %(lapsed)s without a purchase for %(days)s days",
                settings.LAPSED_AFTER_DAYS,
            )
            % {
                "churned": now.lost_churned,
                "lapsed": now.lost_lapsed,
                "days": settings.LAPSED_AFTER_DAYS,
            },
            before_label=was,
        ),
        Tile("net", _("Net"), now.net, before.net, good=UP, before_label=was),
        Tile(
            "at_start",
            _("Customers at start"),
            now.at_start,
            before.at_start,
            link=link("at_start"),
            explanation=_("%(count)s at the end") % {"count": now.at_end},
            before_label=was,
        ),
    ]
    trend = Table(
        "churn",
        _("Gained and lost per period"),
        [
            _("Period"),
            _("Gained"),
            _("Lost"),
            _("Net"),
            _("Lost ÷ gained"),
            _("Lost ÷ at start"),
            _("Customers at start"),
        ],
        [
            [f.period.label, f.gained, f.lost, f.net, f.rate_vs_gained, f.rate_vs_start, f.at_start]
            for f in figures.churn
        ],
        series=[
            Series(_("Gained"), 1, colour="good"),
            Series(_("Lost"), 2, colour="bad"),
            Series(_("Lost ÷ gained (%)"), 4, kind="line", axis="y2"),
            Series(_("Lost ÷ at start (%)"), 5, kind="line", axis="y2"),
        ],
        links=[
            ["", link("gained", f), link("lost", f), "", "", "", link("at_start", f)]
            for f in figures.churn
        ],
        percent_columns=frozenset({4, 5}),
    )
    return Section(
        "churn",
        _("Customers gained and lost"),
        _(
            "A customer is lost when they churn or, without a contract, when they go "
            "%(days)s days without a purchase (counted on that day); one who comes back "
            "is gained again."
        )
        % {"days": settings.LAPSED_AFTER_DAYS},
        tiles,
        [trend],
    )


def revenue_section(figures: Figures, scope: Scope, period: Period, links: Links) -> Section:
    now, before = figures.churn[-1], figures.churn[-2]
    was = before.period.title
    lost = customers_page(churn.customers_link("lost", now.period, scope))
    return Section(
        "revenue",
        _("Revenue"),
        tiles=[
            Tile(
                "value_lost",
                _("Monthly value lost"),
                now.value_lost,
                before.value_lost,
                good=DOWN,
                link=lost,
                explanation=_("The plans of the customers lost, or their average monthly spend."),
                before_label=was,
            ),
            Tile(
                "value_at_risk",
                _("Monthly value at risk now"),
                figures.risk.value_at_risk_in_queue,
                link=queue_page(scope) if links.queue else "",
                explanation=_("Expected loss of the customers at medium or high risk."),
            ),
            Tile(
                "spend_lost",
                _("Spend of the customers lost"),
                now.spend_lost,
                before.spend_lost,
                good=DOWN,
                link=lost,
                explanation=_("What they bought while they were customers."),
                before_label=was,
            ),
        ],
        tile_width=4,
        half=True,
    )


def cohort_section(figures: Figures, scope: Scope, period: Period, links: Links) -> Section:
    table = figures.cohorts
    offsets = list(table.offsets)
    heat = Table(
        "cohorts",
        _("Still customers, by the month they started"),
        [
            _("Started in"),
            _("Customers"),
            *[_("after %(count)s mo.") % {"count": k} for k in offsets],
        ],
        [[f"{row.month:%Y-%m}", row.size, *row.shares] for row in table.rows],
        links=[
            [
                "",
                customers_page(churn.cohort_link(row.month, None, scope)),
                *[
                    customers_page(churn.cohort_link(row.month, k, scope))
                    if share is not None
                    else ""
                    for k, share in zip(offsets, row.shares, strict=True)
                ],
            ]
            for row in table.rows
        ],
        percent_columns=frozenset(range(2, 2 + len(offsets))),
        heat_columns=frozenset(range(2, 2 + len(offsets))),
    )
    return Section(
        "cohorts",
        _("Retention cohorts"),
        _(
            "Customers grouped by the month they first became customers: the share still "
            "a customer 1 to 12 months later."
        ),
        tables=[heat],
    )
