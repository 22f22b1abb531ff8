"""The pieces the dashboard page is made of: figures shown as tiles, grouped in sections.

A `Tile` is one number with its label, the same number for the period before and a
link to the customers behind it; a `Section` holds tiles and tables (dashboard/tables.py).
The page template only loops over these, so every section looks and behaves alike.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from .tables import Table, shown

UP, DOWN = "up", "down"  # which way is good news


@dataclass
class Tile:
    key: str
    label: str
    value: int | float | Decimal | None
    before: int | float | Decimal | None = None
    unit: str = ""  # "%" for rates
    good: str | None = None  # UP, DOWN or None (neither: e.g. customers at the start)
    link: str = ""
    explanation: str = ""
    before_label: str = ""

    @property
    def text(self) -> str:
        return shown(self.value, self.unit)

    @property
    def change(self) -> str:
        """ "▲ 1.5 % points from 3.0 %", or "" when there is nothing to compare."""
        if self.value is None or self.before is None:
            return ""
        delta = self.value - self.before
        if delta == 0:
            return _("unchanged from %(before)s") % {"before": self.before_label}
        arrow = "▲" if delta > 0 else "▼"
        amount = shown(abs(delta), "")
        if self.unit == "%":
            amount = _("%(amount)s points") % {"amount": amount}
        return _("%(arrow)s %(amount)s from %(before)s in %(period)s") % {
            "arrow": arrow,
            "amount": amount,
            "before": shown(self.before, self.unit),
            "period": self.before_label,
        }

    @property
    def change_class(self) -> str:
        if self.value is None or self.before is None or self.value == self.before:
            return "text-muted"
        better = (self.value > self.before) == (self.good == UP)
        if self.good is None:
            return "text-muted"
        return "text-success" if better else "text-danger"


@dataclass
class Section:
    key: str
    title: str
    intro: str = ""
    tiles: list[Tile] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    empty: str = ""  # shown when the section has nothing to show yet
    tile_width: int = 2  # Bootstrap columns per tile at desktop width (of 12)
    half: bool = False  # half the page's width on wide screens, beside another half
