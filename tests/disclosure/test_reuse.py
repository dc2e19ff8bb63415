"""Suppression on the last one's choices: a period whose cells did not change keeps them, and the
open tables are those a suppression from scratch writes (issue 17: a daily delivery touches a
few periods)."""

import dataclasses
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.disclosure import OPEN_TABLES, SUPPRESSION_STATE_SCHEMA, DisclosureRules
from orchestration.disclosure.suppression import suppress
from orchestration.warehouse import planned_build

RULES = DisclosureRules()


@pytest.fixture
def copy(warehouse, tmp_path):
    """A copy of the session's built warehouse, suppressed once (its state is stored)."""

    def make(name: str) -> duckdb.DuckDBPyConnection:
        path = tmp_path / f"{name}.duckdb"
        shutil.copy(warehouse.settings.warehouse, path)
        return duckdb.connect(str(path))

    return make


def open_rows(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {
        t: sorted(con.execute(f"select * from open.{t}").fetchall(), key=repr) for t in OPEN_TABLES
    }


def differences(a: duckdb.DuckDBPyConnection, b_path: str) -> dict[str, int]:
    """Rows of each open table in one and not the other, both ways (`except all`)."""
    a.execute(f"attach '{b_path}' as other (read_only)")
    try:
        return {
            t: a.execute(
                f"select (select count(*) from (select * from open.{t} except all "
                f"select * from other.open.{t})) + (select count(*) from (select * from "
                f"other.open.{t} except all select * from open.{t}))"
            ).fetchone()[0]
            for t in OPEN_TABLES
        }
    finally:
        a.execute("detach other")


def make_a_cell_primary(con: duckdb.DuckDBPyConnection) -> tuple[str, str]:
    """A new primary cell in one quarter, as a correction that leaves a unit with fewer
    citizens would make: the largest published provider cell of goal attainment with a
    sub-theme. Its counts stay, so every relation still holds."""
    label, unit, theme, sub = con.execute(
        """
        select period_label, org_unit_id, life_theme, sub_theme
        from indicators.ind_goal_attainment
        where period_type = 'quarter' and org_role = 'provider' and org_level = 3
            and sub_theme <> 'all' and suppression is null
        order by n_citizens desc, period_label, org_unit_id, life_theme, sub_theme limit 1
        """
    ).fetchone()
    con.execute(
        """
        update indicators.ind_goal_attainment set suppression = 'primary', is_suppressed = true
        where period_type = 'quarter' and period_label = ? and org_role = 'provider'
            and org_unit_id = ? and life_theme = ? and sub_theme = ?
        """,
        [label, unit, theme, sub],
    )
    return label, unit


def test_a_changed_period_is_solved_again_and_the_others_keep_their_choices(copy, tmp_path):
    reused = copy("reused")
    before = open_rows(reused)
    label, unit = make_a_cell_primary(reused)
    result = suppress(reused, RULES)
    assert result.solved_periods == 1 and result.kept_periods > 40
    # The changed quarter was solved: the new primary cell is withheld, with partners.
    cell = reused.execute(
        "select suppression from open.ind_goal_attainment where period_type = 'quarter' "
        "and period_label = ? and org_role = 'provider' and org_unit_id = ? and suppression "
        "is not null",
        [label, unit],
    ).fetchall()
    assert ("primary",) in cell
    assert open_rows(reused) != before

    scratch = copy("scratch")
    make_a_cell_primary(scratch)
    from_scratch = suppress(scratch, RULES, reuse=False)
    assert (from_scratch.solved_periods, from_scratch.kept_periods) == (result.kept_periods + 1, 0)
    scratch.close()
    assert differences(reused, str(tmp_path / "scratch.duckdb")) == dict.fromkeys(OPEN_TABLES, 0)
    assert result.summary()["tables"] == from_scratch.summary()["tables"]


def test_a_period_the_last_suppression_did_not_see_is_solved(copy):
    """A delivery that reaches a new quarter: the quarter (and its window) have no choices yet."""
    con = copy("new-period")
    before = open_rows(con)
    (last,) = con.execute(
        "select max(period_label) from indicators.ind_goal_attainment where period_type = 'quarter'"
    ).fetchone()
    for table in ("periods", "choices", "notes"):
        con.execute(
            f"delete from {SUPPRESSION_STATE_SCHEMA}.{table} where period_label = ?", [last]
        )
    assert suppress(con, RULES).solved_periods == 1
    assert open_rows(con) == before


def test_a_table_emptied_solves_its_periods_again(copy):
    """Its rows gone, the relations that tied its cells to others' are gone too."""
    con = copy("emptied")
    years = con.execute("select count(distinct budget_year) from indicators.ind_budget").fetchone()
    con.execute("delete from indicators.ind_budget")
    assert years[0] > 0 and suppress(con, RULES).solved_periods == years[0]


def test_the_same_cells_again_keep_every_period(copy):
    con = copy("again")
    before = open_rows(con)
    result = suppress(con, RULES)
    assert result.solved_periods == 0 and result.kept_periods > 0
    assert open_rows(con) == before


@pytest.mark.parametrize(
    "change",
    [
        "other rules",
        "a state written in part",
        "reuse not asked for",
    ],
)
def test_nothing_is_reused_unless_the_whole_state_of_the_same_rules_is_there(copy, change):
    con = copy("changed")
    rules, reuse = RULES, True
    if change == "other rules":
        rules = dataclasses.replace(RULES, protection_width=RULES.protection_width + 1)
    elif change == "a state written in part":
        con.execute(f"drop table {SUPPRESSION_STATE_SCHEMA}.notes")
    else:
        reuse = False
    result = suppress(con, rules, reuse=reuse)
    assert result.kept_periods == 0 and result.solved_periods > 0
    if change == "a state written in part":  # what was solved now is the state, whole
        assert suppress(con, rules).solved_periods == 0


def test_without_secondary_suppression_no_state_is_kept(copy):
    con = copy("primary-only")
    suppress(con, DisclosureRules(secondary=False))
    schemas = con.execute("select schema_name from information_schema.schemata").fetchall()
    assert (SUPPRESSION_STATE_SCHEMA,) not in schemas


def test_a_suppression_that_fails_leaves_the_state_and_open_tables_as_they_were(copy):
    """A build that stopped half way can leave an indicator table missing: suppression stops
    with the error, before it writes anything."""
    con = copy("failed")
    state = {
        t: con.execute(f"select * from {SUPPRESSION_STATE_SCHEMA}.{t} order by all").fetchall()
        for t in ("periods", "choices", "notes", "fingerprint")
    }
    before = open_rows(con)
    con.execute("drop table indicators.ind_budget")
    with pytest.raises(duckdb.CatalogException, match="ind_budget"):
        suppress(con, RULES)
    assert open_rows(con) == before
    for table, rows in state.items():
        stored = f"select * from {SUPPRESSION_STATE_SCHEMA}.{table} order by all"
        assert con.execute(stored).fetchall() == rows


def test_a_full_build_drops_the_state(warehouse, tmp_path):
    """`effekt run --rebuild`, new models or code lists: everything again, choices included."""
    data: Path = tmp_path / "data"
    shutil.copytree(warehouse.settings.data_dir, data)
    settings = type(warehouse.settings)(data_dir=data)

    def state_tables() -> int:
        with duckdb.connect(str(settings.warehouse), read_only=True) as con:
            return con.execute(
                "select count(*) from information_schema.tables where table_schema = ?",
                [SUPPRESSION_STATE_SCHEMA],
            ).fetchone()[0]

    assert state_tables() == 4
    with planned_build(settings, rebuild=True) as plan:
        assert plan.since_seq is None
        assert state_tables() == 0
