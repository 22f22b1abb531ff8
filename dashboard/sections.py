"""The dashboard's sections, built from the figures: which tiles, which tables, what
each links to. One function per section, in the order the page shows them.

`links` says which pages the viewer may open (a staff user has no at-risk queue and
no survey pages): a figure links only where its page would open for them.
"""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils.translation import gettext as _

from retention.risk import cases

from . import churn, engagement, nps, saves
from .figures import Figures
from .periods import Period
from .scope import Scope
from .tables import Series, Table, shown
from .tiles import DOWN, UP, Section, Tile


@dataclass(frozen=True)
class Links:
    """What the viewer may open: the customer list always; the rest by role."""

    queue: bool = True
    surveys: bool = True
    onboarding: bool = True
    loyalty: bool = True


def _customers(query: str) -> str:
    return f"{reverse('customers:list')}?{query}"


def _queue(scope: Scope, **params) -> str:
    owner = "" if scope.is_everyone else str(scope.owner_id)
    return f"{reverse('retention:queue')}?{urlencode({**params, 'owner': owner})}"


def churn_section(figures: Figures, scope: Scope, period: Period, links: Links) -> Section:
    now, before = figures.churn[-1], figures.churn[-2]
    was = before.period.title

    def link(kind: str, figure=now) -> str:
        return _customers(churn.customers_link(kind, figure.period, scope))

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
            explanation=_("%(churned)s churned, %(lapsed)s without a purchase for %(days)s days")
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
            Series(_("Gained"), 1),
            Series(_("Lost"), 2),
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
    lost = _customers(churn.customers_link("lost", now.period, scope))
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
                link=_queue(scope) if links.queue else "",
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
            Series(_("Low"), 1, stack="levels"),
            Series(_("Medium"), 2, stack="levels"),
            Series(_("High"), 3, stack="levels"),
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
                link=_queue(scope, level="high") if queue else "",
                explanation=_("%(value)s a month at risk") % {"value": _money(risk.value_high)},
            ),
            Tile(
                "risk_medium",
                _("Medium risk"),
                risk.medium,
                link=_queue(scope) if queue else "",
                explanation=_("%(value)s a month at risk") % {"value": _money(risk.value_medium)},
            ),
            Tile("risk_low", _("Low risk"), risk.low),
            Tile(
                "open_cases",
                _("Open cases"),
                risk.open_cases,
                link=_queue(scope) if queue else "",
                explanation=_("In the at-risk queue, not snoozed."),
            ),
        ],
        [trend, reasons],
        tile_width=3,
    )


def nps_section(figures: Figures, scope: Scope, period: Period, links: Links) -> Section:
    now, before = figures.nps[-1], figures.nps[-2]
    was = before.period.title
    urls = nps.nps_links(scope, now) if links.surveys else {}
    trend = Table(
        "nps",
        _("NPS per period"),
        [_("Period"), _("NPS"), _("Promoters"), _("Passives"), _("Detractors"), _("Response rate")],
        [
            [f.period.label, f.score, f.promoters, f.passives, f.detractors, f.response_rate]
            for f in figures.nps
        ],
        series=[
            Series(_("Promoters (9–10)"), 2, stack="answers"),
            Series(_("Passives (7–8)"), 3, stack="answers"),
            Series(_("Detractors (0–6)"), 4, stack="answers"),
            Series(_("NPS"), 1, kind="line", axis="y2"),
        ],
        percent_columns=frozenset({5}),
    )
    reasons = Table(
        "exit_reasons",
        _("Top exit reasons"),
        [_("Reason"), _("Answers"), _("Share")],
        [[r.label, r.count, r.share] for r in figures.exit_reasons],
        links=[
            ["", nps.exit_reason_link(scope, period, r) if links.surveys else "", ""]
            for r in figures.exit_reasons
        ],
        percent_columns=frozenset({2}),
    )
    return Section(
        "nps",
        _("Net Promoter Score"),
        _(
            "% promoters − % detractors of the answers given in the period; the response "
            "rate follows the invitations sent in it."
        ),
        [
            Tile(
                "nps_score",
                _("NPS"),
                now.score,
                before.score,
                good=UP,
                link=urls.get("responses", ""),
                before_label=was,
            ),
            Tile(
                "promoters",
                _("Promoters"),
                now.promoters,
                before.promoters,
                good=UP,
                link=urls.get("promoters", ""),
                before_label=was,
            ),
            Tile(
                "passives",
                _("Passives"),
                now.passives,
                before.passives,
                link=urls.get("passives", ""),
                before_label=was,
            ),
            Tile(
                "detractors",
                _("Detractors"),
                now.detractors,
                before.detractors,
                good=DOWN,
                link=urls.get("detractors", ""),
                before_label=was,
            ),
            Tile(
                "response_rate",
                _("Response rate"),
                now.response_rate,
                before.response_rate,
                "%",
                UP,
                urls.get("invitations", ""),
                _("%(sent)s invitations sent") % {"sent": now.invitations_sent},
                was,
            ),
        ],
        [trend, reasons],
    )


def onboarding_loyalty_section(
    figures: Figures, scope: Scope, period: Period, links: Links
) -> Section:
    board, board_before = figures.onboarding, figures.onboarding_before
    points, points_before = figures.loyalty, figures.loyalty_before
    was = period.previous().title
    on = engagement.onboarding_links(scope, period) if links.onboarding else {}
    loy = engagement.loyalty_links(scope, period) if links.loyalty else {}
    return Section(
        "onboarding_loyalty",
        _("Onboarding and loyalty"),
        tiles=[
            Tile(
                "onboarding_started",
                _("Onboardings started"),
                board.started,
                board_before.started,
                link=on.get("started", ""),
                before_label=was,
            ),
            Tile(
                "onboarding_rate",
                _("Completed"),
                board.completion_rate,
                board_before.completion_rate,
                "%",
                UP,
                on.get("completed", ""),
                _("Of those started in the period, completed by now."),
                was,
            ),
            Tile(
                "onboarding_days",
                _("Median days to complete"),
                board.median_days,
                board_before.median_days,
                good=DOWN,
                link=on.get("median_days", ""),
                explanation=_("%(count)s completed in the period")
                % {"count": board.completed_in_period},
                before_label=was,
            ),
            Tile(
                "onboarding_stalled",
                _("Stalled now"),
                board.stalled_now,
                good=DOWN,
                link=on.get("stalled_now", ""),
            ),
            Tile(
                "points_issued",
                _("Points issued"),
                points.points_issued,
                points_before.points_issued,
                link=loy.get("points_issued", ""),
                before_label=was,
            ),
            Tile(
                "points_redeemed",
                _("Points redeemed"),
                points.points_redeemed,
                points_before.points_redeemed,
                link=loy.get("points_redeemed", ""),
                explanation=_("%(count)s expired") % {"count": points.points_expired},
                before_label=was,
            ),
            Tile(
                "coupons_used",
                _("Coupons used"),
                points.coupons_used,
                points_before.coupons_used,
                good=UP,
                link=loy.get("coupons_used", ""),
                explanation=_("%(count)s issued") % {"count": points.coupons_issued},
                before_label=was,
            ),
        ],
        tile_width=3,
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
                _customers(churn.cohort_link(row.month, None, scope)),
                *[
                    _customers(churn.cohort_link(row.month, k, scope)) if share is not None else ""
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


def _money(value) -> str:
    return shown(value)
