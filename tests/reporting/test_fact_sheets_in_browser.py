"""A leader's view: the fact sheet opens in a browser, every chart draws, and shows what was published."""

import shutil

import pandas as pd

from tests.conftest import ARTIFACTS
from tests.reporting.test_fact_sheets import published_rows

CHART_DATA = """return Array.from(document.querySelectorAll('.js-plotly-plot')).map(gd => ({
    id: gd.id,
    drawn: gd.querySelector('svg.main-svg') !== null,
    traces: gd.data.map(t => ({x: Array.from(t.x || []), y: Array.from(t.y || []),
                               customdata: Array.from(t.customdata || [])}))}));"""


def test_the_fact_sheet_draws_every_chart_without_errors(reported, browser):
    browser.get((reported.sheets / "administration.html").as_uri())
    charts = browser.execute_script(CHART_DATA)
    assert {c["id"] for c in charts} == {
        "chart-goal-attainment", "chart-goal-types", "chart-timeseries", "chart-functional",
        "chart-functional-timeseries", "chart-unit-prices",
    }  # fmt: skip
    assert all(c["drawn"] for c in charts)
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []
    browser.save_screenshot(str(ARTIFACTS / "fact-sheet-administration.png"))

    # The attainment bars are the published figures, a suppressed theme has no bar (not zero).
    bars = next(c for c in charts if c["id"] == "chart-goal-attainment")["traces"][0]
    rows = published_rows(reported.version, """
        select life_theme, avg_goal_attainment_pct, is_suppressed from main.ind_goal_attainment
        where org_level = 1 and org_role = 'provider' and sub_theme = 'all'
          and period_label = '2018Q3-2019Q2'""").set_index("life_theme")  # fmt: skip
    for theme, x in zip(bars["customdata"], bars["x"], strict=True):
        row = rows.loc[theme]
        if row.is_suppressed:
            assert x is None
        else:
            assert abs(x - row.avg_goal_attainment_pct) < 1e-9, theme


def test_the_barometer_opens_and_links_to_the_sheets(reported, browser):
    browser.get((reported.sheets / "index.html").as_uri())
    links = browser.execute_script(
        "return Array.from(document.querySelectorAll('a')).map(a => a.getAttribute('href'))"
    )
    assert "administration.html" in links
    assert all((reported.sheets / link).exists() for link in links if link.endswith(".html"))
    browser.save_screenshot(str(ARTIFACTS / "barometer.png"))


def test_the_functional_ability_series_pools_the_same_themes_across_the_break(reported, browser):
    """Each point of VUM's line is the published `all` figure, which pools the seven themes on
    both sides of May 2017; the overall judgement is a line of its own, before the break only."""
    browser.get((reported.sheets / "administration.html").as_uri())
    chart = next(c for c in browser.execute_script(CHART_DATA)
                 if c["id"] == "chart-functional-timeseries")  # fmt: skip
    points = {
        key: y
        for trace in chart["traces"]
        for key, y in zip(trace["customdata"], trace["y"], strict=True)
    }
    rows = published_rows(reported.version, """
        select instrument_family, theme, period_label, period_start, pct_improved, is_suppressed
        from main.ind_functional_ability
        where org_level = 1 and org_role = 'provider' and period_type = 'quarter'
          and (theme = 'all' or theme = 'overall')""")  # fmt: skip
    assert set(rows.theme) == {"all", "overall"}
    published = set()
    for row in rows.itertuples():
        key = f"{row.instrument_family}|{row.theme}|{row.period_label}"
        published.add(key)
        y = points[key]
        assert y is None if row.is_suppressed else abs(y - row.pct_improved) < 1e-9
    # A quarter without a published row is a gap in its line, never a bridged or zero point.
    assert all(points[key] is None for key in points.keys() - published)
    vum_all = rows[(rows.instrument_family == "VUM") & (rows.theme == "all")]
    overall = rows[rows.theme == "overall"]
    assert vum_all.period_start.max() > overall.period_start.max()
    # VUM2 has no overall judgement: its last quarter is the one VUM2 began in.
    assert pd.Timestamp(overall.period_start.max()) <= pd.Timestamp("2017-04-01")


