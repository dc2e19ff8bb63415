"""Two municipalities through the daily job and the quarterly reporting, as `effekt run` and
`effekt backfill` run them: each delivery loads, gates against its own municipality and
publishes under disclosure control; the quarter gets a fact sheet for the nation and each
administration, and comparison pages with every municipality named, or only one's own. (Three
municipalities in one warehouse, against each alone: tests/warehouse/test_municipalities.py.)"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil

import dagster as dg
import duckdb
import pytest

from orchestration.disclosure.assets import AUDIT_REPORT
from orchestration.publish import current_version
from orchestration.reporting import Quarter, comparison_dir, fact_sheet_dir
from orchestration.reporting.assets import comparison_pages
from orchestration.resources import SettingsResource
from tests.conftest import QUARTER, operated_settings

MUNICIPALITIES = {"101": (21, 160), "751": (22, 100)}  # code: (seed, citizens)


@pytest.fixture(scope="module")
def national(tmp_path_factory, make_delivery):
    from orchestration.pipeline import run_pipeline

    os.environ.pop("DAGSTER_HOME", None)
    settings = operated_settings(tmp_path_factory.mktemp("national"))
    for code, (seed, citizens) in MUNICIPALITIES.items():
        made = make_delivery(citizens=citizens, seed=seed, file_format="parquet", costs=True,
                             municipality_code=code)  # fmt: skip
        shutil.copytree(made.path, settings.landing_dir / made.path.name)
    refresh = run_pipeline(settings, progress=None)
    assert not refresh.failed, refresh.failed
    return settings


def test_every_municipality_publishes_with_its_own_current_delivery(national):
    manifest = json.loads((current_version(national) / "manifest.json").read_text())
    current = {d["municipality_code"] for d in manifest["deliveries"] if d["is_current"]}
    assert current == set(MUNICIPALITIES)
    assert manifest["checks"]["passed"]
    audit = manifest["disclosure_audit"]
    assert audit["passed"] and audit["primary_counts_checked"] > 0
    assert audit["structural_counts"] >= 0  # reported, not blocking (docs/disclosure-control.md)


def test_the_audit_sets_apart_only_what_rows_and_zeros_pin_and_the_comparison_is_published(
    national,
):
    """The last run's audit report (the published version's): no count exposed, and a count
    set apart is pinned by which rows exist or by a published zero alone
    (docs/disclosure-control.md, "Structural ranges"); ind_case_mix, fitted around the unit
    tables, has published rows for the nation and each municipality."""
    reports = sorted(
        national.reports_dir.glob(f"*/{AUDIT_REPORT}"), key=lambda p: p.stat().st_mtime
    )
    report = json.loads(reports[-1].read_text())
    assert report["passed"] and not report["findings"]
    assert all(
        f["count"].startswith("n_citizens") or f["smallest"] == f["largest"] == 0
        for f in report["structural"]
    ), [f["text"] for f in report["structural"]]
    with duckdb.connect(
        str(current_version(national) / "indicators.duckdb"), read_only=True
    ) as con:
        mix = con.execute(
            "select municipality_code, count(*) filter (not is_suppressed and n_cases is not null) "
            "from ind_case_mix group by 1 order by 1"
        ).fetchall()
    assert [code for code, _ in mix] == ["000", *sorted(MUNICIPALITIES)]
    assert all(published > 0 for _, published in mix)


def test_the_quarter_reports_the_nation_and_compares_the_municipalities(national):
    from orchestration.pipeline import run_backfill

    quarter = Quarter.parse(QUARTER.label)
    [run] = run_backfill(national, quarter, quarter, progress=None)
    assert run.success, run.error
    folder = fact_sheet_dir(national, quarter)
    sheets = {p.name for p in folder.glob("*.html")} - {"index.html"}
    administrations = {s for s in sheets if s.startswith("administration")}
    # The nation's sheet, and one per administration (not one file that each overwrites).
    assert "national.html" in sheets and "administration.html" not in sheets
    assert len(administrations) == len(MUNICIPALITIES)
    # Every link of the barometer is a file of the folder: unit ids hold ':', which a relative
    # link would read as a URL scheme; titles name the municipality.
    links = dict(re.findall(r'<a href="([^"]+)">([^<]+)</a>', (folder / "index.html").read_text()))
    assert set(links) == sheets and not any(":" in s for s in sheets)
    assert links["national.html"] == "Hele landet"
    assert sorted(links[a].split(" · ")[0] for a in administrations) == ["Aarhus", "København"]
    pages = {p.name for p in comparison_dir(national, quarter).glob("*.html")}
    assert {f"kommune-{code}.html" for code in MUNICIPALITIES} <= pages
    assert {"index.html", "sammenligning-goals_achieved.html"} <= pages
    index = (comparison_dir(national, quarter) / "index.html").read_text(encoding="utf-8")
    for name in ("København", "Aarhus"):
        assert name in index

    # Others anonymous: one's own page only, and no other municipality's name anywhere. (Only
    # the comparison asset again, on the quarter's snapshot the backfill wrote.)
    own = dataclasses.replace(national, comparison_name_others=False, municipality_code="751")
    run = dg.materialize(
        [comparison_pages],
        partition_key=quarter.start.isoformat(),
        resources={"settings": SettingsResource(**own.config())},
    )
    assert run.success
    written = {
        p.name: p.read_text(encoding="utf-8") for p in comparison_dir(own, quarter).glob("*.html")
    }
    assert {n for n in written if n.startswith("kommune-")} == {"kommune-751.html"}
    everything = "".join(written.values())
    assert "Aarhus" in everything
    assert not re.search("København|kommune-101", everything)
