"""The economy sections of a fact sheet: budget follow-up, forecasts beside what followed, unit
prices over time, spending per intervention type and cost next to effect (contract 1.1)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go

from orchestration.reporting import Quarter
from orchestration.reporting.figures import hover_name
from orchestration.reporting.formatting import code_label, fmt, withheld
from orchestration.reporting.published import Published, Subject, rolling_label
from orchestration.reporting.sections import (
    Cell,
    Heading,
    Row,
    Section,
    Table,
    figure_html,
    headings,
    no_data_section,
)
from orchestration.reporting.text import TEXT

INTERVENTION_TYPES = ("developing", "maintaining", "compensating")
FORECAST_ORIGINS = 5  # the latest forecast and the four before it, for their errors
LATER = ("actual", "error_by_grants", "error_by_run_rate")  # known once the horizon is over


def economy_sections(published: Published, subject: Subject, lang: str) -> list[Section]:
    """Budget follow-up with the expected year-end, unit prices over time and spending per
    intervention type; one line saying so when the published delivery holds no cost data."""
    t = TEXT[lang]
    if published.tables["ind_costs"].empty:
        return [no_data_section(t["economy"], t["no_cost_data"])]
    types = published.codes.get("intervention_types")

    def type_name(value: str) -> str:
        if value == "all":
            return t["all_types"]
        return code_label(types, value, lang) if types is not None else value

    return [
        _budget_section(published, subject, lang),
        _forecast_section(published, subject, lang),
        _unit_prices_section(published, subject, lang, type_name),
        _spending_section(published, subject, lang, type_name),
        _cost_effect_section(published, subject, lang, type_name),
    ]


def _budget_section(published: Published, subject: Subject, lang: str) -> Section:
    t, q = TEXT[lang], published.quarter
    budget = published.rows("ind_budget", subject, budget_year=q.year, function="all")
    row = budget.iloc[0] if len(budget) else None
    shown_to = (
        pd.Timestamp(row.booked_through).date().isoformat()
        if row is not None and not pd.isna(row.booked_through)
        else None
    )
    measures = [
        ("budget_dkk", t["budget"], None), (
            "spent_to_date_dkk", t["spent_to_date"].format(date=shown_to or "–"), "spent"),
        ("consumption_pct", t["consumption"], "pct"),
        ("expected_by_grants_dkk", t["expected_by_grants"], None),
        ("expected_by_run_rate_dkk", t["expected_by_run_rate"], None),
        ("deviation_by_grants_dkk", t["deviation_by_grants"], None),
        ("deviation_by_run_rate_dkk", t["deviation_by_run_rate"], None),
    ]  # fmt: skip
    body = []
    for column, label, kind in measures:
        public = column in ("budget_dkk",)
        value = None if row is None else row[column]
        text = fmt(value, lang, suppressed=None if public else withheld(row), pct=kind == "pct",
                   decimals=1 if kind == "pct" else 0)  # fmt: skip
        cell = Cell(f"ind_budget|{q.year}|all|{column}", text,
                    suppression=None if public else withheld(row))  # fmt: skip
        body.append(Row(label, [cell]))
    table = Table([headings("", f"{q.year} (DKK)")], body)
    return Section(t["economy"], t["economy_note"], css="table", table=table)


def _unit_prices_section(published: Published, subject: Subject, lang: str,
                         type_name: Callable[[str], str]) -> Section:  # fmt: skip
    """Cost per intervention-day per quarter, in all and per intervention type."""
    t = TEXT[lang]
    costs = published.rows("ind_costs", subject, period_type="quarter")
    quarters = costs[["period_start", "period_label"]].drop_duplicates().sort_values("period_start")
    traces = []
    for by, value in [("all", "all"), *(("intervention_type", v) for v in INTERVENTION_TYPES)]:
        rows = costs[(costs.breakdown_by == by) & (costs.breakdown == value)]
        if rows.empty:
            continue
        series = quarters.merge(rows, on=["period_start", "period_label"], how="left")
        name = type_name(value)
        traces.append(go.Scatter(
            x=series.period_start, mode="lines+markers", connectgaps=False, name=name,
            y=[None if pd.isna(s) or s else float(v)
               for s, v in zip(series.is_suppressed, series.cost_per_intervention_day_dkk, strict=True)],
            customdata=[f"{value}|{label}" for label in series.period_label],
            line={"width": 3 if value == "all" else 1.5},
            hovertemplate="%{x|%Y-%m}: %{y:,.0f} DKK<extra>" + hover_name(name) + "</extra>",
        ))  # fmt: skip
    fig = go.Figure(traces)
    fig.update_layout(yaxis={"rangemode": "tozero", "ticksuffix": " kr."}, height=320)
    return Section(t["unit_prices"], t["unit_prices_note"],
                   figure=figure_html(fig, "chart-unit-prices"))  # fmt: skip


def _spending_section(published: Published, subject: Subject, lang: str,
                      type_name: Callable[[str], str]) -> Section:  # fmt: skip
    """Spending and cost per citizen per intervention type, for the last four quarters."""
    t, year = TEXT[lang], rolling_label(published.quarter)
    window = published.rows("ind_costs", subject, period_label=year)
    body = []
    for value, r in by_intervention_type(window):
        cells = [
            Cell(f"ind_costs|{year}|{value}|{column}", fmt(r[column], lang, suppressed=withheld(r)),
                 suppression=withheld(r))
            for column in ("spending_dkk", "cost_per_citizen_dkk", "cost_per_intervention_day_dkk")
        ]  # fmt: skip
        body.append(Row(type_name(value), cells))
    head = headings(t["year"].format(label=year), t["spending"], t["cost_per_citizen"],
                    t["cost_per_day"])  # fmt: skip
    return Section(t["spending_by_type"], t["spending_by_type_note"], css="table",
                   table=Table([head], body))  # fmt: skip


@dataclass
class Forecast:
    """One origin's forecasts beside what followed; a figure is None when withheld or unknown,
    `marks` says why per column ('primary', 'secondary' or None)."""

    origin: Quarter
    horizon: str
    by_grants: float | None
    by_run_rate: float | None
    actual: float | None
    marks: dict[str, str | None]
    is_over: bool  # the payments reach the horizon's end: what was spent is known

    def error(self, forecast: float | None) -> float | None:
        if forecast is None or self.actual is None or self.actual <= 0:
            return None
        return 100 * (forecast - self.actual) / self.actual


def forecasts(published: Published, subject: Subject) -> list[Forecast]:
    """The latest origins' forecasts (ind_cost_forecast) with the run-rate and what was spent
    from the published quarters (ind_costs), latest first: every figure one a BI user can
    compute from the open tables, withheld where a figure it comes from is."""
    made = published.rows("ind_cost_forecast", subject)
    if made.empty:
        return []
    quarters = published.rows("ind_costs", subject, period_type="quarter", breakdown_by="all")
    spending = {r.period_label: r for r in quarters.itertuples()}
    reach = published.tables["ind_budget"]["booked_through"].dropna()
    paid_through = pd.Timestamp(reach.max()) if len(reach) else None

    def spent(q: Quarter) -> tuple[float | None, str | None]:
        row = spending.get(q.label)
        if row is None:
            return 0.0, None  # no spending in the quarter
        return (None, withheld(row)) if withheld(row) else (float(row.spending_dkk), None)

    out = []
    for row in made.sort_values("period_end", ascending=False).head(FORECAST_ORIGINS).itertuples():
        origin = Quarter.parse(row.period_label)
        window, window_mark = spent(origin)
        horizon_days = (pd.Timestamp(row.horizon_end) - pd.Timestamp(origin.end)).days
        run_rate = None if window is None else window * horizon_days / (
            (origin.end - origin.start).days + 1)  # fmt: skip
        actual, actual_mark = None, None
        is_over = paid_through is not None and pd.Timestamp(row.horizon_end) <= paid_through
        if is_over:
            parts = [spent(origin.next()), spent(origin.next().next())]
            marks = [m for _, m in parts if m]
            if marks:
                actual_mark = "primary" if "primary" in marks else "secondary"
            else:
                actual = sum(v for v, _ in parts)
        out.append(Forecast(
            origin, f"{origin.next().label}–{origin.next().next().label}",
            None if withheld(row) else float(row.forecast_by_grants_dkk), run_rate, actual,
            {"by_grants": withheld(row), "by_run_rate": window_mark, "actual": actual_mark},
            is_over,
        ))  # fmt: skip
    return out


def _forecast_section(published: Published, subject: Subject, lang: str) -> Section:
    t = TEXT[lang]
    body = []
    for f in forecasts(published, subject):
        marks = f.marks | {
            "error_by_grants": f.marks["by_grants"] or f.marks["actual"],
            "error_by_run_rate": f.marks["by_run_rate"] or f.marks["actual"],
        }
        values = {"by_grants": f.by_grants, "by_run_rate": f.by_run_rate, "actual": f.actual,
                  "error_by_grants": f.error(f.by_grants),
                  "error_by_run_rate": f.error(f.by_run_rate)}  # fmt: skip
        cells = [
            Cell(f"forecast|{f.origin.label}|{column}",
                 t["not_yet"] if not f.is_over and column in LATER else
                 fmt(value, lang, suppressed=marks[column], pct=column.startswith("error"),
                     decimals=1 if column.startswith("error") else 0),
                 suppression=marks[column])
            for column, value in values.items()
        ]  # fmt: skip
        body.append(Row(f.origin.label, [Cell(None, f.horizon, css="name"), *cells]))
    if not body:
        return no_data_section(t["forecast"], t["no_data"])
    head = headings(*(t[k] for k in ("forecast_origin", "forecast_horizon", "by_grants",
                                     "by_run_rate", "actual", "error_by_grants",
                                     "error_by_run_rate")))  # fmt: skip
    return Section(t["forecast"], t["forecast_note"], css="table", table=Table([head], body))


def by_intervention_type(window: pd.DataFrame):
    """(breakdown, row) for `all` and each intervention type the cost table has a row for."""
    for value in ("all", *INTERVENTION_TYPES):
        match = window[(window.breakdown_by == ("all" if value == "all" else "intervention_type"))
                       & (window.breakdown == value)]  # fmt: skip
        if len(match):
            yield value, match.iloc[0]


# Cost next to effect: each column with the part of the row that holds it (ind_cost_effect's
# goal and ability figures are withheld on their own) and whether it is a percentage.
COST_EFFECT_COLUMNS = (
    ("cost_per_citizen_dkk", "suppression", False),
    ("avg_goal_attainment_pct", "goals_suppression", True),
    ("spending_per_achieved_goal_dkk", "goals_suppression", False),
    ("pct_citizens_improved", "ability_suppression", True),
    ("spending_per_improved_citizen_dkk", "ability_suppression", False),
)


def _cost_effect_section(published: Published, subject: Subject, lang: str,
                         type_name: Callable[[str], str]) -> Section:  # fmt: skip
    """Per intervention type for the last four quarters: cost per citizen beside what the goals
    and the functional ability of those citizens did, and what one achieved goal and one
    improved citizen cost."""
    t, year = TEXT[lang], rolling_label(published.quarter)
    window = published.rows("ind_cost_effect", subject, period_label=year)
    if window.empty:  # a version published before cost next to effect was
        return no_data_section(t["cost_effect"], t["no_data"])
    body = []
    for value, r in by_intervention_type(window):
        cells = []
        for column, part, pct in COST_EFFECT_COLUMNS:
            why = r[part] if isinstance(r[part], str) else None
            text = fmt(r[column], lang, suppressed=why, pct=pct)
            cells.append(Cell(f"ind_cost_effect|{year}|{value}|{column}", text, suppression=why))
        body.append(Row(type_name(value), cells))
    head = [Heading(t["year"].format(label=year)), *headings(*(
        t[c if c != "cost_per_citizen_dkk" else "cost_per_citizen"]
        for c, _, _ in COST_EFFECT_COLUMNS))]  # fmt: skip
    return Section(t["cost_effect"], t["cost_effect_note"], css="table", table=Table([head], body))
