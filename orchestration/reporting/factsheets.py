"""Fact sheets and the barometer: self-contained HTML pages from the published indicators.

Read like any BI client reads them: `published/current/indicators.duckdb`, read-only, periods up
to the quarter reported. One page per level: the administration, each operating area, each unit
with enough citizens; and a barometer listing every unit with traffic lights against targets.
The folder carries plotly.js once, beside the pages that reference it by a relative path: the
folder opens offline, on a tablet, or copied whole to a share (a page alone has no charts).
Suppressed cells are shown as "<5" (too few citizens) or "–" (withheld so that a "<5" cannot be
worked out), never as zero.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go
import yaml
from plotly.offline import get_plotlyjs_version

from orchestration.files import atomic_folder
from orchestration.reporting import COST_TABLES, INDICATOR_TABLES, NothingToReport, Quarter
from orchestration.reporting.text import LANGUAGES, TEXT

TARGETS_FILE = Path(__file__).with_name("targets.yaml")
DATA_BREAK = dt.date(2017, 5, 15)
CODE_TABLES = (
    "indicator_labels",
    "life_themes",
    "goal_types",
    "assessment_themes",
    "intervention_types",
)
INTERVENTION_TYPES = ("developing", "maintaining", "compensating")
COLOURS = {"achieved": "#2e7d32", "not_achieved": "#bdbdbd", "improved": "#2e7d32",
           "unchanged": "#9e9e9e", "worsened": "#c62828"}  # fmt: skip
LIGHTS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#bdbdbd"}


@dataclass(frozen=True)
class Subject:
    """Whom a fact sheet is about: the administration, an operating area, or one unit."""

    kind: str  # administration, area or unit
    org_role: str
    org_level: int
    org_unit_id: str
    org_unit_name: str

    @property
    def file_name(self) -> str:
        return "administration.html" if self.kind == "administration" else (
            f"{self.kind}-{self.org_unit_id}.html"
        )  # fmt: skip


@dataclass
class Published:
    """The published indicator tables up to a quarter, and the code lists with labels."""

    tables: dict[str, pd.DataFrame]
    codes: dict[str, pd.DataFrame]
    manifest: dict
    quarter: Quarter

    @classmethod
    def load(cls, version: Path, quarter: Quarter) -> Published:
        con = duckdb.connect(str(version / "indicators.duckdb"), read_only=True)
        try:
            tables = {
                t: con.execute(
                    f"select * from main.{t} where period_end <= ? order by all", [quarter.end]
                ).df()
                for t in INDICATOR_TABLES
            }
            published = {
                r[0]
                for r in con.execute("select table_name from information_schema.tables").fetchall()
            }
            for table in COST_TABLES:
                # A version published before contract 1.1 has no cost tables: no cost data.
                by_year = table == "ind_budget"
                tables[table] = (
                    con.execute(
                        f"select * from main.{table} where "
                        f"{'budget_year' if by_year else 'period_end'} <= ? order by all",
                        [quarter.year if by_year else quarter.end],
                    ).df()
                    if table in published else pd.DataFrame()
                )  # fmt: skip
            codes = {
                c: con.execute(f"select * from codes.{c}").df()
                for c in CODE_TABLES
                if c in published
            }
        finally:
            con.close()
        themes = codes["assessment_themes"]
        if "kind" not in themes:  # a version published before the code list said which is which
            themes["kind"] = themes["theme"].map({"overall": "judgement"}).fillna("theme")
        manifest = json.loads((version / "manifest.json").read_text())
        if not (tables["ind_goal_attainment"]["period_label"] == quarter.label).any():
            raise NothingToReport(
                f"published version {manifest['version']} has no indicators for {quarter.label}"
            )
        return cls(tables, codes, manifest, quarter)

    def rows(self, table: str, subject: Subject, role: str | None = None, **where) -> pd.DataFrame:
        df = self.tables[table]
        if df.empty:
            return df
        mask = (
            (df.org_role == (role or subject.org_role))
            & (df.org_level == subject.org_level)
            & (df.org_unit_id == subject.org_unit_id)
        )
        for column, value in where.items():
            mask &= df[column] == value
        return df[mask]


def rolling_label(quarter: Quarter) -> str:
    first = quarter
    for _ in range(3):
        first = first.previous()
    return f"{first.label}-{quarter.label}"


def year_ago(quarter: Quarter) -> Quarter:
    for _ in range(4):
        quarter = quarter.previous()
    return quarter


def load_targets(path: Path | None = None) -> dict:
    path = path or TARGETS_FILE
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# ---------------------------------------------------------------- formatting


def _number(value: float, decimals: int, lang: str) -> str:
    text = f"{value:,.{decimals}f}"
    if lang == "da":  # 1.234,5
        text = text.replace(",", "\u00a0").replace(".", ",").replace("\u00a0", ".")
    return text


def withheld(row) -> str | None:
    """Why a published row's figures are withheld: 'primary', 'secondary' or None."""
    if row is None or not bool(row.is_suppressed):
        return None
    return "secondary" if getattr(row, "suppression", None) == "secondary" else "primary"


