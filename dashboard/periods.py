"""The periods the dashboard reports on: a month, quarter, year or a custom range.

A period is a range of whole days, both ends included. The one before it has the same
kind (the previous month, quarter, year) or, for a custom range, the same length.
"""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.formats import date_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

MONTH, QUARTER, YEAR, CUSTOM = "month", "quarter", "year", "custom"
KINDS = {
    MONTH: _("Month"),
    QUARTER: _("Quarter"),
    YEAR: _("Year"),
    CUSTOM: _("Custom range"),
}
# A custom range longer than this is refused: the page is about periods, not all time.
MAX_CUSTOM_DAYS = 366 * 5


@dataclass(frozen=True)
class Period:
    kind: str
    start: date
    end: date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        if self.kind == CUSTOM:
            end = self.start - timedelta(days=1)
            return Period(CUSTOM, end - timedelta(days=self.days - 1), end)
        return period_containing(self.kind, self.start - timedelta(days=1))

    def next(self) -> "Period":
        if self.kind == CUSTOM:
            start = self.end + timedelta(days=1)
            return Period(CUSTOM, start, start + timedelta(days=self.days - 1))
        return period_containing(self.kind, self.end + timedelta(days=1))

    def trailing(self, count: int) -> list["Period"]:
        """This period and the `count - 1` before it, oldest first."""
        periods = [self]
        while len(periods) < count:
            periods.append(periods[-1].previous())
        return periods[::-1]

    def contains(self, day: date) -> bool:
        return self.start <= day <= self.end

    def is_current(self, today: date) -> bool:
        return self.contains(today)

    @property
    def title(self) -> str:
        """The period as the page names it, in the current language."""
        if self.kind == MONTH:
            return date_format(self.start, "YEAR_MONTH_FORMAT")
        if self.kind == CUSTOM:
            return gettext("%(start)s to %(end)s") % {
                "start": date_format(self.start, "SHORT_DATE_FORMAT"),
                "end": date_format(self.end, "SHORT_DATE_FORMAT"),
            }
        return self.label

    @property
    def label(self) -> str:
        """A short, language-neutral name: chart axes, CSV rows."""
        if self.kind == MONTH:
            return f"{self.start:%Y-%m}"
        if self.kind == QUARTER:
            return f"{self.start.year} Q{(self.start.month - 1) // 3 + 1}"
        if self.kind == YEAR:
            return str(self.start.year)
        return f"{self.start:%Y-%m-%d} – {self.end:%Y-%m-%d}"


def period_containing(kind: str, day: date) -> Period:
    """The month, quarter or year that `day` falls in."""
    if kind == MONTH:
        last = calendar.monthrange(day.year, day.month)[1]
        return Period(MONTH, day.replace(day=1), day.replace(day=last))
    if kind == QUARTER:
        first_month = (day.month - 1) // 3 * 3 + 1
        start = date(day.year, first_month, 1)
        last_month = first_month + 2
        end = date(day.year, last_month, calendar.monthrange(day.year, last_month)[1])
        return Period(QUARTER, start, end)
    if kind == YEAR:
        return Period(YEAR, date(day.year, 1, 1), date(day.year, 12, 31))
    raise ValueError(f"not a calendar period: {kind}")


def custom_period(start: date, end: date) -> Period:
    if end < start:
        raise ValueError("a period ends after it starts")
    if (end - start).days + 1 > MAX_CUSTOM_DAYS:
        raise ValueError("a custom range is at most five years")
    return Period(CUSTOM, start, end)
