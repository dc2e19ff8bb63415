"""The same dbt project on Apache Spark (issue 22): dbt-spark's session method on a local Spark,
started by the Dagster warehouse asset as it is, with only the engine setting changed. At tier S
(2,000 citizens, the session's `warehouse` fixture) every indicator table Spark builds equals
DuckDB's row for row, `except all` both ways (and so does every mart).

One Spark build for the module (about two minutes on two cores); the rest reads its tables."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtCliResource

from orchestration.resources import SettingsResource
from orchestration.settings import Settings
from orchestration.warehouse import DBT_PROJECT_DIR, dbt_executable, plan_build
from orchestration.warehouse.assets import dbt_project
from orchestration.warehouse.assets import warehouse as warehouse_asset
from orchestration.warehouse.spark import raw_source_tables, spark_table_files

pytestmark = pytest.mark.slow
INDICATORS = sorted(p.stem for p in (DBT_PROJECT_DIR / "models" / "indicators").glob("ind_*.sql"))


@dataclass
class SparkBuild:
    settings: Settings
    duckdb_settings: Settings
    seconds: float
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="module")
def spark_build(warehouse, tmp_path_factory) -> SparkBuild:
    """The DuckDB warehouse's raw layer, copied, built on Spark by Dagster's warehouse asset."""
    if shutil.which("java") is None:
        if os.environ.get("CI"):
            pytest.fail("Java is missing: make test installs openjdk-17-jre-headless as root")
        pytest.skip("install Java (Debian: openjdk-17-jre-headless) to run the Spark tests")
    duck = warehouse.settings
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("spark") / "data", warehouse_engine="spark"
    )
    shutil.copytree(duck.raw_dir, settings.raw_dir)
    started = time.perf_counter()
    result = dg.materialize(
        [warehouse_asset],
        resources={
            "settings": SettingsResource(**settings.config()),
            "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        },
        raise_on_error=False,
    )
    return SparkBuild(settings, duck, time.perf_counter() - started, result)


def test_the_dagster_warehouse_asset_builds_on_spark_with_every_dbt_test_passing(spark_build):
    result = spark_build.result
    assert result.success, [e.message for e in result.all_events if e.is_failure][:3]
    checks = result.get_asset_check_evaluations()
    assert len(checks) > 50 and all(c.passed for c in checks), [
        c.check_name for c in checks if not c.passed
    ]
    print(f"Spark build at tier S by the Dagster asset: {spark_build.seconds:.0f} s")
    # Nothing written into a DuckDB warehouse: the Spark build has tables of its own.
    assert not spark_build.settings.warehouse.exists()
    assert spark_table_files(spark_build.settings, "indicators", "ind_goal_attainment")


def differences(build: SparkBuild, schema: str, tables: list[str]) -> dict[str, tuple]:
    """Per table: (rows, rows only in DuckDB's, rows only in Spark's), every column in DuckDB's
    order compared as built: `except all` both ways."""
    con = duckdb.connect()
    con.execute(f"attach '{build.duckdb_settings.warehouse}' as duck (read_only)")
    out = {}
    for table in tables:
        columns = con.execute(
            "select column_name from information_schema.columns where table_catalog = 'duck' "
            "and table_schema = ? and table_name = ? order by ordinal_position",
            [schema, table],
        ).fetchall()
        names = ", ".join(f'"{c}"' for (c,) in columns)
        files = spark_table_files(build.settings, schema, table)
        con.execute(f"create or replace view spark_{table} as select * from read_parquet({files})")
        spark_columns = {r[0] for r in con.execute(f"describe spark_{table}").fetchall()}
        assert spark_columns == {c for (c,) in columns}, table
        ours = f"select {names} from duck.{schema}.{table}"
        theirs = f"select {names} from spark_{table}"
        out[table] = con.execute(
            f"select (select count(*) from ({ours})), (select count(*) from ({ours} except all "
            f"{theirs})), (select count(*) from ({theirs} except all {ours}))"
        ).fetchone()
    con.close()
    return out


def test_every_indicator_table_equals_duckdbs_row_for_row(spark_build):
    """The published values: every column, rounded as the models round them, no tolerance."""
    compared = differences(spark_build, "indicators", INDICATORS)
    assert len(compared) >= 9
    assert all(rows > 100 for rows, _, _ in compared.values()), compared  # tier S fills them
    assert {t: d for t, (_, *d) in compared.items() if any(d)} == {}


def test_every_mart_equals_duckdbs_row_for_row(spark_build):
    marts = sorted(p.stem for p in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql"))
    compared = differences(spark_build, "marts", marts)
    assert all(rows > 0 for rows, _, _ in compared.values()), compared
    assert {t: d for t, (_, *d) in compared.items() if any(d)} == {}


def test_spark_reads_the_raw_layer_as_parquet_in_the_restricted_folder(spark_build):
    settings = spark_build.settings
    exported = settings.spark_sources_dir
    assert exported.is_relative_to(settings.raw_dir)  # CPR numbers stay in the raw folder
    assert sorted(p.name for p in exported.iterdir() if p.is_dir()) == sorted(raw_source_tables())
    assert oct(exported.stat().st_mode & 0o777) == oct(0o700)
    # The Spark warehouse is pseudonymised like DuckDB's: no CPR column anywhere in it.
    con = duckdb.connect()
    for schema in ("staging", "intermediate", "marts", "indicators"):
        for folder in (settings.spark_dir / "tables" / f"{schema}.db").iterdir():
            names = {
                r[0] for r in con.execute(f"describe select * from '{folder}/*.parquet'").fetchall()
            }
            assert "cpr" not in names, folder.name


def test_the_engine_setting_picks_the_build_and_refuses_an_unknown_engine():
    assert Settings.from_env({"EFFEKT_WAREHOUSE_ENGINE": "spark"}).on_spark
    assert not Settings.from_env({}).on_spark
    with pytest.raises(ValueError, match="EFFEKT_WAREHOUSE_ENGINE='oracle'"):
        Settings.from_env({"EFFEKT_WAREHOUSE_ENGINE": "oracle"})
    # On Spark every build computes everything and nothing is read from a DuckDB file.
    plan = plan_build(Settings(data_dir=Path("/nonexistent"), warehouse_engine="spark"))
    assert plan.args == ["--full-refresh"] and plan.since_seq is None