def mark(row, lang: str) -> str:
    """The sign for a withheld row: "<5" for too few citizens, "–" for protecting another."""
    return TEXT[lang]["withheld" if withheld(row) == "secondary" else "suppressed"]


def fmt(value, lang: str, *, suppressed=None, pct: bool = False, decimals: int = 0) -> str:
    """A figure as people read it: "<5" when about too few citizens, "–" when withheld to
    protect such a figure (`suppressed` 'secondary') or when there is none."""
    if suppressed:
        return TEXT[lang]["withheld" if suppressed == "secondary" else "suppressed"]
    if value is None or pd.isna(value):
        return "\u2013"
    text = _number(float(value), decimals, lang)
    return f"{text}\u00a0%" if pct and lang == "da" else f"{text}%" if pct else text


def fmt_change(now, before, lang: str) -> str:
    """Percentage points, rounded as shown: +6, −25, ±0; "–" without a figure to compare."""
    if now is None or before is None or pd.isna(now) or pd.isna(before):
        return "\u2013"
    change = round(float(now) - float(before))
    sign = "+" if change > 0 else "\u2212" if change < 0 else "\u00b1"
    return f"{sign}{_number(abs(change), 0, lang)}"


def _cell(key: str, text: str, css: str = "", suppression: str | None = None) -> str:
    css = " ".join(c for c in (css, suppression and f"withheld-{suppression}") if c)
    cls = f' class="{css}"' if css else ""
    return f'<td data-cell="{html.escape(key)}"{cls}>{html.escape(text)}</td>'


def _label(codes: pd.DataFrame, code: str, lang: str, column: str = "label") -> str:
    match = codes[codes.iloc[:, 0] == code] if column == "label" else codes
    return str(match.iloc[0][f"{column}_{lang}"]) if len(match) else code


# ---------------------------------------------------------------- subjects


def subjects(published: Published, targets: dict) -> tuple[list[Subject], list[Subject]]:
    """Who gets a fact sheet, and the units with too few citizens for one."""
    ga = published.tables["ind_goal_attainment"]
    rolling = ga[(ga.period_label == rolling_label(published.quarter)) & (ga.life_theme == "all")
                 & (ga.sub_theme == "all")]  # fmt: skip
    units = ga[ga.period_label == published.quarter.label][
        ["org_role", "org_level", "org_unit_id", "org_unit_name"]
    ].drop_duplicates()
    sheets, too_few = [], []
    for level, kind in ((1, "administration"), (2, "area")):
        for row in units[(units.org_level == level) & (units.org_role == "provider")].itertuples():
            sheets.append(Subject(kind, "provider", level, row.org_unit_id, row.org_unit_name))
    minimum = targets.get("min_citizens_for_unit_sheet", 20)
    for row in units[units.org_level == 3].sort_values(["org_role", "org_unit_name"]).itertuples():
        subject = Subject("unit", row.org_role, 3, row.org_unit_id, row.org_unit_name)
        cell = rolling[
            (rolling.org_role == row.org_role) & (rolling.org_unit_id == row.org_unit_id)
        ]
        enough = len(cell) and not cell.iloc[0].is_suppressed and cell.iloc[0].n_citizens >= minimum
        (sheets if enough else too_few).append(subject)
    return sheets, too_few


# ---------------------------------------------------------------- charts


