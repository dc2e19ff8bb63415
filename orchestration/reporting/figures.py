"""The effect sections of a fact sheet: goal attainment, goal types, functional ability, key
figures and data quality, each as a plotly chart or a table of the published figures."""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd
import plotly.graph_objects as go

from orchestration.reporting.formatting import code_label, fmt, fmt_change, mark, withheld
from orchestration.reporting.published import Published, Subject, rolling_label, year_ago
from orchestration.reporting.sections import (
    Cell,
    Heading,
    Row,
    Section,
    Table,
    figure_html,
    headings,
)
from orchestration.reporting.text import TEXT

DATA_BREAK = dt.date(2017, 5, 15)
COLOURS = {"achieved": "#2e7d32", "not_achieved": "#bdbdbd", "improved": "#2e7d32",
           "unchanged": "#9e9e9e", "worsened": "#c62828"}  # fmt: skip


def hover_name(name: str) -> str:
    """A name inside a plotly hovertemplate, which plotly reads as its own small markup."""
    return html.escape(name)


def goal_attainment_sections(published: Published, subject: Subject, lang: str) -> list[Section]:
    """The bars per life theme for the last four quarters, and the table of every theme and
    sub-theme for them and for the quarter, with the change against the period before."""
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
                Cell(
                    f"{key}|avg_goal_attainment_pct",
                    fmt(avg, lang, suppressed=suppressed, pct=True),
                    suppression=suppressed,
                ),
                Cell(
                    f"{key}|n_citizens", fmt(n, lang, suppressed=suppressed), suppression=suppressed
                ),
                Cell(f"{key}|change", "\u2013" if suppressed else fmt_change(avg, prior, lang)),
            ]
        body.append(Row(name(theme, sub), cells, css="total" if sub == "all" else "sub"))
    head = [
        [Heading(t["theme"], rowspan=2), Heading(t["year"].format(label=year), colspan=3),
         Heading(t["quarter"].format(label=q.label), colspan=3)],
        headings(t["avg"], t["n"], t["change"]) * 2,
    ]  # fmt: skip

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
    return [
        Section(t["goal_attainment"], t["goal_attainment_note"],
                figure=figure_html(fig, "chart-goal-attainment")),
        Section("", t["table_note"], css="table", table=Table(head, body)),
    ]  # fmt: skip


def goal_type_section(published: Published, subject: Subject, lang: str) -> Section:
    t = TEXT[lang]
    rows = published.rows(
        "ind_goal_type_achievement", subject, period_label=rolling_label(published.quarter)
    )
    codes = published.codes["goal_types"]
    labels, achieved, not_achieved, types = [], [], [], []
    for row in rows[rows.goal_type != "all"].sort_values("goal_type").itertuples():
        name = code_label(codes, row.goal_type, lang)
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
    return Section(
        t["goal_types"], t["goal_types_note"], figure=figure_html(fig, "chart-goal-types")
    )


def timeseries_section(published: Published, subject: Subject, lang: str) -> Section:
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
            hovertemplate="%{customdata}: %{y:.1f}%<extra>" + hover_name(name) + "</extra>",
        ))  # fmt: skip
    fig = _percent_over_time(traces, lang, height=380)
    return Section(
        t["timeseries"], t["timeseries_note"], figure=figure_html(fig, "chart-timeseries")
    )


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


def functional_timeseries_section(published: Published, subject: Subject, lang: str) -> Section:
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
            hovertemplate="%{x|%Y-%m}: %{y:.1f}%<extra>" + hover_name(name) + "</extra>",
        ))  # fmt: skip
    fig = _percent_over_time(traces, lang, height=340)
    return Section(t["functional_timeseries"], t["functional_timeseries_note"],
                   figure=figure_html(fig, "chart-functional-timeseries"))  # fmt: skip


def functional_section(published: Published, subject: Subject, lang: str) -> Section:
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
    return Section(
        t["functional"], t["functional_note"], figure=figure_html(fig, "chart-functional")
    )


def key_figures_section(published: Published, subject: Subject, lang: str) -> Section:
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
        cell = Cell(f"ind_key_figures|{q}|{row.code}|value", value, suppression=withheld(r))
        body.append(Row(getattr(row, f"label_{lang}"), [cell]))
    table = Table([headings(t["figure"], t["quarter"].format(label=q))], body, empty=t["no_data"])
    return Section(t["key_figures"], t["key_figures_note"], css="table", table=table)


def data_quality_section(published: Published, subject: Subject, lang: str) -> Section:
    t = TEXT[lang]
    q, year = published.quarter.label, rolling_label(published.quarter)
    head = headings("", t["quarter"].format(label=q), t["year"].format(label=year))
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
            cells.append(Cell(f"ind_data_quality|{label}|{measure}", text, suppression=withheld(r)))
        body.append(Row(t[measure], cells))
    return Section(t["data_quality"], t["data_quality_note"], css="table quality",
                   table=Table([head], body))  # fmt: skip
