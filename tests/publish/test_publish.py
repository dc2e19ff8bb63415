"""Write-audit-publish: only a green gate publishes, atomically, and readers never see half a version."""

import dataclasses
import hashlib
import json
import os
import signal
import stat
import subprocess
import sys

import duckdb
import pytest

from orchestration.publish import PublishRefused, current_version, publish
from orchestration.quality.gate import run_gate
from orchestration.quality.suites import BUILD_SUITES, DELIVERY_SUITES
from orchestration.settings import Settings

PASSED = {"passed": True, "errors": 0, "warnings": 0, "failures": []}


def checksums(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }  # fmt: skip


def count(path, table="ind_goal_attainment"):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(f"select count(*) from {table}").fetchone()[0]
    finally:
        con.close()


def test_a_clean_build_passes_the_gate_and_publishes_a_version_with_its_manifest(
    own_warehouse, tmp_path
):
    gate = run_gate(own_warehouse, "run-1", tmp_path / "r", BUILD_SUITES + DELIVERY_SUITES)
    assert gate.passed
    version = publish(own_warehouse, "run-1", gate.summary())
    current = current_version(own_warehouse)
    assert current == version.path
    manifest = json.loads((current / "manifest.json").read_text())
    assert manifest["version"] == version.version and manifest["run_id"] == "run-1"
    assert manifest["checks"]["passed"] and manifest["checks"]["errors"] == 0
    assert [d["is_current"] for d in manifest["deliveries"]] == [True]
    wh = duckdb.connect(str(own_warehouse.warehouse), read_only=True)
    for table, n in manifest["row_counts"].items():
        assert wh.execute(f"select count(*) from {table}").fetchone()[0] == n, table
    wh.close()
    # The open file holds the indicators and labels; the marts go to the restricted file only.
    open_file = duckdb.connect(str(current / "indicators.duckdb"), read_only=True)
    tables = {
        t
        for (t,) in open_file.execute("select table_name from information_schema.tables").fetchall()
    }
    open_file.close()
    assert "ind_goal_attainment" in tables and "indicator_labels" in tables
    assert not any(t.startswith(("dim_", "fct_")) for t in tables)
    assert count(current / "marts.duckdb", "fct_goals") == manifest["row_counts"]["marts.fct_goals"]
    assert stat.S_IMODE(os.stat(current / "marts.duckdb").st_mode) == 0o600
    assert (current / "parquet" / "indicators" / "ind_key_figures.parquet").exists()
    assert (current / "parquet" / "marts" / "fct_goals.parquet").exists()


def test_a_failed_gate_publishes_nothing_and_the_previous_version_stays_as_it_was(
    own_warehouse, tmp_path
):
    publish(own_warehouse, "run-1", PASSED)
    before = current_version(own_warehouse)
    sums = checksums(before)
    wh = duckdb.connect(str(own_warehouse.warehouse))
    wh.execute(
        "update staging.stg_goal_followups set gas_score = 9 where followup_id = (select min(followup_id) from staging.stg_goal_followups)"
    )
    wh.close()
    gate = run_gate(own_warehouse, "run-2", tmp_path / "r", BUILD_SUITES)
    assert not gate.passed
    with pytest.raises(PublishRefused, match="run-2"):
        publish(own_warehouse, "run-2", gate.summary())
    assert current_version(own_warehouse) == before
    assert checksums(before) == sums
    assert len(list((own_warehouse.data_dir / "published" / "versions").iterdir())) == 1


KILLED_PUBLISH = """
import sys, time
from pathlib import Path
from orchestration.publish import publish
from orchestration.settings import Settings
settings = Settings(data_dir=Path(sys.argv[1]), raw_dir=Path(sys.argv[2]), warehouse=Path(sys.argv[3]))
def stall(table):
    print(table, flush=True)
    time.sleep(120)
publish(settings, "killed", {"passed": True, "errors": 0, "warnings": 0, "failures": []}, on_table=stall)
"""