def _figure_html(fig: go.Figure, div_id: str) -> str:
    fig.update_layout(
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        font={"family": "system-ui, sans-serif", "size": 13},
        paper_bgcolor="white",
        plot_bgcolor="white",
        legend={"orientation": "h", "y": -0.15},
    )
    return fig.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def goal_attainment_section(published: Published, subject: Subject, lang: str) -> str:
    t, q = TEXT[lang], published.quarter
    year, prev_year = rolling_label(q), rolling_label(year_ago(q))
    ga = published.rows("ind_goal_attainment", subject)
    themes = published.codes["life_themes"].sort_values("sort_order")
    order = [("all", "all")]
    for theme in themes.life_theme.drop_duplicates():
        order.append((theme, "all"))
        order += [(theme, s) for s in themes[themes.life_theme == theme].sub_theme]

    def get(label, theme, sub):
        row = ga[(ga.period_label == label) & (ga.life_theme == theme) & (ga.sub_theme == sub)]
        return row.iloc[0] if len(row) else None

    def name(theme, sub):
        if theme == "all":
            return t["all"]
        rows = themes[themes.life_theme == theme]
        if sub == "all":
            return str(rows.iloc[0][f"life_theme_label_{lang}"])
        return str(rows[rows.sub_theme == sub].iloc[0][f"sub_theme_label_{lang}"])

    body = []
    for theme, sub in order:
        cells = []
        for label, previous in ((year, prev_year), (q.label, q.previous().label)):
            now, before = get(label, theme, sub), get(previous, theme, sub)
            suppressed = withheld(now)
            key = f"ind_goal_attainment|{label}|{theme}|{sub}"
            avg = None if now is None else now.avg_goal_attainment_pct
            n = None if now is None else now.n_citizens
            prior = (
                None if before is None or before.is_suppressed else before.avg_goal_attainment_pct
            )
            cells += [
                _cell(
                    f"{key}|avg_goal_attainment_pct",
                    fmt(avg, lang, suppressed=suppressed, pct=True),
                    suppression=suppressed,
                ),
                _cell(
                    f"{key}|n_citizens", fmt(n, lang, suppressed=suppressed), suppression=suppressed
                ),
                _cell(f"{key}|change", "\u2013" if suppressed else fmt_change(avg, prior, lang)),
            ]
        css = "total" if sub == "all" else "sub"
        body.append(
            f'<tr class="{css}"><th scope="row">{html.escape(name(theme, sub))}</th>{"".join(cells)}</tr>'
        )
    head = (
        f'<tr><th rowspan="2">{t["theme"]}</th><th colspan="3">{t["year"].format(label=year)}</th>'
        f'<th colspan="3">{t["quarter"].format(label=q.label)}</th></tr>'
        + "<tr>"
        + f"<th>{t['avg']}</th><th>{t['n']}</th><th>{t['change']}</th>" * 2
        + "</tr>"
    )
    table = f'<table class="figures">{head}{"".join(body)}</table>'

    bars = [(theme, get(year, theme, "all")) for theme, sub in order if sub == "all"]
    labels = [name(theme, "all") + (f" ({mark(r, lang)})" if withheld(r) else "")
              for theme, r in bars]  # fmt: skip
    values = [
        None if r is None or r.is_suppressed else float(r.avg_goal_attainment_pct) for _, r in bars
    ]
    fig = go.Figure(go.Bar(
        x=values, y=labels, orientation="h", marker_color="#1565c0",
        text=[fmt(v, lang, pct=True) if v is not None else "" for v in values],
        textposition="auto", customdata=[theme for theme, _ in bars],
        hovertemplate="%{y}: %{x:.1f}%<extra></extra>",
    ))  # fmt: skip
    fig.update_layout(xaxis={"range": [0, 100], "ticksuffix": "%"}, yaxis={"autorange": "reversed"},
                      height=80 + 40 * len(bars))  # fmt: skip
    return _section(t["goal_attainment"], _figure_html(fig, "chart-goal-attainment"),
                    t["goal_attainment_note"]) + _section("", table, t["table_note"], css="table")  # fmt: skip


def goal_type_section(published: Published, subject: Subject, lang: str) -> str:
    t = TEXT[lang]
    rows = published.rows(
        "ind_goal_type_achievement", subject, period_label=rolling_label(published.quarter)
    )
    codes = published.codes["goal_types"]
    labels, achieved, not_achieved, types = [], [], [], []
    for row in rows[rows.goal_type != "all"].sort_values("goal_type").itertuples():
        name = _label(codes, row.goal_type, lang)
        labels.append(f"{name} ({mark(row, lang)})" if row.is_suppressed else name)
        achieved.append(None if row.is_suppressed else float(row.pct_achieved))
        not_achieved.append(None if row.is_suppressed else float(row.pct_not_achieved))
        types.append(row.goal_type)
    fig = go.Figure([
        go.Bar(name=t["achieved"], x=achieved, y=labels, orientation="h", customdata=types,
               marker_color=COLOURS["achieved"], text=[fmt(v, lang, pct=True) if v is not None else "" for v in achieved]),
        go.Bar(name=t["not_achieved"], x=not_achieved, y=labels, orientation="h", customdata=types,
               marker_color=COLOURS["not_achieved"], text=[fmt(v, lang, pct=True) if v is not None else "" for v in not_achieved]),
    ])  # fmt: skip
    fig.update_layout(barmode="stack", xaxis={"range": [0, 100], "ticksuffix": "%"},
                      height=120 + 45 * max(len(labels), 1))  # fmt: skip
    return _section(t["goal_types"], _figure_html(fig, "chart-goal-types"), t["goal_types_note"])


