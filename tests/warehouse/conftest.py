"""The session warehouse fixture is in tests/conftest.py; here the suppression threshold and the
helpers of the incremental-build tests: ingest, build on the last build, compare with a full one."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb

from orchestration.ingest.load import ingest_delivery
from orchestration.settings import Settings
from orchestration.warehouse import BUILD_ARGS, plan_build, planned_build, run_dbt
from tests.conftest import KEY

MIN_CELL = 5  # var('min_cell_citizens')
SCHEMAS = ("staging", "intermediate", "marts", "indicators")
# Rows per citizen number: numbers are made per build (int_citizen_numbers), so compare the
# rows without them.
NUMBERED = {
    "int_intervention_cell_citizens",
    "int_goal_event_cell_citizens",
    "int_citizen_numbers",
    "int_payment_periods",
    "int_cost_unit_citizens",
    "int_intervention_period_spending",
    "int_cost_effect_unit_citizens",
}


def ingest_copy(settings: Settings, folder: Path) -> None:
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    ingest_delivery(settings, shutil.copytree(folder, settings.landing_dir / folder.name), KEY)


def build_on_last(settings: Settings) -> str:
    with planned_build(settings) as plan:
        run_dbt(settings, [*BUILD_ARGS, *plan.args])
    return plan.why


def touched_periods(settings: Settings) -> tuple[int, int]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "select count(*), count(*) filter (where is_touched) "
            "from intermediate.int_touched_periods"
        ).fetchone()


def differences(ours: Path, theirs: Path) -> dict[str, tuple[int, int]]:
    """Per table of the intermediate, mart and indicator schemas, rows only in ours and only in
    theirs (`except all` both ways)."""
    con = duckdb.connect()
    con.execute(f"attach '{ours}' as ours (read_only)")
    con.execute(f"attach '{theirs}' as theirs (read_only)")
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = "
        f"'ours' and table_schema in {SCHEMAS} and table_name <> 'int_touched_periods'"
    ).fetchall()
    out = {}
    for schema, table in tables:
        columns = "* exclude (citizen_number)" if table in NUMBERED else "*"
        a = f"select {columns} from ours.{schema}.{table}"
        b = f"select {columns} from theirs.{schema}.{table}"
        out[table] = con.execute(
            f"select (select count(*) from ({a} except all {b})), "
            f"(select count(*) from ({b} except all {a}))"
        ).fetchone()
    con.close()
    assert len(out) > 20
    return out


def rebuilt_alike(settings: Settings, root: Path) -> dict[str, tuple[int, int]]:
    """The tables of a copy of the data folder built with everything again."""
    copy = Settings(data_dir=root)
    shutil.copytree(settings.data_dir, copy.data_dir)
    plan = plan_build(copy, rebuild=True)
    assert plan.args == ["--full-refresh"]
    run_dbt(copy, [*BUILD_ARGS, *plan.args])
    return differences(settings.warehouse, copy.warehouse)
