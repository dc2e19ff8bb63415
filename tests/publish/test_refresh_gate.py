"""The refresh job end to end: an implausible delivery is stopped by the gate and nothing new is published."""

import datetime as dt
import hashlib
import json
import shutil

import dagster as dg
import duckdb
import pytest

from orchestration.generate import GeneratorConfig, generate_delivery
from orchestration.publish import current_version
from orchestration.settings import Settings
from tests.conftest import END, KEY, START
from tests.publish.test_publish import checksums

AREA = "children_families"


@pytest.fixture
def refresh(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path / "data")
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY", KEY.decode())
    monkeypatch.setenv("EFFEKT_DATA_DIR", str(settings.data_dir))
    for variable in ("EFFEKT_LANDING_DIR", "EFFEKT_RAW_DIR", "EFFEKT_WAREHOUSE"):
        monkeypatch.delenv(variable, raising=False)
    from orchestration.definitions import defs

    def run(extract_at: dt.date, cut_area: str | None = None):
        delivery = generate_delivery(
            GeneratorConfig(
                citizens=900,
                start=START,
                end=END,
                seed=5,
                out=tmp_path / "store",
                file_format="parquet",
                extract_at=extract_at,
                progress=False,
            )
        )
        folder = settings.landing_dir / delivery.path.name
        shutil.copytree(delivery.path, folder)
        if cut_area:
            _cut_goals_in_half(folder, cut_area)
        return defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )

    return settings, run


def _cut_goals_in_half(folder, area):
    """Half of the area's goals vanish from the extract, as after a botched export."""
    con = duckdb.connect()
    con.execute(f"""
        copy (select g.* from '{folder}/goals.parquet' g
              join '{folder}/interventions.parquet' i using (intervention_id)
              join '{folder}/org_units.parquet' u on u.org_unit_id = i.provider_org_unit_id
              where u.operating_area <> '{area}' or g.goal_id % 2 = 0)
        to '{folder}/goals.cut.parquet' (format parquet)""")
    (rows,) = con.execute(f"select count(*) from '{folder}/goals.cut.parquet'").fetchone()
    con.close()
    (folder / "goals.cut.parquet").replace(folder / "goals.parquet")
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["entity"] == "goals":
            entry["rows"] = rows
            entry["sha256"] = hashlib.sha256((folder / "goals.parquet").read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _gate(settings, result, name):
    return json.loads(
        (settings.data_dir / "reports" / result.run_id / f"gate-{name}.json").read_text()
    )


def test_an_implausible_delivery_is_stopped_and_the_published_version_stays(refresh):
    settings, run = refresh
    first = run(dt.date(2019, 3, 31))
    assert first.success
    published = current_version(settings)
    assert published is not None
    sums = checksums(published)

    cut = run(dt.date(2019, 6, 30), cut_area=AREA)
    gate = _gate(settings, cut, "delivery")
    assert not gate["passed"]
    failures = {(f["suite"], f["column"]): f for f in gate["failures"]}
    goals = failures["delivery_units", "goals_ratio / allowed_ratio"]
    assert goals["severity"] == "error" and goals["unexpected_count"] >= 2
    con = duckdb.connect(str(settings.raw_database), read_only=True)
    area_units = {u for (u,) in con.execute(
        f"select org_unit_id from raw.org_units where operating_area = '{AREA}'").fetchall()}  # fmt: skip
    con.close()
    assert {r["org_unit_id"] for r in goals["records"]} <= area_units
    assert not cut.asset_materializations_for_node("published__current")
    assert current_version(settings) == published and checksums(published) == sums
    report = (settings.data_dir / "reports" / cut.run_id / "areas" / f"{AREA}.csv").read_text()
    assert "goals_ratio" in report

    older = run(dt.date(2019, 5, 31))
    order = {(f["suite"], f["column"]) for f in _gate(settings, older, "delivery")["failures"]}
    assert ("delivery_order", "extract_time / newest_extract_time") in order
    assert current_version(settings) == published and checksums(published) == sums