def timeseries_section(published: Published, subject: Subject, lang: str) -> str:
    t = TEXT[lang]
    ga = published.rows("ind_goal_attainment", subject, period_type="quarter", sub_theme="all")
    themes = published.codes["life_themes"].sort_values("sort_order")
    traces = []
    for theme in ["all", *themes.life_theme.drop_duplicates()]:
        series = ga[ga.life_theme == theme].sort_values("period_start")
        if series.empty:
            continue
        name = t["all"] if theme == "all" else str(
            themes[themes.life_theme == theme].iloc[0][f"life_theme_label_{lang}"])  # fmt: skip
        values = [
            None if s else float(v)
            for s, v in zip(series.is_suppressed, series.avg_goal_attainment_pct, strict=True)
        ]
        traces.append(go.Scatter(
            x=series.period_start, y=values, name=name, mode="lines+markers", connectgaps=False,
            customdata=series.period_label, line={"width": 3 if theme == "all" else 1.5},
            hovertemplate="%{customdata}: %{y:.1f}%<extra>" + html.escape(name) + "</extra>",
        ))  # fmt: skip
    fig = _percent_over_time(traces, lang, height=380)
    return _section(t["timeseries"], _figure_html(fig, "chart-timeseries"), t["timeseries_note"])


def _percent_over_time(traces: list, lang: str, height: int) -> go.Figure:
    """Quarterly shares (0-100%) with the May 2017 data break marked."""
    fig = go.Figure(traces)
    fig.add_vline(x=dt.datetime.combine(DATA_BREAK, dt.time(), dt.UTC).timestamp() * 1000,
                  line_dash="dash", line_color="#6d4c41",
                  annotation_text=TEXT[lang]["data_break"], annotation_position="top")  # fmt: skip
    fig.update_layout(yaxis={"range": [0, 100], "ticksuffix": "%"}, height=height)
    return fig


def theme_name(codes: pd.DataFrame, family: str, theme: str, lang: str) -> str:
    """A functional-ability theme as the sheets name it; `all` says how many themes it pools,
    so the reader sees that VUM2008's overall judgement is not among them."""
    family_codes = codes[codes.instrument_family == family]
    if theme == "all":
        return TEXT[lang]["all_themes"].format(n=int((family_codes.kind == "theme").sum()))
    match = family_codes[family_codes.theme == theme]
    return str(match.iloc[0][f"label_{lang}"]) if len(match) else theme


def functional_timeseries_section(published: Published, subject: Subject, lang: str) -> str:
    """Improved functional ability per quarter, across the 2017 break: each family's pooled
    themes, and VUM2008's overall judgement as a line of its own that ends at the break."""
    t = TEXT[lang]
    fa = published.rows("ind_functional_ability", subject, period_type="quarter")
    codes = published.codes["assessment_themes"]
    judgements = codes[codes.kind == "judgement"]
    lines = [(family, "all") for family in ("VUM", "DIALOG")]
    lines += list(judgements[["instrument_family", "theme"]].itertuples(index=False, name=None))
    # Every quarter on the axis: a quarter without a row is a gap in the line, not bridged.
    quarters = fa[["period_start", "period_label"]].drop_duplicates().sort_values("period_start")
    traces = []
    for family, theme in lines:
        rows = fa[(fa.instrument_family == family) & (fa.theme == theme)]
        if rows.empty:
            continue
        series = quarters.merge(rows, on=["period_start", "period_label"], how="left")
        if theme != "all":  # the judgement's line ends where VUM2008 ended
            series = series[series.period_start <= rows.period_start.max()]
        name = f"{family}: {theme_name(codes, family, theme, lang)}"
        values = [
            None if pd.isna(s) or s else float(v)
            for s, v in zip(series.is_suppressed, series.pct_improved, strict=True)
        ]
        traces.append(go.Scatter(
            x=series.period_start, y=values, name=name, mode="lines+markers", connectgaps=False,
            customdata=[f"{family}|{theme}|{label}" for label in series.period_label],
            line={"width": 3 if theme == "all" else 1.5, "dash": "solid" if theme == "all" else "dot"},
            hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra>" + html.escape(name) + "</extra>",
        ))  # fmt: skip
    fig = _percent_over_time(traces, lang, height=340)
    return _section(t["functional_timeseries"], _figure_html(fig, "chart-functional-timeseries"),
                    t["functional_timeseries_note"])  # fmt: skip


