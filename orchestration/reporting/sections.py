"""What a fact sheet's section holds, for the templates to draw: a chart or a table, and a note.

Texts stay plain strings here, whatever they come from (code lists, unit names, deliveries): the
templates escape them. Only a plotly chart is markup already, made by plotly itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
from markupsafe import Markup


@dataclass(frozen=True)
class Cell:
    """A figure's cell; `key` (data-cell) names the published figure it shows, `suppression`
    ('primary' or 'secondary') marks a withheld one."""

    key: str | None
    text: str
    css: str = ""
    suppression: str | None = None

    @property
    def classes(self) -> str:
        withheld = self.suppression and f"withheld-{self.suppression}"
        return " ".join(c for c in (self.css, withheld) if c)


@dataclass(frozen=True)
class Heading:
    text: str
    colspan: int = 1
    rowspan: int = 1


@dataclass(frozen=True)
class Row:
    """A table row: its name in the first column, then its cells."""

    name: str
    cells: list[Cell]
    css: str = ""


@dataclass(frozen=True)
class Table:
    head: list[list[Heading]]
    rows: list[Row]
    empty: str = ""  # said across the table when it has no rows

    @property
    def width(self) -> int:
        return sum(h.colspan for h in self.head[0])


@dataclass(frozen=True)
class Section:
    """A chart or a table (or a line saying there is nothing to show) under a title, with a
    note on how to read it; `css` is the section's class (chart, table)."""

    title: str
    note: str
    css: str = "chart"
    figure: Markup | None = None
    table: Table | None = None
    no_data: str = ""


def headings(*texts: str) -> list[Heading]:
    return [Heading(text) for text in texts]


def no_data_section(title: str, text: str) -> Section:
    return Section(title, "", css="table", no_data=text)


def figure_html(fig: go.Figure, div_id: str) -> Markup:
    """The chart as a <div> and the <script> drawing it with the plotly.js beside the page:
    plotly's own markup, trusted as it is."""
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        font={"family": "system-ui, sans-serif", "size": 13},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.15},
    )
    return Markup(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            div_id=div_id,
            config={"displaylogo": False, "responsive": True},
        )
    )
