"""NPS and exit reasons, onboarding and loyalty."""

from django.utils.translation import gettext as _

from .. import engagement, nps
from ..figures import Figures
from ..periods import Period
from ..scope import Scope
from ..tables import Series, Table
from ..tiles import DOWN, UP, Section, Tile
from .common import Links


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
            Series(_("Promoters (9–10)"), 2, stack="answers", colour="good"),
            Series(_("Passives (7–8)"), 3, stack="answers", colour="middle"),
            Series(_("Detractors (0–6)"), 4, stack="answers", colour="bad"),
            Series(_("NPS"), 1, kind="line", axis="y2", colour="neutral"),
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