def functional_section(published: Published, subject: Subject, lang: str) -> str:
    t = TEXT[lang]
    rows = published.rows(
        "ind_functional_ability", subject, period_label=rolling_label(published.quarter)
    )
    codes = published.codes["assessment_themes"]
    rows = rows.merge(codes, on=["instrument_family", "theme"], how="left").sort_values(
        ["instrument_family", "sort_order"], na_position="first")  # fmt: skip
    labels, keys = [], []
    data = {k: [] for k in ("improved", "unchanged", "worsened")}
    for row in rows.itertuples():
        label = (
            f"{row.instrument_family}: {theme_name(codes, row.instrument_family, row.theme, lang)}"
        )
        labels.append(f"{label} ({mark(row, lang)})" if row.is_suppressed else label)
        keys.append(f"{row.instrument_family}|{row.theme}")
        for k in data:
            data[k].append(None if row.is_suppressed else float(getattr(row, f"pct_{k}")))
    fig = go.Figure([
        go.Bar(name=t[k], x=v, y=labels, orientation="h", marker_color=COLOURS[k], customdata=keys,
               text=[fmt(x, lang, pct=True) if x is not None else "" for x in v])
        for k, v in data.items()
    ])  # fmt: skip
    fig.update_layout(barmode="stack", xaxis={"range": [0, 100], "ticksuffix": "%"},
                      yaxis={"autorange": "reversed"}, height=120 + 32 * max(len(labels), 1))  # fmt: skip
    return _section(t["functional"], _figure_html(fig, "chart-functional"), t["functional_note"])


def key_figures_section(published: Published, subject: Subject, lang: str) -> str:
    t = TEXT[lang]
    labels = published.codes["indicator_labels"]
    labels = labels[labels.domain == "figure"]
    q = published.quarter.label
    own = published.rows("ind_key_figures", subject, period_label=q, breakdown="all")
    if subject.kind != "unit":  # case figures exist for authorities only
        authority = published.rows(
            "ind_key_figures", subject, role="authority", period_label=q, breakdown="all"
        )
        own = pd.concat([own, authority[~authority.figure.isin(own.figure)]])
    body = []
    for row in labels.itertuples():
        match = own[own.figure == row.code]
        if match.empty:
            continue
        r = match.iloc[0]
        decimals = 1 if r.unit in ("percent", "cases_per_caseworker") else 0
        value = fmt(
            r.value,
            lang,
            suppressed=withheld(r),
            pct=r.unit == "percent",
            decimals=decimals,
        )
        cell = _cell(f"ind_key_figures|{q}|{row.code}|value", value, suppression=withheld(r))
        body.append(f"<tr><th scope=\"row\">{html.escape(getattr(row, f'label_{lang}'))}</th>"
                    f"{cell}</tr>")  # fmt: skip
    table = (f'<table class="figures"><tr><th>{t["figure"]}</th><th>{t["quarter"].format(label=q)}</th></tr>'
             f'{"".join(body) or "<tr><td colspan=2>" + t["no_data"] + "</td></tr>"}</table>')  # fmt: skip
    return _section(t["key_figures"], table, t["key_figures_note"], css="table")


def data_quality_section(published: Published, subject: Subject, lang: str) -> str:
    t = TEXT[lang]
    q, year = published.quarter.label, rolling_label(published.quarter)
    head = f"<tr><th></th><th>{t['quarter'].format(label=q)}</th><th>{t['year'].format(label=year)}</th></tr>"
    body = []
    for measure, pct in (("pct_rows_quarantined", True), ("pct_goals_without_due_followup", True),
                         ("rows_loaded", False)):  # fmt: skip
        cells = []
        for label in (q, year):
            rows = published.rows("ind_data_quality", subject, period_label=label)
            r = rows.iloc[0] if len(rows) else None
            text = (
                "\u2013"
                if r is None
                else fmt(
                    r[measure],
                    lang,
                    suppressed=withheld(r),
                    pct=pct,
                    decimals=1 if pct else 0,
                )
            )
            cells.append(
                _cell(f"ind_data_quality|{label}|{measure}", text, suppression=withheld(r))
            )
        body.append(f'<tr><th scope="row">{t[measure]}</th>{"".join(cells)}</tr>')
    table = f'<table class="figures">{head}{"".join(body)}</table>'
    return _section(t["data_quality"], table, t["data_quality_note"], css="table quality")


