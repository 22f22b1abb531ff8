"""The dashboard page's content: the figures (dashboard/figures.py) as sections of
tiles and tables (dashboard/sections.py), with the period's titles and freshness."""

from dataclasses import dataclass
from datetime import date

from django.http import QueryDict
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import figures as figures_module
from . import sections as build
from .figures import Figures
from .periods import CUSTOM, Period
from .scope import Scope
from .tables import Table
from .tiles import Section


@dataclass
class Board:
    period: Period
    previous: Period
    scope: Scope
    scope_title: str
    figures: Figures
    sections: list[Section]

    @property
    def tables(self) -> dict[str, Table]:
        return {table.key: table for section in self.sections for table in section.tables}

    @property
    def charts(self) -> dict:
        return {key: chart for key, table in self.tables.items() if (chart := table.chart())}

    @property
    def period_title(self) -> str:
        return self.period.title

    @property
    def previous_title(self) -> str:
        return self.previous.title

    @property
    def freshness(self) -> str:
        """When the figures were counted: the nightly ones and the live ones apart."""
        figures = self.figures
        if figures.membership_built_at:
            built = timezone.localtime(figures.membership_built_at)
            parts = [
                _("Customers gained and lost as of %(when)s (counted every night).")
                % {"when": date_format(built, "DATETIME_FORMAT")}
            ]
        else:
            parts = [_("Customers gained and lost are counted after the first nightly run.")]
        if figures.risk.computed_for:
            parts.append(
                _("Risk as of the night of %(day)s.")
                % {"day": date_format(figures.risk.computed_for, "DATE_FORMAT")}
            )
        parts.append(
            ngettext(
                "The other figures: counted at %(when)s, at most %(minutes)s minute ago.",
                "The other figures: counted at %(when)s, at most %(minutes)s minutes ago.",
                figures_module.CACHE_SECONDS // 60,
            )
            % {
                "when": date_format(timezone.localtime(figures.computed_at), "TIME_FORMAT"),
                "minutes": figures_module.CACHE_SECONDS // 60,
            }
        )
        return " ".join(parts)


def query_for(query: QueryDict, period: Period) -> str:
    """The dashboard's query string with `period` chosen instead, the rest kept."""
    query = query.copy()
    query["period"] = period.kind
    if period.kind == CUSTOM:
        query["start"], query["end"] = period.start.isoformat(), period.end.isoformat()
        query.pop("on", None)
    else:
        query["on"] = period.start.isoformat()
    return query.urlencode()


def board(
    scope: Scope, period: Period, today: date, *, scope_title: str, links: build.Links
) -> Board:
    figures = figures_module.cached(scope, period, today)
    sections = [
        build.churn_section(figures, scope, period, links),
        build.revenue_section(figures, scope, period, links),
        build.effect_section(figures, scope, period, links),
        build.risk_section(figures, scope, period, links),
        build.nps_section(figures, scope, period, links),
        build.onboarding_loyalty_section(figures, scope, period, links),
        build.cohort_section(figures, scope, period, links),
    ]
    return Board(period, period.previous(), scope, scope_title, figures, sections)