def test_the_economy_section_shows_the_published_budget_and_unit_prices(reported, browser):
    """The budget follow-up's cells and every point of the unit-price chart are the published
    figures (ind_budget, ind_costs); a withheld quarter is a gap, not zero."""
    browser.get((reported.sheets / "administration.html").as_uri())
    cells = dict(browser.execute_script(
        "return Array.from(document.querySelectorAll('td[data-cell^=\"ind_budget|\"]'))"
        ".map(td => [td.dataset.cell, td.textContent]);"
    ))  # fmt: skip
    budget = published_rows(reported.version, """
        select budget_dkk, spent_to_date_dkk, expected_by_grants_dkk, is_suppressed
        from main.ind_budget where org_level = 1 and org_role = 'provider' and function = 'all'
          and budget_year = 2019""").iloc[0]  # fmt: skip
    assert not budget.is_suppressed
    for column in ("budget_dkk", "spent_to_date_dkk", "expected_by_grants_dkk"):
        shown = cells[f"ind_budget|2019|all|{column}"]
        assert int(shown.replace(".", "")) == round(budget[column]), column  # 1.234.567 in Danish
    chart = next(c for c in browser.execute_script(CHART_DATA) if c["id"] == "chart-unit-prices")
    points = {k: y for t in chart["traces"] for k, y in zip(t["customdata"], t["y"], strict=True)}
    rows = published_rows(reported.version, """
        select breakdown, period_label, cost_per_intervention_day_dkk, is_suppressed
        from main.ind_costs where org_level = 1 and org_role = 'provider' and period_type = 'quarter'
          and breakdown_by in ('all', 'intervention_type')""")  # fmt: skip
    assert len(rows) > 10
    for row in rows.itertuples():
        y = points[f"{row.breakdown}|{row.period_label}"]
        assert y is None if row.is_suppressed else abs(y - row.cost_per_intervention_day_dkk) < 1e-9
    # Cost next to effect: the administration's cost per citizen and per citizen improved, per
    # intervention type; a withheld one (its quarter withheld, its window with it) says so.
    shown = dict(browser.execute_script(
        "return Array.from(document.querySelectorAll('td[data-cell^=\"ind_cost_effect|\"]'))"
        ".map(td => [td.dataset.cell, td.textContent]);"
    ))  # fmt: skip
    effect = published_rows(reported.version, """
        select * from main.ind_cost_effect where org_level = 1 and org_role = 'provider'
          and period_label = '2018Q3-2019Q2'
          and breakdown_by in ('all', 'intervention_type')""")  # fmt: skip
    compared = 0
    for row in effect.itertuples():
        for column, part in (("cost_per_citizen_dkk", "suppression"),
                             ("spending_per_improved_citizen_dkk", "ability_suppression")):  # fmt: skip
            text = shown[f"ind_cost_effect|2018Q3-2019Q2|{row.breakdown}|{column}"]
            if isinstance(getattr(row, part), str):
                assert text in ("–", "<5"), (row.breakdown, column, text)
            elif not pd.isna(getattr(row, column)):
                assert int(text.replace(".", "")) == round(getattr(row, column)), column
                compared += 1
    assert compared >= 2
    browser.save_screenshot(str(ARTIFACTS / "fact-sheet-economy.png"))


def test_a_copy_of_the_folder_draws_its_charts_offline(reported, browser, tmp_path):
    """The sheets reference plotly.js beside them: copied whole (to a share, a laptop), a
    sheet still draws every chart, with no network."""
    copy = tmp_path / "copied-factsheets"
    shutil.copytree(reported.sheets, copy)
    browser.get((copy / "administration.html").as_uri())
    charts = browser.execute_script(CHART_DATA)
    assert len(charts) == 6 and all(c["drawn"] for c in charts)
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
