"""Fact sheets and the barometer show exactly what was published, suppressed cells as "<5"."""

import json
import shutil
from html.parser import HTMLParser

import duckdb
import pandas as pd
import pytest
from markupsafe import escape
from plotly.offline import get_plotlyjs, get_plotlyjs_version

from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.reporting.barometer import barometer_measures, light, load_targets
from orchestration.reporting.factsheets import PLOTLY_BUNDLE, PLOTLY_JS, write_fact_sheets
from orchestration.reporting.formatting import fmt, withheld
from orchestration.reporting.published import Published, rolling_label, subjects


class Cells(HTMLParser):
    """The text of every element carrying data-cell (or data-light), by its key."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[str, str] = {}
        self.lights: dict[str, str] = {}
        self._key: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-cell" in attrs:
            self._key = attrs["data-cell"]
            self.cells[self._key] = ""
            if "data-light" in attrs:
                self.lights[self._key] = attrs["data-light"]

    def handle_endtag(self, tag):
        if tag == "td":
            self._key = None

    def handle_data(self, data):
        if self._key is not None:
            self.cells[self._key] += data


def cells(path) -> Cells:
    parser = Cells()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def published_rows(version, sql: str) -> pd.DataFrame:
    con = duckdb.connect(str(version / "indicators.duckdb"), read_only=True)
    try:
        return con.execute(sql).df()
    finally:
        con.close()


def test_every_level_has_a_fact_sheet_and_the_barometer_links_them(reported):
    published = Published.load(reported.version, reported.quarter)
    sheets, too_few = subjects(published, load_targets(reported.targets))
    names = {p.name for p in reported.sheets.glob("*.html")}
    assert "administration.html" in names and "index.html" in names
    areas = published_rows(reported.version, """
        select distinct org_unit_id from main.ind_goal_attainment
        where org_level = 2 and org_role = 'provider' and period_label = '2019Q2'""")  # fmt: skip
    assert {f"area-{a}.html" for a in areas.org_unit_id} <= names
    units = [s for s in sheets if s.kind == "unit"]
    assert units, "no unit had enough citizens for a fact sheet"
    assert {s.file_name for s in units} <= names
    barometer = (reported.sheets / "index.html").read_text(encoding="utf-8")
    for subject in sheets:
        assert f'href="{subject.file_name}"' in barometer
    for subject in too_few:
        assert f'href="{subject.file_name}"' not in barometer and subject.org_unit_name in barometer


def test_figures_on_the_administration_sheet_equal_the_published_indicators(reported):
    shown = cells(reported.sheets / "administration.html").cells
    year = rolling_label(reported.quarter)
    rows = published_rows(reported.version, f"""
        select * from main.ind_goal_attainment
        where org_level = 1 and org_role = 'provider'
          and period_label in ('{year}', '2019Q2')""")  # fmt: skip
    assert len(rows) > 10
    checked = suppressed = 0
    for row in rows.itertuples():
        key = f"ind_goal_attainment|{row.period_label}|{row.life_theme}|{row.sub_theme}"
        if f"{key}|avg_goal_attainment_pct" not in shown:
            continue
        expected_avg = fmt(row.avg_goal_attainment_pct, "da", suppressed=withheld(row), pct=True)
        expected_n = fmt(row.n_citizens, "da", suppressed=withheld(row))
        assert shown[f"{key}|avg_goal_attainment_pct"] == expected_avg, key
        assert shown[f"{key}|n_citizens"] == expected_n, key
        checked += 1
        suppressed += bool(row.is_suppressed)
    assert checked >= 10
    key_figure = published_rows(reported.version, """
        select value from main.ind_key_figures where org_level = 1 and org_role = 'authority'
          and period_label = '2019Q2' and figure = 'active_cases' and breakdown = 'all'""")  # fmt: skip
    assert shown["ind_key_figures|2019Q2|active_cases|value"] == fmt(key_figure.value[0], "da")


def test_the_functional_ability_chart_names_what_all_pools_and_the_judgement_apart(reported):
    """VUM's total reads "alle 7 temaer", the dialogue ruler's "alle 5 temaer"; VUM2008's
    overall assessment is labelled a judgement, not counted among the themes."""
    page = (reported.sheets / "administration.html").read_text(encoding="utf-8")
    assert "VUM: alle 7 temaer" in page and "DIALOG: alle 5 temaer" in page
    assert "Samlet vurdering (helhedsvurdering)" in page
    assert "helhedsvurdering, ikke et tema" in page  # the note says why


def test_a_suppressed_cell_is_shown_as_suppressed_never_as_zero(reported):
    """Too few citizens reads "<5"; withheld to protect such a cell reads "–", and the page
    says what that means."""
    rows = published_rows(reported.version, """
        select org_role, org_level, org_unit_id, period_label, life_theme, sub_theme, suppression
        from main.ind_goal_attainment
        where is_suppressed and period_label = '2019Q2' and org_level in (1, 2)
          and org_role = 'provider'
        order by all""")  # fmt: skip
    assert set(rows.suppression) == {"primary", "secondary"}, "the test data has both kinds"
    shown_kinds = set()
    for kind, signs in (("primary", "<5"), ("secondary", "\u2013")):
        for row in rows[rows.suppression == kind].head(4).itertuples():
            sheet = "administration.html" if row.org_level == 1 else f"area-{row.org_unit_id}.html"
            page = reported.sheets / sheet
            shown = cells(page).cells
            key = f"ind_goal_attainment|2019Q2|{row.life_theme}|{row.sub_theme}"
            if f"{key}|n_citizens" not in shown:
                continue  # a sub-theme the sheet does not list
            assert shown[f"{key}|avg_goal_attainment_pct"] == signs, key
            assert shown[f"{key}|n_citizens"] == signs, key
            html = page.read_text(encoding="utf-8")
            assert f'data-cell="{key}|n_citizens" class="withheld-{kind}"' in html
            assert "cannot be worked out" in html or "ikke kan regnes" in html
            shown_kinds.add(kind)
    assert shown_kinds == {"primary", "secondary"}


def test_the_barometer_lights_follow_the_targets(reported):
    targets = load_targets(reported.targets)
    assert light(65, targets["goal_attainment_pct"]) == "green"
    assert light(55, targets["goal_attainment_pct"]) == "amber"
    assert light(10, targets["goal_attainment_pct"]) == "red"
    assert light(None, targets["goal_attainment_pct"]) == "grey"
    assert light(2, targets["goals_without_followup_pct"]) == "green"  # lower is better
    assert light(40, targets["goals_without_followup_pct"]) == "red"
    published = Published.load(reported.version, reported.quarter)
    sheets, _ = subjects(published, targets)
    admin = next(s for s in sheets if s.kind == "administration")
    lights = cells(reported.sheets / "index.html").lights
    for measure, value in barometer_measures(published, admin).items():
        assert lights[f"{admin.org_unit_id}|{admin.org_role}|{measure}"] == light(
            value, targets[measure]
        )


def test_the_barometer_shows_the_published_cost_per_citizen_beside_the_effects(reported):
    published = Published.load(reported.version, reported.quarter)
    sheets, _ = subjects(published, load_targets(reported.targets))
    shown = cells(reported.sheets / "index.html").cells
    costs = published_rows(reported.version, f"""
        select org_role, org_unit_id, cost_per_citizen_dkk, cost_per_intervention_day_dkk,
            is_suppressed, suppression
        from main.ind_costs
        where period_label = '{rolling_label(reported.quarter)}' and breakdown_by = 'all'""")  # fmt: skip
    checked = 0
    for subject in sheets:
        row = costs[
            (costs.org_role == subject.org_role) & (costs.org_unit_id == subject.org_unit_id)
        ]
        for measure in ("cost_per_citizen_dkk", "cost_per_intervention_day_dkk"):
            text = shown[f"{subject.org_unit_id}|{subject.org_role}|{measure}"]
            if row.empty:
                assert text == "\u2013"
                continue
            r = row.iloc[0]
            assert text == fmt(r[measure], "da", suppressed=withheld(r))
            checked += not r.is_suppressed
    assert checked >= 2  # the administration and an area at least


def test_cost_next_to_effect_shows_each_part_as_published_and_withholds_parts_alone(reported):
    """Every sheet's cost-next-to-effect cell is the published figure, or the sign of the part
    of the row that withholds it: goal figures and ability figures are withheld on their own,
    so a sheet can show a cost per citizen beside a withheld goal attainment."""
    published = Published.load(reported.version, reported.quarter)
    sheets, _ = subjects(published, load_targets(reported.targets))
    year = rolling_label(reported.quarter)
    rows = published_rows(reported.version, f"""
        select * from main.ind_cost_effect where period_label = '{year}'
          and breakdown_by in ('all', 'intervention_type')""")  # fmt: skip
    parts = {"cost_per_citizen_dkk": "suppression", "avg_goal_attainment_pct": "goals_suppression",
             "spending_per_achieved_goal_dkk": "goals_suppression",
             "pct_citizens_improved": "ability_suppression",
             "spending_per_improved_citizen_dkk": "ability_suppression"}  # fmt: skip
    seen = {"shown": 0, "part withheld alone": 0}
    for subject in sheets:
        page = reported.sheets / subject.file_name
        shown = cells(page).cells
        mine = rows[(rows.org_role == subject.org_role) & (rows.org_unit_id == subject.org_unit_id)]
        assert len(mine), subject
        for r in mine.itertuples():
            for column, part in parts.items():
                text = shown[f"ind_cost_effect|{year}|{r.breakdown}|{column}"]
                why = getattr(r, part) if isinstance(getattr(r, part), str) else None
                pct = "pct" in column
                assert text == fmt(getattr(r, column), "da", suppressed=why, pct=pct), (
                    subject.file_name, r.breakdown, column)  # fmt: skip
                seen["shown"] += why is None and not pd.isna(getattr(r, column))
                seen["part withheld alone"] += why is not None and not r.is_suppressed
    assert seen["shown"] > 20 and seen["part withheld alone"] > 0, seen


def test_the_forecast_and_its_back_test_are_the_published_figures(reported):
    """Each sheet's forecasts: by grants as ind_cost_forecast publishes it, by run-rate the
    origin quarter's published spending continued, and once the horizon is over the two
    quarters' published spending beside it with each method's error; withheld (never zero)
    where a published figure it comes from is."""
    published = Published.load(reported.version, reported.quarter)
    sheets, _ = subjects(published, load_targets(reported.targets))
    rows = published_rows(reported.version, """
        with quarters as (
            select org_role, org_unit_id, period_label, period_start, period_end, spending_dkk,
                is_suppressed
            from main.ind_costs where period_type = 'quarter' and breakdown_by = 'all')
        select f.org_role, f.org_unit_id, f.period_label, f.forecast_by_grants_dkk,
            f.is_suppressed as grants_withheld, q.is_suppressed as window_withheld,
            q.spending_dkk * datediff('day', f.period_end, f.horizon_end)
                / (datediff('day', q.period_start, q.period_end) + 1) as by_run_rate,
            (select sum(h.spending_dkk) from quarters as h
             where h.org_role = f.org_role and h.org_unit_id = f.org_unit_id
               and h.period_start > f.period_end and h.period_end <= f.horizon_end) as actual,
            (select coalesce(bool_or(h.is_suppressed), false) from quarters as h
             where h.org_role = f.org_role and h.org_unit_id = f.org_unit_id
               and h.period_start > f.period_end and h.period_end <= f.horizon_end)
                as actual_withheld,
            f.horizon_end <= (select max(booked_through) from main.ind_budget) as is_over
        from main.ind_cost_forecast as f
        inner join quarters as q on q.org_role = f.org_role and q.org_unit_id = f.org_unit_id
            and q.period_label = f.period_label
        where f.period_end <= '2019-06-30'""")  # fmt: skip
    withheld_signs = {"<5", "\u2013"}
    seen = {"actual shown": 0, "actual withheld": 0, "not over": 0}
    for subject in sheets:
        shown = cells(reported.sheets / subject.file_name).cells
        mine = rows[(rows.org_role == subject.org_role) & (rows.org_unit_id == subject.org_unit_id)]
        latest = mine.sort_values("period_label", ascending=False).head(5)
        assert len(latest) == 5, subject
        for r in latest.itertuples():
            key = f"forecast|{r.period_label}"
            grants, rate = shown[f"{key}|by_grants"], shown[f"{key}|by_run_rate"]
            assert grants in withheld_signs if r.grants_withheld else grants == fmt(
                r.forecast_by_grants_dkk, "da")  # fmt: skip
            assert rate in withheld_signs if r.window_withheld else rate == fmt(r.by_run_rate, "da")
            actual = shown[f"{key}|actual"]
            if not r.is_over:  # nothing to compare with yet, and the sheet says so
                assert actual == shown[f"{key}|error_by_grants"] == "endnu ikke"
                seen["not over"] += 1
            elif r.actual_withheld:
                assert actual in withheld_signs
                seen["actual withheld"] += 1
            else:
                assert actual == fmt(r.actual, "da")
                if not r.window_withheld:
                    error = 100 * (r.by_run_rate - r.actual) / r.actual
                    assert shown[f"{key}|error_by_run_rate"] == fmt(
                        error, "da", pct=True, decimals=1
                    )
                seen["actual shown"] += 1
    assert all(seen.values()), seen


def test_english_on_request_and_nothing_personal_on_any_page(reported, tmp_path):
    out = tmp_path / "en"
    targets = load_targets(reported.targets)
    written = write_fact_sheets(reported.version, reported.quarter, out, lang="en", targets=targets)
    page = (out / "administration.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page and "Average goal attainment per life theme" in page
    assert written["language"] == "en"
    for path in [*reported.sheets.glob("*.html"), *out.glob("*.html")]:
        page = path.read_text(encoding="utf-8")
        assert path.name == "index.html" or f'src="{PLOTLY_JS}"' in page  # beside it, offline
        assert not CPR_IN_TEXT.search(page), path
    with pytest.raises(ValueError, match="language 'fr'"):
        write_fact_sheets(reported.version, reported.quarter, tmp_path / "fr", lang="fr")


def test_plotly_is_written_once_per_folder_and_every_sheet_references_it(reported, tmp_path):
    """With the full plotly.js (4.8 MB) inline in every page, a quarter's folder held one copy
    per page; now it holds one copy of the basic bundle (1.2 MB)."""
    out = reported.sheets
    pages = sorted(out.glob("*.html"))
    bundle = (out / PLOTLY_JS).read_text(encoding="utf-8")
    # The basic bundle of the plotly.js that plotly.py draws for (renewed with plotly).
    assert bundle == PLOTLY_BUNDLE.read_text(encoding="utf-8")
    assert f"plotly.js (basic - minified) v{get_plotlyjs_version()}\n" in bundle[:200]
    assert [p.name for p in out.iterdir() if p.suffix == ".js"] == [PLOTLY_JS]
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "Copyright 2012-" not in text, page.name  # nothing of plotly.js inline
        if page.name != "index.html":
            assert f'<script type="text/javascript" src="{PLOTLY_JS}"></script>' in text
    inline = sum(p.stat().st_size for p in pages) + len(pages) * len(get_plotlyjs().encode())
    folder = sum(p.stat().st_size for p in out.iterdir())
    assert folder < 0.15 * inline, (len(pages), folder, inline)


MARKUP = "<script>alert(1)</script>"


def test_texts_from_the_published_version_are_escaped_on_every_page(reported, tmp_path):
    """Unit names, a code list's labels and a delivery id holding markup are shown as text:
    the templates escape whatever the published version says, it never runs as a script."""
    version = tmp_path / "version"
    shutil.copytree(reported.version, version)
    con = duckdb.connect(str(version / "indicators.duckdb"))
    try:
        for (table,) in con.execute(
            "select table_name from information_schema.columns "
            "where table_schema = 'main' and column_name = 'org_unit_name'"
        ).fetchall():
            con.execute(f"update main.{table} set org_unit_name = org_unit_name || ?", [MARKUP])
        con.execute(
            "update codes.life_themes set life_theme_label_da = life_theme_label_da || ?", [MARKUP]
        )
        (theme,) = con.execute(
            "select life_theme_label_da from codes.life_themes order by sort_order limit 1"
        ).fetchone()
    finally:
        con.close()
    manifest = json.loads((version / "manifest.json").read_text())
    manifest["deliveries"][0]["delivery_id"] += MARKUP
    (version / "manifest.json").write_text(json.dumps(manifest))

    out = tmp_path / "sheets"
    targets = load_targets(reported.targets)
    write_fact_sheets(version, reported.quarter, out, targets=targets)
    shown = str(escape(MARKUP))
    assert shown == "&lt;script&gt;alert(1)&lt;/script&gt;"
    pages = sorted(out.glob("*.html"))
    assert len(pages) > 2
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert MARKUP not in text, page.name
        footer = text.split("<footer>")[1]
        assert shown in footer, page.name  # the delivery id
    sheets, _ = subjects(Published.load(version, reported.quarter), targets)
    admin = next(s for s in sheets if s.kind == "administration")
    assert admin.org_unit_name.endswith(MARKUP)
    sheet = (out / "administration.html").read_text(encoding="utf-8")
    assert f"<h1>Faktablad · {escape(admin.title('da'))}</h1>" in sheet
    assert f'<th scope="row">{escape(theme)}</th>' in sheet  # a table's row
    barometer = (out / "index.html").read_text(encoding="utf-8")
    assert f'<a href="administration.html">{escape(admin.title("da"))}</a>' in barometer