def economy_sections(published: Published, subject: Subject, lang: str) -> list[str]:
    """Budget follow-up with the expected year-end, unit prices over time and spending per
    intervention type; one line saying so when the published delivery holds no cost data."""
    t = TEXT[lang]
    if published.tables["ind_costs"].empty:
        return [_no_data_section(t["economy"], t["no_cost_data"])]
    q, year = published.quarter, rolling_label(published.quarter)
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
        cell = _cell(f"ind_budget|{q.year}|all|{column}", text,
                     suppression=None if public else withheld(row))  # fmt: skip
        body.append(f'<tr><th scope="row">{html.escape(label)}</th>{cell}</tr>')
    head = f"<tr><th></th><th>{q.year} (DKK)</th></tr>"
    budget_table = f'<table class="figures">{head}{"".join(body)}</table>'
    sections = [_section(t["economy"], budget_table, t["economy_note"], css="table")]
    sections.append(_forecast_section(published, subject, lang))

    # Cost per intervention-day per quarter, in all and per intervention type.
    costs = published.rows("ind_costs", subject, period_type="quarter")
    quarters = costs[["period_start", "period_label"]].drop_duplicates().sort_values("period_start")
    types = published.codes.get("intervention_types")

    def type_name(value: str) -> str:
        if value == "all":
            return t["all_types"]
        return _label(types, value, lang) if types is not None else value

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
            hovertemplate="%{x|%Y-%m}: %{y:,.0f} DKK<extra>" + html.escape(name) + "</extra>",
        ))  # fmt: skip
    fig = go.Figure(traces)
    fig.update_layout(yaxis={"rangemode": "tozero", "ticksuffix": " kr."}, height=320)
    sections.append(
        _section(t["unit_prices"], _figure_html(fig, "chart-unit-prices"), t["unit_prices_note"])
    )

    # Spending and cost per citizen per intervention type, for the last four quarters.
    window = published.rows("ind_costs", subject, period_label=year)
    body = []
    for value, r in by_intervention_type(window):
        name = type_name(value)
        cells = "".join(
            _cell(f"ind_costs|{year}|{value}|{column}", fmt(r[column], lang, suppressed=withheld(r)),
                  suppression=withheld(r))
            for column in ("spending_dkk", "cost_per_citizen_dkk", "cost_per_intervention_day_dkk")
        )  # fmt: skip
        body.append(f'<tr><th scope="row">{html.escape(name)}</th>{cells}</tr>')
    head = (f'<tr><th>{t["year"].format(label=year)}</th><th>{t["spending"]}</th>'
            f'<th>{t["cost_per_citizen"]}</th><th>{t["cost_per_day"]}</th></tr>')  # fmt: skip
    table = f'<table class="figures">{head}{"".join(body)}</table>'
    sections.append(_section(t["spending_by_type"], table, t["spending_by_type_note"], css="table"))
    sections.append(_cost_effect_section(published, subject, lang, type_name))
    return sections


FORECAST_ORIGINS = 5  # the latest forecast and the four before it, for their errors
LATER = ("actual", "error_by_grants", "error_by_run_rate")  # known once the horizon is over


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


def _forecast_section(published: Published, subject: Subject, lang: str) -> str:
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
        cells = "".join(
            _cell(f"forecast|{f.origin.label}|{column}",
                  t["not_yet"] if not f.is_over and column in LATER else
                  fmt(value, lang, suppressed=marks[column], pct=column.startswith("error"),
                      decimals=1 if column.startswith("error") else 0),
                  suppression=marks[column])
            for column, value in values.items()
        )  # fmt: skip
        body.append(f'<tr><th scope="row">{f.origin.label}</th><td class="name">{f.horizon}</td>'
                    f"{cells}</tr>")  # fmt: skip
    if not body:
        return _no_data_section(t["forecast"], t["no_data"])
    head = "<tr>" + "".join(
        f"<th>{html.escape(t[k])}</th>"
        for k in ("forecast_origin", "forecast_horizon", "by_grants", "by_run_rate", "actual",
                  "error_by_grants", "error_by_run_rate")
    ) + "</tr>"  # fmt: skip
    table = f'<table class="figures">{head}{"".join(body)}</table>'
    return _section(t["forecast"], table, t["forecast_note"], css="table")


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


def _cost_effect_section(published: Published, subject: Subject, lang: str, type_name) -> str:
    """Per intervention type for the last four quarters: cost per citizen beside what the goals
    and the functional ability of those citizens did, and what one achieved goal and one
    improved citizen cost."""
    t, year = TEXT[lang], rolling_label(published.quarter)
    window = published.rows("ind_cost_effect", subject, period_label=year)
    if window.empty:  # a version published before cost next to effect was
        return _no_data_section(t["cost_effect"], t["no_data"])
    body = []
    for value, r in by_intervention_type(window):
        cells = []
        for column, part, pct in COST_EFFECT_COLUMNS:
            why = r[part] if isinstance(r[part], str) else None
            text = fmt(r[column], lang, suppressed=why, pct=pct)
            cells.append(_cell(f"ind_cost_effect|{year}|{value}|{column}", text, suppression=why))
        name = type_name(value)
        body.append(f'<tr><th scope="row">{html.escape(name)}</th>{"".join(cells)}</tr>')
    head = f'<tr><th>{t["year"].format(label=year)}</th>' + "".join(
        f"<th>{html.escape(t[c if c != 'cost_per_citizen_dkk' else 'cost_per_citizen'])}</th>"
        for c, _, _ in COST_EFFECT_COLUMNS
    ) + "</tr>"  # fmt: skip
    table = f'<table class="figures">{head}{"".join(body)}</table>'
    return _section(t["cost_effect"], table, t["cost_effect_note"], css="table")


