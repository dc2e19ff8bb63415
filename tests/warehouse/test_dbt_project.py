"""The dbt project: its unit tests pass, everything is documented, contracts hold, SQL is portable."""

import json
import re
import shutil
import subprocess
import sys

import dagster as dg
import duckdb
import pytest

from orchestration.settings import Settings
from orchestration.warehouse import DBT_PROJECT_DIR, run_dbt
from tests.conftest import REPO


@pytest.fixture(scope="module")
def manifest(warehouse):
    run_dbt(warehouse.settings, ["docs", "generate"])
    target = warehouse.settings.data_dir / "dbt" / "target"
    assert (target / "catalog.json").exists() and (target / "index.html").exists()
    return json.loads((target / "manifest.json").read_text())


def test_dbt_unit_tests_on_hand_computed_fixtures_pass(warehouse):
    output = run_dbt(warehouse.settings, ["test", "--select", "test_type:unit"])
    passed = re.search(r"PASS=(\d+) WARN=\d+ ERROR=(\d+)", output)
    assert int(passed[1]) >= 13 and passed[2] == "0"


def test_a_code_list_that_gained_a_column_is_recreated_by_the_next_build(warehouse, tmp_path):
    """A release that adds a column to a code list (`assessment_themes.kind`) must not break the
    next daily run of a warehouse built before it: seeds are recreated, not appended to."""
    settings = Settings(data_dir=tmp_path / "data")
    settings.warehouse.parent.mkdir(parents=True)
    shutil.copy(warehouse.settings.warehouse, settings.warehouse)
    shutil.copytree(warehouse.settings.raw_dir, settings.raw_dir)  # attached read-only by dbt
    con = duckdb.connect(str(settings.warehouse))
    con.execute(
        "alter table codes.assessment_themes drop column kind"
    )  # as an older release left it
    con.close()
    run_dbt(settings, ["seed", "--select", "assessment_themes"])
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    kinds = con.execute(
        "select theme, kind from codes.assessment_themes where theme = 'overall'"
    ).fetchall()
    con.close()
    assert kinds == [("overall", "judgement")]


def test_every_model_seed_and_column_is_described(manifest):
    undocumented = []
    for node in manifest["nodes"].values():
        if node["resource_type"] not in ("model", "seed") or node["package_name"] != "effekt":
            continue
        if not node["description"].strip():
            undocumented.append(node["name"])
        columns = node["columns"]
        assert columns, f"{node['name']} lists no columns"
        undocumented += [
            f"{node['name']}.{c}" for c, spec in columns.items() if not spec["description"].strip()
        ]
    assert undocumented == []


def test_every_model_column_is_listed_in_its_yaml(warehouse, manifest):
    """The YAML names every column the built table has, so nothing is undocumented."""
    for node in manifest["nodes"].values():
        if node["resource_type"] != "model":
            continue
        built = set(warehouse.query(
            f"select column_name from information_schema.columns where table_schema = '{node['schema']}' "
            f"and table_name = '{node['name']}'")["column_name"])  # fmt: skip
        assert built == set(node["columns"]), node["name"]


def test_contracts_are_enforced_on_every_dim_fct_and_ind_model(manifest):
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["name"].startswith(("dim_", "fct_", "ind_")):
            assert node["config"]["contract"]["enforced"], node["name"]


def test_bi_consumers_and_fact_sheets_are_exposures(manifest):
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert {"bi_indicator_tables", "fact_sheets", "analysts_restricted_marts"} <= set(exposures)
    depends = set(exposures["bi_indicator_tables"]["depends_on"]["nodes"])
    assert {
        f"model.effekt.ind_{t}" for t in ("goal_attainment", "key_figures", "data_quality")
    } <= depends


ENGINE_SPECIFIC = [r"::", r"\bexclude\s*\(", r"try_strptime", r"json_extract", r"\bqualify\b", r"\blist\(",
                   r"strftime", r"date_diff\(", r"\bilike\b"]  # fmt: skip


def test_models_use_portable_sql(tmp_path):
    """Engine-specific functions live only in dispatched macros (macros/portable.sql)."""
    offenders = []
    for path in (DBT_PROJECT_DIR / "models").rglob("*.sql"):
        text = re.sub(r"--.*", "", path.read_text())
        offenders += [f"{path.name}: {p}" for p in ENGINE_SPECIFIC if re.search(p, text, re.I)]
    assert offenders == []


def test_dbt_models_are_dagster_assets_downstream_of_the_ingest():
    from orchestration.definitions import defs

    graph = defs.resolve_asset_graph()
    staged = graph.get(dg.AssetKey(["staging", "stg_citizens"]))
    assert dg.AssetKey(["raw", "citizens"]) in staged.parent_keys
    assert graph.get(dg.AssetKey(["indicators", "ind_goal_attainment"])).group_name == "warehouse"
    checks = {
        c.name
        for c in graph.asset_check_keys
        if c.asset_key == dg.AssetKey(["indicators", "ind_goal_attainment"])
    }
    assert any(name.startswith("suppressed_cells_are_empty") for name in checks)
    # Secondary suppression and its audit come after every indicator, before publishing.
    opened = graph.get(dg.AssetKey(["open", "indicators"]))
    assert dg.AssetKey(["indicators", "ind_goal_attainment"]) in opened.parent_keys
    assert (
        dg.AssetKey(["open", "indicators"])
        in graph.get(dg.AssetKey(["published", "current"])).parent_keys
    )
    audit = dg.AssetCheckKey(dg.AssetKey(["open", "indicators"]), "disclosure_audit")
    assert audit in graph.asset_check_keys
    assert defs.resolve_job_def("daily_refresh") is not None


def test_processes_loading_the_code_location_at_once_never_read_half_a_manifest(tmp_path):
    """The UI's code server, `effekt run` and test workers load the definitions at the same
    time; a missing or stale manifest is parsed by one of them while the others wait, and moved
    in whole: exactly one parse, and every process reads the same complete manifest."""
    manifest = tmp_path / "target" / "manifest.json"
    load = (
        "import logging, sys; from pathlib import Path\n"
        "logging.basicConfig(level=logging.INFO, stream=sys.stderr)\n"
        "from orchestration.warehouse.assets import ensure_manifest\n"
        "import json\n"
        f"path = ensure_manifest(Path({str(manifest)!r}))\n"
        "print(json.loads(path.read_text())['metadata']['invocation_id'])\n"
    )
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", load],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=300) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0], [err[-2000:] for _, err in results]
    assert sum(err.count("parsing it") for _, err in results) == 1
    assert len({out for out, _ in results}) == 1  # one manifest, read whole by all three
    assert json.loads(manifest.read_text())["nodes"]
    assert (manifest.parent / "partial_parse.msgpack").exists()
    assert not list(manifest.parent.glob(".parse-*"))  # no scratch folder left behind
    # Current now: read, not parsed, and no lock taken (a read-only checkout loads too).
    (manifest.parent / ".parse.lock").unlink(missing_ok=True)
    again = subprocess.run([sys.executable, "-c", load], cwd=REPO, capture_output=True,
                           text=True, timeout=300)  # fmt: skip
    assert again.returncode == 0 and "parsing it" not in again.stderr
    assert again.stdout == results[0][0]
    assert not (manifest.parent / ".parse.lock").exists()
