"""The dashboard's numbers as tables: each chart is drawn from one, shown beside it for
screen readers and people who want the figures, and downloadable as CSV.

A `Table` is plain data: headers, rows of cells, and how to draw it (`chart`). The
page renders it as an HTML table and hands `chart` to static/js/dashboard.js; the CSV
view writes the same rows, so the three never disagree.
"""

import csv
from dataclasses import dataclass, field
from decimal import Decimal

from django.http import HttpResponse
from django.utils import formats

from customers.exporting import BOM, neutralise_cell
from customers.money import format_money

# Colours that mean something wherever they appear: good news green, bad news red.
COLOURS = {"good": "#198754", "bad": "#dc3545", "middle": "#fd7e14", "neutral": "#0d6efd"}


@dataclass
class Series:
    label: str
    column: int  # which column of the rows holds the values
    kind: str = "bar"  # "bar" or "line"
    stack: str = ""  # bars with the same stack are stacked
    axis: str = "y"  # a second axis ("y2") for a line over bars
    colour: str = ""  # one of COLOURS' keys; empty: the next of the palette


@dataclass
class Table:
    key: str  # the name in URLs (CSV download) and element ids
    title: str
    headers: list[str]
    rows: list[list]
    series: list[Series] = field(default_factory=list)  # empty: a table without chart
    # Per row, per column: the customer list (or other page) behind that cell, or "".
    links: list[list[str]] = field(default_factory=list)
    percent_columns: frozenset[int] = frozenset()
    y_axis_title: str = ""
    # Columns whose cells are shaded by their value, a share from 0 to 100 (a heatmap).
    heat_columns: frozenset[int] = frozenset()

    def link(self, row: int, column: int) -> str:
        if row < len(self.links) and column < len(self.links[row]):
            return self.links[row][column]
        return ""

    @property
    def drawable(self) -> bool:
        """A chart with something on it: not every value empty or zero."""
        return any(row[s.column] for s in self.series for row in self.rows)

    def chart(self) -> dict | None:
        """What static/js/dashboard.js needs to draw this table, or None."""
        if not self.drawable:
            return None
        return {
            "labels": [str(row[0]) for row in self.rows],
            "yTitle": self.y_axis_title,
            "series": [
                {
                    "label": s.label,
                    "kind": s.kind,
                    "stack": s.stack,
                    "axis": s.axis,
                    "colour": COLOURS.get(s.colour, ""),
                    "data": [_number(row[s.column]) for row in self.rows],
                }
                for s in self.series
            ],
        }

    def cells(self) -> list[list[dict]]:
        """Rows for the template: each cell's shown text and link."""
        return [
            [
                {
                    "value": None if value is None else shown(value),
                    "link": self.link(r, c),
                    "percent": c in self.percent_columns,
                    "heat": _heat(value) if c in self.heat_columns and value is not None else None,
                }
                for c, value in enumerate(row)
            ]
            for r, row in enumerate(self.rows)
        ]


def shown(value, unit: str = "") -> str:
    """A figure as the page shows it: grouped thousands, one decimal for rates and
    shares; money (every Decimal here) in the business's currency; "—" for none."""
    if value is None:
        return "—"
    if isinstance(value, float):
        text = formats.number_format(round(value, 1), decimal_pos=1, use_l10n=True)
    elif isinstance(value, Decimal):
        text = format_money(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        text = formats.number_format(value, use_l10n=True, force_grouping=True)
    else:
        text = str(value)
    return f"{text} {unit}" if unit else text


def _heat(value) -> int:
    """0 to 10: the shade of a cell holding a share in percent."""
    if value is None:
        return 0
    return max(0, min(10, round(float(value) / 10)))


def _number(value) -> float | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    return value


def csv_response(table: Table, filename: str) -> HttpResponse:
    """The table as a CSV download. Numbers stay numbers (a negative net or NPS is
    not a formula); text cells are neutralised, since labels such as exit reasons or
    names come from what users typed."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write(BOM)
    writer = csv.writer(response)
    writer.writerow([neutralise_cell(h) for h in table.headers])
    for row in table.rows:
        writer.writerow(
            [
                ""
                if v is None
                else v
                if isinstance(v, int | float | Decimal)
                else neutralise_cell(v)
                for v in row
            ]
        )
    return response
