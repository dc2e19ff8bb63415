"""A version 1 delivery, without contract 1.1's cost files, loads, builds and publishes as before:
every table it publishes equals the one published from the same delivery with cost files, but for
the cost tables, which are there and empty; its fact sheets say there is no cost data."""

import json
import shutil

import duckdb

from orchestration.pipeline import run_pipeline
from orchestration.publish import current_version
from orchestration.reporting.factsheets import write_fact_sheets
from orchestration.reporting.text import TEXT
from tests.conftest import QUARTER, operated_settings

COST_TABLES = {
    "ind_costs",
    "ind_cost_effect",
    "ind_cost_forecast",
    "ind_budget",
    "fct_payments",
    "fct_budgets",
    "fct_cost_forecasts",
}


def test_a_version_1_delivery_publishes_as_before_with_empty_cost_tables(
    operated, make_delivery, tmp_path
):
    v1 = make_delivery(citizens=300, seed=11, file_format="parquet", defects=0.01)
    manifest = json.loads((v1.path / "manifest.json").read_text())
    assert manifest["contract_version"] == "1"
    assert not {"grants", "payments", "budgets"} & {f["entity"] for f in manifest["files"]}
    settings = operated_settings(tmp_path)
    shutil.copytree(v1.path, settings.landing_dir / v1.path.name)
    refresh = run_pipeline(settings, progress=None)
    assert not refresh.failed, refresh.failed
    version = current_version(settings)

    compared = set()
    for file in ("indicators.duckdb", "marts.duckdb"):
        con = duckdb.connect()
        con.execute(f"attach '{version / file}' as v1 (read_only)")
        con.execute(f"attach '{operated.first_version / file}' as v11 (read_only)")
        tables = con.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables "
            "where table_catalog in ('v1', 'v11')"
        ).fetchall()
        names = {c: {(s, t) for cat, s, t in tables if cat == c} for c in ("v1", "v11")}
        assert names["v1"] == names["v11"], file
        for schema, table in sorted(names["v1"]):
            one, other = f"v1.{schema}.{table}", f"v11.{schema}.{table}"
            if table in COST_TABLES:
                assert con.execute(f"select count(*) from {one}").fetchone() == (0,), table
                assert con.execute(f"select count(*) from {other}").fetchone()[0] > 0, table
                continue
            for a, b in ((one, other), (other, one)):
                (n,) = con.execute(
                    f"select count(*) from (select * from {a} except all select * from {b})"
                ).fetchone()
                assert n == 0, (a, b, n)
            compared.add(table)
        con.close()
    assert {"ind_goal_attainment", "ind_key_figures", "ind_data_quality", "fct_goals"} <= compared

    sheets = write_fact_sheets(version, QUARTER, tmp_path / "sheets")
    page = (tmp_path / "sheets" / sheets["sheets"][0]).read_text(encoding="utf-8")
    assert TEXT["da"]["no_cost_data"] in page