def _no_data_section(title: str, text: str) -> str:
    return _section(title, f'<p class="no-data">{html.escape(text)}</p>', "", css="table")


def _section(title: str, content: str, note: str, css: str = "chart") -> str:
    heading = f"<h2>{html.escape(title)}</h2>" if title else ""
    return (f'<section class="{css}">{heading}{content}'
            f'<p class="note">{html.escape(note)}</p></section>')  # fmt: skip


# ---------------------------------------------------------------- pages

CSS = """
body{font-family:system-ui,sans-serif;margin:0;color:#212121;background:#f5f5f5}
header{background:#0d47a1;color:#fff;padding:1rem 1.5rem}
header h1{margin:0;font-size:1.5rem} header p{margin:.3rem 0 0;opacity:.9}
main{max-width:1100px;margin:auto;padding:1rem;display:grid;gap:1rem}
section{background:#fff;border-radius:8px;padding:1rem;box-shadow:0 1px 3px #0002;overflow-x:auto}
h2{font-size:1.15rem;margin:.2rem 0 .6rem}
.note{font-size:.9rem;color:#555;margin:.5rem 0 0}
table{border-collapse:collapse;width:100%;font-size:.95rem}
th,td{padding:.35rem .5rem;border-bottom:1px solid #e0e0e0;text-align:right}
th[scope=row],td.name{text-align:left} tr.total th{font-weight:600} tr.sub th{font-weight:400;padding-left:1.5rem}
.light{display:inline-block;min-width:4.5rem;padding:.2rem .4rem;border-radius:1rem;color:#fff;text-align:center}
a{color:#0d47a1} footer{font-size:.8rem;color:#666;text-align:center;padding:1rem}
@media (max-width:700px){main{padding:.4rem} th,td{padding:.25rem}}
"""


# plotly.js, written once per folder of sheets: its basic bundle (bar and scatter, all the
# sheets draw; 1.2 MB against the full bundle's 4.8 MB), npm's plotly.js-basic-dist-min at the
# version plotly.py draws for (docs/fact-sheets.md says how to renew it). The version is in the
# name, so that a folder made by another release never runs a page against another script.
PLOTLY_BUNDLE = Path(__file__).with_name("static") / "plotly-basic.min.js"
PLOTLY_JS = f"plotly-basic-{get_plotlyjs_version()}.min.js"


def _page(title: str, subtitle: str, body: str, lang: str, footer: str, charts: bool = True) -> str:
    script = f'<script type="text/javascript" src="{PLOTLY_JS}"></script>' if charts else ""
    return f"""<!doctype html>
<html lang="{lang}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title><style>{CSS}</style>
{script}</head>
<body><header><h1>{html.escape(title)}</h1><p>{html.escape(subtitle)}</p></header>
<main>{body}</main><footer>{footer}</footer></body></html>
"""


def _subject_title(subject: Subject, lang: str) -> str:
    t = TEXT[lang]
    if subject.kind == "administration":
        return f"{subject.org_unit_name}: {t['administration']}"
    if subject.kind == "area":
        return f"{t['area']}: {subject.org_unit_name}"
    return f"{subject.org_unit_name} ({t['unit_' + subject.org_role]})"


def fact_sheet_html(published: Published, subject: Subject, lang: str = "da") -> str:
    t = TEXT[lang]
    sections = [
        goal_attainment_section(published, subject, lang),
        goal_type_section(published, subject, lang),
        timeseries_section(published, subject, lang),
        functional_section(published, subject, lang),
        functional_timeseries_section(published, subject, lang),
        key_figures_section(published, subject, lang),
        data_quality_section(published, subject, lang),
        *economy_sections(published, subject, lang),
    ]
    m = published.manifest
    footer = (html.escape(t["published"].format(version=m["version"], deliveries=", ".join(
        d["delivery_id"] for d in m["deliveries"]))) + f' · <a href="index.html">{t["back"]}</a>')  # fmt: skip
    return _page(f"{t['title']} · {_subject_title(subject, lang)}",
                 t["subtitle"].format(quarter=published.quarter.label), "".join(sections), lang, footer)  # fmt: skip


# ---------------------------------------------------------------- barometer


def light(value, target: dict) -> str:
    if value is None or pd.isna(value):
        return "grey"
    better = (lambda a, b: a <= b) if target.get("lower_is_better") else (lambda a, b: a >= b)
    if better(value, target["green"]):
        return "green"
    return "amber" if better(value, target["amber"]) else "red"