def test_a_publish_killed_part_way_leaves_the_previous_version_published(own_warehouse):
    first = publish(own_warehouse, "run-1", PASSED)
    s = own_warehouse
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED_PUBLISH, str(s.data_dir), str(s.raw_dir), str(s.warehouse)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout.readline().strip()  # one table written, the next never will be
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    versions = s.data_dir / "published" / "versions"
    assert list(versions.glob(".incoming-*"))  # the half-written version is there ...
    assert current_version(s) == first.path  # ... but not published
    assert count(s.data_dir / "published" / "current" / "indicators.duckdb") > 0
    second = publish(s, "run-3", PASSED)
    assert current_version(s) == second.path != first.path
    assert not list(versions.glob(".incoming-*"))


def test_a_reader_of_the_previous_version_keeps_a_consistent_view(own_warehouse):
    publish(own_warehouse, "run-1", PASSED)
    path = own_warehouse.data_dir / "published" / "current" / "indicators.duckdb"
    reader = duckdb.connect(str(path), read_only=True)
    before = reader.execute("select count(*), sum(n_goals) from ind_goal_attainment").fetchone()
    wh = duckdb.connect(str(own_warehouse.warehouse))
    wh.execute("delete from open.ind_goal_attainment where period_type = 'quarter'")
    wh.close()
    publish(own_warehouse, "run-2", PASSED)
    assert (
        reader.execute("select count(*), sum(n_goals) from ind_goal_attainment").fetchone()
        == before
    )
    reader.close()
    assert count(path) < before[0]  # a new reader sees the new version


@pytest.mark.parametrize("keep", ["2", "3"])
def test_only_the_last_versions_are_kept(own_warehouse, monkeypatch, keep):
    """EFFEKT_PUBLISHED_KEEP says how many published versions stay."""
    monkeypatch.setenv("EFFEKT_PUBLISHED_KEEP", keep)
    settings = dataclasses.replace(own_warehouse, published_keep=Settings.from_env().published_keep)
    published = [publish(settings, f"run-{i}", PASSED) for i in range(4)]
    kept = sorted(p.name for p in (settings.data_dir / "published" / "versions").iterdir())
    assert kept == sorted(v.version for v in published[-int(keep) :])


@pytest.mark.parametrize("value", ["0", "-1", "five"])
def test_a_retention_setting_that_is_not_a_count_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv("EFFEKT_ARCHIVE_KEEP_DAYS", value)
    with pytest.raises(ValueError, match="EFFEKT_ARCHIVE_KEEP_DAYS"):
        Settings.from_env()


def test_every_published_table_and_column_carries_its_description(own_warehouse):
    """BI tools show a table's and a column's comment as its description: each is the dbt YAML's,
    and none is empty, in the open file (indicators and code lists) and the restricted one."""
    from orchestration.publish.descriptions import published_descriptions

    version = publish(own_warehouse, "run-1", PASSED).path
    described = published_descriptions()
    for file, schemas in (("indicators.duckdb", {"main": "indicators", "codes": "codes"}),
                          ("marts.duckdb", {"main": "marts"})):  # fmt: skip
        con = duckdb.connect(str(version / file), read_only=True)
        try:
            tables = con.execute(
                "select schema_name, table_name, comment from duckdb_tables() where not internal"
            )
            tables = tables.fetchall()
            columns = con.execute(
                "select schema_name, table_name, column_name, comment from duckdb_columns() "
                "where not internal"
            ).fetchall()
        finally:
            con.close()
        assert {t for s, t, _ in tables if s == "main"} >= (
            {"ind_goal_attainment", "ind_costs"} if file == "indicators.duckdb" else {"fct_goals"}
        )
        for schema, table, comment in tables:
            assert comment == described[(schemas[schema], table)].text != "", (file, table)
        for schema, table, column, comment in columns:
            expected = described[(schemas[schema], table)].columns.get(column)
            assert comment and comment == expected, f"{file}: {table}.{column} has no description"