def barometer_measures(published: Published, subject: Subject) -> dict[str, float | None]:
    """The figures the barometer judges, for the last four quarters."""
    year = rolling_label(published.quarter)

    def one(table, column, role=None, **where):
        rows = published.rows(table, subject, role=role, period_label=year, **where)
        if rows.empty or rows.iloc[0].is_suppressed:
            return None
        return float(rows.iloc[0][column])

    return {
        "goal_attainment_pct": one("ind_goal_attainment", "avg_goal_attainment_pct", life_theme="all", sub_theme="all"),
        "improved_pct": one("ind_functional_ability", "pct_improved", instrument_family="VUM", theme="all")
        if not published.rows("ind_functional_ability", subject, period_label=year, instrument_family="VUM", theme="all").empty
        else one("ind_functional_ability", "pct_improved", instrument_family="DIALOG", theme="all"),
        "followups_on_time_pct": one("ind_key_figures", "value", role="authority" if subject.kind != "unit" else None,
                                     figure="share_followups_on_time", breakdown="all"),
        "goals_without_followup_pct": one("ind_data_quality", "pct_goals_without_due_followup"),
    }  # fmt: skip


def barometer_html(published: Published, sheets: list[Subject], too_few: list[Subject],
                   targets: dict, lang: str = "da") -> str:  # fmt: skip
    t = TEXT[lang]
    measures = (
        "goal_attainment_pct",
        "improved_pct",
        "followups_on_time_pct",
        "goals_without_followup_pct",
    )
    costs = ("cost_per_citizen_dkk", "cost_per_intervention_day_dkk")  # beside, without targets
    head = "".join(f"<th>{t[m]}</th>" for m in (*measures, *costs))
    rows = []
    for subject in [*sheets, *too_few]:
        has_sheet = subject in sheets
        name = html.escape(_subject_title(subject, lang))
        link = (
            f'<a href="{subject.file_name}">{name}</a>'
            if has_sheet
            else f"{name} <small>({t['too_few']})</small>"
        )
        values = barometer_measures(published, subject) if has_sheet else dict.fromkeys(measures)
        cells = []
        for m in measures:
            colour = light(values[m], targets[m])
            text = fmt(values[m], lang, pct=True) if values[m] is not None else "\u2013"
            cells.append(
                f'<td data-cell="{subject.org_unit_id}|{subject.org_role}|{m}" data-light="{colour}">'
                f'<span class="light" style="background:{LIGHTS[colour]}" aria-label="{colour}">{text}</span></td>'
            )
        row = published.rows("ind_costs", subject, period_label=rolling_label(published.quarter),
                             breakdown_by="all")  # fmt: skip
        r = row.iloc[0] if has_sheet and len(row) else None
        for m in costs:
            text = "\u2013" if r is None else fmt(r[m], lang, suppressed=withheld(r))
            cells.append(_cell(f"{subject.org_unit_id}|{subject.org_role}|{m}", text,
                               suppression=withheld(r)))  # fmt: skip
        rows.append(f'<tr><td class="name">{link}</td>{"".join(cells)}</tr>')
    table = f'<table class="figures"><tr><th style="text-align:left">{t["unit"]}</th>{head}</tr>{"".join(rows)}</table>'
    footer = html.escape(t["published"].format(version=published.manifest["version"], deliveries=", ".join(
        d["delivery_id"] for d in published.manifest["deliveries"])))  # fmt: skip
    return _page(f"{t['barometer']} · {rolling_label(published.quarter)}",
                 t["subtitle"].format(quarter=published.quarter.label),
                 _section("", table, t["barometer_note"], css="table"), lang, footer,
                 charts=False)  # fmt: skip


def write_fact_sheets(version: Path, quarter: Quarter, out: Path, lang: str = "da",
                      targets: dict | None = None) -> dict:  # fmt: skip
    """Write every fact sheet and the barometer (index.html) for the quarter into `out`."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r}: choose from {', '.join(LANGUAGES)}")
    targets = targets or load_targets()
    published = Published.load(version, quarter)
    sheets, too_few = subjects(published, targets)
    with atomic_folder(out) as incoming:
        shutil.copyfile(PLOTLY_BUNDLE, incoming / PLOTLY_JS)
        for subject in sheets:
            (incoming / subject.file_name).write_text(
                fact_sheet_html(published, subject, lang), encoding="utf-8"
            )
        (incoming / "index.html").write_text(
            barometer_html(published, sheets, too_few, targets, lang), encoding="utf-8"
        )
    return {
        "quarter": quarter.label,
        "language": lang,
        "sheets": [s.file_name for s in sheets],
        "units_without_sheet": [s.org_unit_id for s in too_few],
        "index": str(out / "index.html"),
        "published_version": published.manifest["version"],
    }
