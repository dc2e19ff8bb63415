"""Secondary suppression over every open table at once, chosen by linear programming.

The cells dbt published (primary cells already withheld) are turned into *quantities* (one per
cell and count) and the linear relations between them (docs/disclosure-control.md, "What an
attacker can use"). For every count of a primary cell the smallest and largest value consistent
with the published quantities is computed with HiGHS; where that range is narrower than the
protection interval, the cheapest published cell (fewest citizens) in the relation that pins it
is withheld too, and the ranges are computed again, until every primary cell is protected. This
is the iterative protect-and-audit approach of tau-ARGUS's optimal method, with a greedy choice
of partner instead of a mixed-integer programme: cheaper, and the audit checks the result.

Everything but the solve runs in DuckDB, on the warehouse's indicator tables; the result is the
open copies in schema `open`, with `suppression = 'secondary'` where a cell was withheld.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import highspy
import numpy as np
import pandas as pd
from highspy._core import _Highs  # highspy.Highs prints a banner to stdout; pinned <1.17
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from orchestration.contract import CODELIST_DIR
from orchestration.disclosure import (
    OPEN_SCHEMA,
    OPEN_TABLES,
    PUBLIC_FIGURES,
    SUPPRESSION_STATE_SCHEMA,
    DisclosureRules,
)

THEMES_CODE_LIST = CODELIST_DIR / "assessment_themes.csv"

# Per table: the category columns (c1, c2) and the counts that take part in relations.
TABLE_SHAPES = {
    "ind_goal_attainment": ("life_theme", "sub_theme", ["n_citizens", "n_goals"]),
    "ind_goal_type_achievement": ("goal_type", None, ["n_citizens", "n_goals", "n_achieved"]),
    "ind_functional_ability": ("instrument_family", "theme", ["n_citizens"]),
    "ind_key_figures": ("figure", "breakdown", ["n_citizens", "value"]),
    "ind_data_quality": (
        None,
        None,
        ["n_citizens", "rows_loaded", "rows_quarantined", "goals_due_followup",
         "goals_without_due_followup"],
    ),
    # Costs (contract 1.1): amounts in DKK and days add up like counts.
    "ind_costs": ("breakdown_by", "breakdown", ["n_citizens", "spending_dkk", "intervention_days"]),
    "ind_budget": ("function", None, ["n_citizens", "spent_to_date_dkk", "expected_by_grants_dkk"]),
    "ind_cost_effect": ("breakdown_by", "breakdown", ["n_citizens", "spending_dkk"]),
    "ind_cost_forecast": (None, None, ["n_citizens", "forecast_by_grants_dkk"]),
    # Per municipality (its code the unit, '000' the nation) and indicator.
    "ind_case_mix": ("indicator", None, ["n_citizens", "n_cases", "observed"]),
}  # fmt: skip
# Parts of a row about fewer citizens than the row's own (its goals, its assessed citizens):
# each is a cell of its own in the relations, named `table:part`, with its own citizens (as
# `n_citizens`) and its own suppression column; the part's other columns go with it, and every
# part is withheld with its row. Per part: suppression column, {column: count}, other columns.
TABLE_PARTS = {
    "ind_cost_effect": {
        "goals": ("goals_suppression",
                  {"n_citizens_with_goals": "n_citizens", "n_goals": "n_goals",
                   "n_goals_achieved": "n_goals_achieved"},
                  ("avg_goal_attainment_pct", "spending_per_achieved_goal_dkk")),
        "ability": ("ability_suppression",
                    {"n_citizens_assessed": "n_citizens", "n_citizens_improved": "n_citizens_improved"},
                    ("pct_citizens_improved", "spending_per_improved_citizen_dkk")),
    },
}  # fmt: skip
# Counts of distinct citizens (they do not add up over units).
CITIZEN_COUNTS = "('n_citizens', 'n_citizens_improved')"
# The cost cells: spending and its parts, each by breakdown.
COST_CELLS = "('ind_costs', 'ind_cost_effect', 'ind_cost_effect:goals', 'ind_cost_effect:ability')"
COST_BREAKDOWNS = ("target_group", "intervention_type", "legal_basis", "function")
# Tables keyed by budget year instead of a period: the year is a period of a type of its own.
# Written with {t} where the source table's alias goes.
PERIOD_SQL = {"ind_budget": ("'budget_year'", "cast({t}budget_year as varchar)")}
PERIOD_COLUMNS = ("{t}period_type", "{t}period_label")
# Tables keyed by municipality instead of a unit: its code is the unit, below the nation's '000'
# (also with one municipality, whose row and the nation's are then equal). No role.
ORG_SQL = {
    "ind_case_mix": (
        "''",
        "case when {t}municipality_code = '000' then 0 else 1 end",
        "coalesce({t}municipality_code, '')",
        "case when {t}municipality_code = '000' then null else '000' end",
    )
}
ORG_COLUMNS = ("{t}org_role", "{t}org_level", "{t}org_unit_id", "{t}parent_org_unit_id")
# Key figures whose value counts things, each thing one citizen's.
COUNT_UNITS = "('cases', 'interventions', 'goals')"
# Counts of which each citizen of a cell has at least one.
PER_CITIZEN = "('n_citizens', 'n_goals', 'value', 'n_cases')"
# Tables whose cells exist only with a citizen in them (elsewhere a cell can count 0 citizens).
CITIZEN_CELLS = (
    "('ind_goal_attainment', 'ind_goal_type_achievement', 'ind_functional_ability', 'ind_costs',"
    " 'ind_cost_effect', 'ind_case_mix')"
)
# Tables chosen after the others, withholding only their own rows (see suppress).
COMPARISON_TABLES = ("ind_case_mix",)
CELL_KEY = "tbl, period_type, period_label, org_role, org_unit_id, c1, c2"
GREEDY_ROUNDS = 5
# Rounds go on while some count is exposed and a round can withhold something more; the cap only
# bounds a pathological case (the audit then stops the run). At 1,000,000 citizens the last
# exposed count took 72 rounds (35 s in all), so a cap of 60 stopped one short of protection.
MAX_ROUNDS = 1_000
PROPAGATION_PASSES = 20
SPREAD_ATTEMPTS = 4
# Each component is solved many times with one cost changed: the primal simplex goes on from
# the last basis, which presolve would throw away (half the time at the demo's size).
LP_OPTIONS = {"output_flag": False, "presolve": "off", "solver": "simplex", "simplex_strategy": 4,
              # Amounts are in øre (up to 10^12): with the default 1e-7, rounding alone makes a
              # true system infeasible.
              "primal_feasibility_tolerance": 1e-5}  # fmt: skip
SOLVED = (
    highspy.HighsModelStatus.kOptimal,
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)


@dataclass
class SuppressionResult:
    """What was withheld, per table, and how long it took."""

    cells: dict[str, int] = field(default_factory=dict)
    primary: dict[str, int] = field(default_factory=dict)
    secondary: dict[str, int] = field(default_factory=dict)
    rounds: int = 0
    unprotected: int = 0
    # Primary counts narrow from which rows exist and their labels alone: no cell withheld
    # widens them, so the rounds leave them be (docs/disclosure-control.md, "Structural ranges").
    structural: int = 0
    # Periods whose choices were those of the last suppression (its cells unchanged), and
    # periods solved now.
    kept_periods: int = 0
    solved_periods: int = 0
    seconds: float = 0.0

    def summary(self) -> dict:
        return {
            "tables": {
                t: {"cells": self.cells[t], "primary": self.primary[t], "secondary": self.secondary[t]}
                for t in self.cells
            },
            "rounds": self.rounds,
            "unprotected_after_rounds": self.unprotected,
            "structural": self.structural,
            "periods_kept": self.kept_periods,
            "periods_solved": self.solved_periods,
            "seconds": round(self.seconds, 2),
        }  # fmt: skip


def suppress(
    con: duckdb.DuckDBPyConnection,
    rules: DisclosureRules,
    source_schema: str = "indicators",
    target_schema: str = OPEN_SCHEMA,
    max_rounds: int = MAX_ROUNDS,
    log: Callable[[str], None] = lambda _message: None,
    reuse: bool = True,
) -> SuppressionResult:
    """Write `target_schema`.ind_* from `source_schema`.ind_* with secondary suppression.

    Every relation holds within one period (docs/disclosure-control.md), and what the rounds
    choose in a period depends on that period's cells alone. So with `reuse`, a period whose
    cells are exactly those the last suppression saw (STATE_SCHEMA, same rules and code) keeps
    that suppression's choices, and only the periods that changed are solved: a daily delivery
    touches a few of them. The choices are then those a suppression from scratch makes."""
    started = time.perf_counter()
    result = SuppressionResult()
    secondary: set[int] = set()
    fingerprint = _fingerprint(rules, max_rounds)
    state = reuse and rules.secondary and _state_fits(con, fingerprint)
    notes: dict[str, set[tuple]] = {"structural": set(), "zero_pinned": set(), "unprotected": set()}
    # First the unit tables, as if the comparison table were not published; then the
    # comparison table (ind_case_mix) around them, withholding only its own rows: publishing it
    # changes no cell of the others.
    unit_tables = [t for t in TABLE_SHAPES if t not in COMPARISON_TABLES]
    _load_quantities(con, source_schema, rules, unit_tables)
    if rules.secondary:
        kept = _kept_periods(con, "unit", unit_tables) if state else None
        _build_relations(con, _solved_quantities(con, kept))
        protected = _protect(con, rules, max_rounds, log, kept=kept)
        secondary, result.rounds = protected.secondary, protected.rounds
        _note(con, "unit", protected, kept, notes)
    chosen = pd.DataFrame({"cell_id": np.array(sorted(secondary), dtype=np.int64)})  # noqa: F841
    con.execute(
        f"create or replace temp table unit_secondary as select {CELL_KEY} from cells "
        "where cell_id in (select cell_id from chosen)"
    )
    _load_quantities(con, source_schema, rules, list(TABLE_SHAPES))
    if rules.secondary:
        # The second stage solves only what the comparison cells touch; its rows-alone ranges
        # cover the first's (more relations only narrow them).
        kept = _kept_periods(con, "final", list(TABLE_SHAPES)) if state else None
        _build_relations(con, _solved_quantities(con, kept))
        protected = _protect(con, rules, max_rounds, log, COMPARISON_TABLES, kept=kept)
        secondary = protected.secondary
        result.rounds += protected.rounds
        _note(con, "final", protected, kept, notes)
        result.kept_periods = kept.periods if kept is not None else 0
        result.solved_periods = _periods(con) - result.kept_periods
    result.structural = len(notes["structural"] | notes["zero_pinned"])
    result.unprotected = len(notes["unprotected"])
    con.execute("create or replace temp table secondary_cells (cell_id bigint)")
    if secondary:
        frame = pd.DataFrame({"cell_id": sorted(secondary)})  # noqa: F841 (read by DuckDB)
        con.execute("insert into secondary_cells select cell_id from frame")
    _withhold_periods_with_their_quarters(con)
    _withhold_parts_with_their_rows(con)
    _write_open_tables(con, source_schema, target_schema)
    _save_state(con, fingerprint if rules.secondary else None)
    for table in OPEN_TABLES:
        cells, primary, second = con.execute(
            f"select count(*), count(*) filter (suppression = 'primary'), "
            f"count(*) filter (suppression = 'secondary') from {target_schema}.{table}"
        ).fetchone()
        result.cells[table], result.primary[table], result.secondary[table] = cells, primary, second
    result.seconds = time.perf_counter() - started
    return result


# ------------------------------------------------------------------ reuse between runs
# What the last suppression was chosen from and what it chose, in the warehouse beside the
# indicators it read: periods (a digest of each table's quantities per period), choices (the
# secondary cells of each stage, by key) and notes (the counts each stage reported as
# structural, pinned by a zero or unprotected, by key).
STATE_SCHEMA = SUPPRESSION_STATE_SCHEMA
STATE_TABLES = ("periods", "choices", "notes", "fingerprint")
# A quantity as the choices depend on it (no numbers of this run).
QUANTITY_COLUMNS = (
    "tbl, period_type, period_label, org_role, org_level, org_unit_id, parent_org_unit_id, c1, "
    "c2, is_primary, counts_citizens_things, is_nonempty, is_part, measure, value, lower_bound, "
    "upper_bound, at_least_citizens"
)
# Per table and period: its quantities' number and the sum of their 64-bit hashes. Two
# different sets agree on both by chance about once in 2**64; the audit checks the result.
PERIOD_DIGESTS = f"""
    select tbl, period_label, count(*) as n, sum(hash({QUANTITY_COLUMNS}))::hugeint as digest
    from quantities group by tbl, period_label
    union all
    -- The units whose figures ind_case_mix's are (_case_mix_units) depend on every period's.
    select '*case_mix_units', '*', count(*), sum(hash(org_level, org_unit_id))::hugeint
    from (select distinct org_level, org_unit_id from cells
          where tbl <> 'ind_case_mix' and org_level <= 1)
"""


@dataclass
class _Kept:
    """The cells of the periods whose choices are reused, and those choices."""

    cells: np.ndarray  # cell ids
    chosen: np.ndarray  # cell ids of the reused secondary cells
    periods: int
    notes: list[tuple]  # (kind, *cell key, measure) the stage reported in those periods


def _fingerprint(rules: DisclosureRules, max_rounds: int) -> str:
    """What the choices depend on besides the cells: the rules, this code and the themes'
    code list (its judgements are left out of a relation)."""
    digest = hashlib.sha256()
    digest.update(repr((dataclasses.asdict(rules), max_rounds)).encode())
    digest.update(Path(__file__).read_bytes())
    digest.update(THEMES_CODE_LIST.read_bytes())
    return digest.hexdigest()


def _state_fits(con: duckdb.DuckDBPyConnection, fingerprint: str) -> bool:
    """Whether a whole state of the same rules and code is there (it is written at once)."""
    found = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? "
        "and table_name in (select unnest(?))",
        [STATE_SCHEMA, list(STATE_TABLES)],
    ).fetchone()[0]
    if found != len(STATE_TABLES):
        return False
    stored = con.execute(
        f"select any_value(fingerprint) from {STATE_SCHEMA}.fingerprint"
    ).fetchone()
    return stored[0] == fingerprint


def _kept_periods(con: duckdb.DuckDBPyConnection, stage: str, tables: list[str]) -> _Kept:
    """The periods (by label: a budget year shares its year's) whose quantities in the tables
    `tables` loaded now are those the last suppression saw: their cells, and the stage's stored
    choices and notes in them. No period when the units ind_case_mix's figures are of changed."""
    con.execute(f"create or replace temp table period_digests as {PERIOD_DIGESTS}")
    con.execute(
        f"""
        create or replace temp table kept_periods as
        with stored as (
            -- A table's parts are cells of their own ('ind_cost_effect:goals').
            select * from {STATE_SCHEMA}.periods
            where split_part(tbl, ':', 1) in (select unnest(?)) or tbl = '*case_mix_units'
        ),
        -- Each difference in parentheses: except and union bind left to right, so without
        -- them the second except took the new periods out again.
        changed as (
            select period_label from (select * from period_digests except select * from stored)
            union all
            select period_label from (select * from stored except select * from period_digests)
        )
        select distinct period_label from period_digests
        where period_label <> '*'
            and period_label not in (select period_label from changed)
            and '*' not in (select period_label from changed)
        """,
        [tables],
    )
    (cells,) = con.execute(
        "select list(cell_id) from cells where period_label in (select period_label from kept_periods)"
    ).fetchone()
    (chosen,) = con.execute(
        f"""
        select list(cells.cell_id) from cells
        inner join (select * from {STATE_SCHEMA}.choices where stage = ?) using ({CELL_KEY})
        where cells.period_label in (select period_label from kept_periods)
        """,
        [stage],
    ).fetchone()
    stored_notes = con.execute(
        f"""
        select kind, {CELL_KEY}, measure from {STATE_SCHEMA}.notes
        where stage = ? and period_label in (select period_label from kept_periods)
        """,
        [stage],
    ).fetchall()
    (periods,) = con.execute("select count(*) from kept_periods").fetchone()
    return _Kept(
        cells=np.asarray(cells or [], dtype=np.int64),
        chosen=np.asarray(chosen or [], dtype=np.int64),
        periods=int(periods),
        notes=stored_notes,
    )


def _solved_quantities(con: duckdb.DuckDBPyConnection, kept: _Kept | None) -> str:
    """The quantities of the periods to solve (every one without a state), as a table name:
    the relations are built over them alone."""
    if kept is None:
        return "quantities"
    con.execute(
        """
        create or replace temp table solved_quantities as
        select * from quantities where period_label not in (select period_label from kept_periods)
        """
    )
    return "solved_quantities"


def _periods(con: duckdb.DuckDBPyConnection) -> int:
    return con.execute("select count(distinct period_label) from cells").fetchone()[0]


def _note(
    con: duckdb.DuckDBPyConnection, stage: str, protected: _Protected, kept: _Kept | None,
    notes: dict,
) -> None:  # fmt: skip
    """A stage's choices and reported counts by key (those of the periods kept included), for
    the state (`stage_choices_*`, `stage_notes_*`) and the counts added up in `notes`."""
    rows = [] if kept is None else list(kept.notes)
    for kind, *key in rows:
        notes[kind].add(tuple(key))
    for kind, counts in (
        ("structural", protected.structural),
        ("zero_pinned", protected.zero_pinned),
        ("unprotected", protected.unprotected),
    ):
        for key in _count_keys(con, counts):
            notes[kind].add(key)
            rows.append((kind, *key))
    chosen = pd.DataFrame({"cell_id": sorted(protected.secondary)}, dtype=np.int64)  # noqa: F841
    con.execute(
        f"""
        create or replace temp table stage_choices_{stage} as
        select '{stage}' as stage, {CELL_KEY} from cells where cell_id in (select cell_id from chosen)
        """
    )
    con.execute(
        f"create or replace temp table stage_notes_{stage} as select '{stage}' as stage, "
        f"''::varchar as kind, {CELL_KEY}, ''::varchar as measure from cells limit 0"
    )
    if rows:
        con.executemany(
            f"insert into stage_notes_{stage} values ('{stage}', {', '.join(['?'] * len(rows[0]))})",
            rows,
        )
    if stage == "final":
        con.execute(f"create or replace temp table period_digests as {PERIOD_DIGESTS}")


def _save_state(con: duckdb.DuckDBPyConnection, fingerprint: str | None) -> None:
    """Replace the stored state with this suppression's, all at once; without secondary
    suppression there is nothing to reuse, and none is kept."""
    con.execute("begin")
    try:
        con.execute(f"drop schema if exists {STATE_SCHEMA} cascade")
        if fingerprint is not None:
            con.execute(f"create schema {STATE_SCHEMA}")
            con.execute(f"create table {STATE_SCHEMA}.periods as select * from period_digests")
            con.execute(
                f"create table {STATE_SCHEMA}.choices as select * from stage_choices_unit "
                "union all by name select * from stage_choices_final"
            )
            con.execute(
                f"create table {STATE_SCHEMA}.notes as select * from stage_notes_unit "
                "union all by name select * from stage_notes_final"
            )
            con.execute(
                f"create table {STATE_SCHEMA}.fingerprint as select ?::varchar as fingerprint",
                [fingerprint],
            )
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _load_quantities(
    con: duckdb.DuckDBPyConnection, schema: str, rules: DisclosureRules, tables: list[str]
) -> None:
    """cells: one row per published row; quantities: one per cell and count, with the bounds
    an attacker knows from the cell's label alone."""
    selects = []
    for tbl, table, counted, suppression in _cell_sources(tables):
        c1, c2, _measures = TABLE_SHAPES[table]
        # Amounts in whole øre: sums of øre are exact, sums of kroner in floating point not.
        # The table's own columns of those names go (else `unpivot` would read them instead).
        replaced = ", ".join(sorted(set(counted.values()) & _columns(con, schema, table)))
        values = ", ".join(
            f"cast(round({column} * 100) as double) as {name}"
            if name.endswith("_dkk")
            else f"cast({column} as double) as {name}"
            for column, name in counted.items()
        )
        counts = "unit in " + COUNT_UNITS if table == "ind_key_figures" else "true"
        # A part is about at least one citizen when it is withheld in a published row (its
        # label then says 1 to 4), a row when the table has a row only with a citizen in it.
        if tbl != table:
            nonempty = "suppression is null"
        else:
            nonempty = "true" if f"'{table}'" in CITIZEN_CELLS else "false"
        period_type, period_label = (c.format(t="") for c in PERIOD_SQL.get(table, PERIOD_COLUMNS))
        role, level, unit, parent = (c.format(t="") for c in ORG_SQL.get(table, ORG_COLUMNS))
        selects.append(
            f"""
            select '{tbl}' as tbl, {period_type} as period_type, {period_label} as period_label,
                {role} as org_role, {level} as org_level, {unit} as org_unit_id,
                {parent} as parent_org_unit_id, {c1 or "''"} as c1, {c2 or "''"} as c2,
                coalesce({suppression} = 'primary', false) as is_primary, {counts} as counts_citizens_things,
                {nonempty} as is_nonempty, {tbl != table} as is_part, measure, value
            from (select * {f"exclude ({replaced})" if replaced else ""}, {values}
                from {schema}.{table})
            unpivot include nulls (value for measure in ({", ".join(counted.values())}))
            """
        )
    con.execute("create or replace temp table long_cells as " + " union all by name ".join(selects))
    con.execute(
        """
        create or replace temp table cells as
        select dense_rank() over (
                order by tbl, period_type, period_label, org_role, org_unit_id, c1, c2) - 1 as cell_id,
            *
        from (select distinct tbl, period_type, period_label, org_role, org_level, org_unit_id,
                parent_org_unit_id, c1, c2, is_primary, counts_citizens_things, is_nonempty, is_part
            from long_cells)
        """
    )
    # Key figures that are not counts take part with their citizens only.
    con.execute(
        f"""
        create or replace temp table quantities as
        select row_number() over (order by cells.cell_id, long_cells.measure) - 1 as qid,
            cells.*, long_cells.measure, long_cells.value,
            -- A cell's citizens each have at least one goal (case, intervention) in it.
            case when long_cells.measure in {PER_CITIZEN} and cells.is_primary
                and cells.is_nonempty then 1 else 0 end as lower_bound,
            case when long_cells.measure in {CITIZEN_COUNTS} and cells.is_primary
                then {rules.threshold - 1} end as upper_bound,
            -- A part withheld with its row may be about no citizen: its label says nothing.
            long_cells.measure in {PER_CITIZEN} and not cells.is_part
                as at_least_citizens
        from long_cells
        inner join cells using (tbl, period_type, period_label, org_role, org_unit_id, c1, c2)
        where long_cells.measure <> 'value' or long_cells.counts_citizens_things
        """
    )


def _columns(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> set[str]:
    return {
        name
        for (name,) in con.execute(
            "select column_name from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        ).fetchall()
    }


def _cell_sources(tables: list[str]) -> list[tuple[str, str, dict[str, str], str]]:
    """Per kind of cell: its name in the relations, the table it is read from, its counts
    {column: name in the relations} and its suppression column."""
    sources = []
    for table, (_c1, _c2, measures) in TABLE_SHAPES.items():
        if table not in tables:
            continue
        sources.append((table, table, {m: m for m in measures}, "suppression"))
        for part, (suppression, counts, _columns) in TABLE_PARTS.get(table, {}).items():
            sources.append((f"{table}:{part}", table, counts, suppression))
    return sources


def _rid(name: str, qid: str) -> str:
    """SQL: a relation's name from its kind and a quantity's number, padded so that relations
    sort as their quantities do. A period's relations then keep their order when quantities
    of other periods come or go, and so do its choices (a reused period's are a full run's)."""
    return f"'{name}=' || lpad(cast({qid} as varchar), 12, '0')"


def _sums(name: str, total: str, part: str, join: str, summed: str, source: str) -> str:
    """Terms of `total - sum(parts) = 0` for the totals matching `total` and quantities
    matching `summed`: each thing counted is in exactly one part."""
    pairs = f"""
        from {source} as t
        inner join {source} as p
            on p.tbl = t.tbl and p.measure = t.measure and p.period_type = t.period_type
            and p.period_label = t.period_label and {join}
        where ({total}) and ({part}) and ({summed})
    """
    return f"""
        select distinct {_rid(name, "t.qid")} as rid, t.qid, -1.0 as coef {pairs}
        union all
        select {_rid(name, "t.qid")}, p.qid, 1.0 {pairs}
    """


def _build_relations(con: duckdb.DuckDBPyConnection, source: str = "quantities") -> None:
    """terms(rid, qid, coef): relation rid is sum(coef * quantity) = 0. Distinct citizens do
    not add up (a citizen can be in two units), so their counts take part only where they are
    equal: the administration in both roles, a family's themes for the authority, and the
    attainment table's all/all against the goal-type table's all."""
    additive = f"""(t.measure not in {CITIZEN_COUNTS}
        or (t.tbl = 'ind_functional_ability' and t.org_role = 'authority' and t.c2 <> 'all'))"""
    # A payment has one authority and one provider: the authority's citizens with spending add
    # up neither (a citizen can have two), but their target groups do (each citizen has one).
    same_role = "p.org_role = t.org_role"
    not_citizens = "t.measure <> 'n_citizens'"
    parts = [
        # Units add up to the unit above them.
        _sums(
            "org", "t.org_level < 3", "true",
            f"{same_role} and p.parent_org_unit_id = t.org_unit_id and p.c1 = t.c1 and p.c2 = t.c2",
            additive, source,
        ),
        # Sub-themes to their life theme, life themes to all.
        _sums(
            "subtheme", "t.tbl = 'ind_goal_attainment' and t.c1 <> 'all' and t.c2 = 'all'",
            "p.c2 <> 'all'", f"{same_role} and p.org_unit_id = t.org_unit_id and p.c1 = t.c1",
            not_citizens, source,
        ),
        _sums(
            "theme", "t.tbl = 'ind_goal_attainment' and t.c1 = 'all' and t.c2 = 'all'",
            "p.c1 <> 'all' and p.c2 = 'all'", f"{same_role} and p.org_unit_id = t.org_unit_id",
            not_citizens, source,
        ),
        # Goal types to all; legal bases to all interventions.
        _sums(
            "category",
            """(t.tbl = 'ind_goal_type_achievement' and t.c1 = 'all')
            or (t.tbl = 'ind_key_figures' and t.c1 = 'active_interventions' and t.c2 = 'all')""",
            """(p.tbl = 'ind_goal_type_achievement' and p.c1 <> 'all')
            or (p.tbl = 'ind_key_figures' and p.c1 = t.c1 and p.c2 <> 'all')""",
            f"{same_role} and p.org_unit_id = t.org_unit_id",
            not_citizens, source,
        ),
        # Spending, days and goals: each breakdown adds up to all; citizens only over target
        # groups (each citizen has one).
        *(
            _sums(
                f"cost_{by}", f"t.tbl in {COST_CELLS} and t.c1 = 'all'", f"p.c1 = '{by}'",
                f"{same_role} and p.org_unit_id = t.org_unit_id and p.tbl = t.tbl",
                f"t.measure not in {CITIZEN_COUNTS}", source,
            )
            for by in COST_BREAKDOWNS
        ),
        _sums(
            "cost_target_group", f"t.tbl in {COST_CELLS} and t.c1 = 'all'",
            "p.c1 = 'target_group'",
            f"{same_role} and p.org_unit_id = t.org_unit_id and p.tbl = t.tbl",
            f"t.measure in {CITIZEN_COUNTS}", source,
        ),
        # A unit's budget lines' functions add up to its 'all'.
        _sums(
            "budget_functions", "t.tbl = 'ind_budget' and t.c1 = 'all'", "p.c1 <> 'all'",
            f"{same_role} and p.org_unit_id = t.org_unit_id",
            not_citizens, source,
        ),
    ]  # fmt: skip
    _case_mix_units(con)
    con.execute(
        "create or replace temp table terms as "
        + " union all ".join(f"select * from ({p})" for p in parts)
        + f"""
        union all
        -- The administration (each municipality's, and the nation) counts the same goals,
        -- interventions and citizens in both roles.
        select 'role=' || tbl || measure || period_type || period_label || c1 || c2 || org_unit_id,
            qid, case when org_role = 'authority' then 1.0 else -1.0 end
        from {source}
        where org_level <= 1 and (
            tbl in ('ind_goal_attainment', 'ind_goal_type_achievement')
            or (tbl = 'ind_key_figures' and c1 not in ('active_cases', 'new_cases', 'closed_cases',
                                                       'cases_per_caseworker'))
            or (tbl = 'ind_data_quality' and measure in ('goals_due_followup',
                                                         'goals_without_due_followup')))
        union all
        -- The administration's spending (forecast) is every payment's (grant's), in either role.
        select 'cost_role=' || tbl || measure || period_type || period_label || c1 || c2
                || org_unit_id,
            qid, case when org_role = 'authority' then 1.0 else -1.0 end
        from {source}
        where org_level <= 1 and (tbl in {COST_CELLS} or tbl = 'ind_cost_forecast')
        union all
        -- Cost next to effect counts the citizens and spending of ind_costs' cells.
        select {_rid("cost_effect", "effect_qid")}, qid, coef from (
            select e.qid as effect_qid, unnest([e.qid, c.qid]) as qid, unnest([1.0, -1.0]) as coef
            from {source} as e
            inner join {source} as c
                on c.tbl = 'ind_costs' and c.period_type = e.period_type
                and c.period_label = e.period_label and c.org_role = e.org_role
                and c.org_unit_id = e.org_unit_id and c.c1 = e.c1 and c.c2 = e.c2
                and c.measure = e.measure
            where e.tbl = 'ind_cost_effect'
        )
        union all
        -- A budget line's spending and citizens are ind_costs' for its year and function.
        select {_rid("budget_costs", "budget_qid")}, qid, coef from (
            select b.qid as budget_qid, unnest([b.qid, c.qid]) as qid, unnest([1.0, -1.0]) as coef
            from {source} as b
            inner join {source} as c
                on c.tbl = 'ind_costs' and c.period_type = 'year' and c.period_label = b.period_label
                and c.org_role = b.org_role and c.org_unit_id = b.org_unit_id and c.c1 = 'function'
                and c.c2 = b.c1 and c.measure = replace(b.measure, 'spent_to_date_dkk', 'spending_dkk')
            where b.tbl = 'ind_budget' and b.c1 <> 'all'
                and b.measure in ('n_citizens', 'spent_to_date_dkk')
        )
        union all
        -- ind_case_mix's goals are the goal-type table's provider goals (their latest follow-up
        -- in the period) of the municipality's administration, or of the nation.
        select {_rid("case_mix_goals", "case_qid")}, qid, coef from (
            select m.qid as case_qid, unnest([m.qid, g.qid]) as qid, unnest([1.0, -1.0]) as coef
            from {source} as m
            inner join case_mix_units as units on units.code = m.org_unit_id
            inner join {source} as g
                on g.tbl = 'ind_goal_type_achievement' and g.c1 = 'all' and g.org_role = 'provider'
                and g.period_type = m.period_type and g.period_label = m.period_label
                and g.org_unit_id = units.org_unit_id
                and g.measure = case m.measure when 'n_cases' then 'n_goals'
                    when 'observed' then 'n_achieved' else m.measure end
            where m.tbl = 'ind_case_mix' and m.c1 = 'goals_achieved'
        )
        union all
        -- Its functional-ability cases are the authority's comparisons per theme (one per
        -- citizen and theme), judgements left out: as many as the themes' citizens.
        select {_rid("case_mix_ability", "case_qid")}, qid, coef from (
            with pairs as (
                select m.qid as case_qid, a.qid as theme_qid
                from {source} as m
                inner join case_mix_units as units on units.code = m.org_unit_id
                inner join {source} as a
                    on a.tbl = 'ind_functional_ability' and a.org_role = 'authority'
                    and a.c2 <> 'all' and a.measure = 'n_citizens'
                    and a.period_type = m.period_type and a.period_label = m.period_label
                    and a.org_unit_id = units.org_unit_id
                where m.tbl = 'ind_case_mix' and m.c1 = 'ability_improved'
                    and m.measure = 'n_cases'
                    and not exists (select 1 from judgements as j
                                    where j.family = a.c1 and j.theme = a.c2)
            )
            select case_qid, theme_qid as qid, 1.0 as coef from pairs
            union all
            select distinct case_qid, case_qid, -1.0 from pairs
        )
        union all
        -- The attainment table's all/all is the goal-type table's all.
        select 'tables=' || period_type || period_label || org_role || org_unit_id || measure, qid,
            case when tbl = 'ind_goal_attainment' then 1.0 else -1.0 end
        from {source}
        where measure in ('n_goals', 'n_citizens') and c1 = 'all'
            and ((tbl = 'ind_goal_attainment' and c2 = 'all') or tbl = 'ind_goal_type_achievement')
        """
    )


def _case_mix_units(con: duckdb.DuckDBPyConnection) -> None:
    """case_mix_units(code, org_unit_id): the unit whose figures an ind_case_mix row's are. A
    municipality's row is its administration's (level 1, ids '751:...'; '' when the delivery
    names no municipality), the nation's ('000') the national level's, or with one municipality
    its administration's. judgements(family, theme): themes that are judgements, which
    ind_case_mix leaves out (the contract's code list)."""
    con.execute(
        """
        create or replace temp table case_mix_units as
        with units as (
            select distinct org_level, org_unit_id from cells
            where tbl <> 'ind_case_mix' and org_level <= 1
        )
        select case when org_level = 0 then '000'
                when contains(org_unit_id, ':') then split_part(org_unit_id, ':', 1)
                else '' end as code,
            org_unit_id
        from units
        union all
        select '000', org_unit_id from units
        where (select count(*) from units) = 1 and org_level = 1
        """
    )
    judgements = [
        (row["instrument_family"], row["theme"])
        for row in csv.DictReader(THEMES_CODE_LIST.open(encoding="utf-8"))
        if row["kind"] == "judgement"
    ]
    con.execute("create or replace temp table judgements (family varchar, theme varchar)")
    if judgements:
        con.executemany("insert into judgements values (?, ?)", judgements)


@dataclass
class _System:
    """The relations as arrays: term k puts coef[k] * quantity qid[k] into relation rel[k]."""

    rel: np.ndarray
    qid: np.ndarray
    coef: np.ndarray
    n_rel: int
    value: np.ndarray  # per quantity, nan when suppressed
    lower: np.ndarray
    upper: np.ndarray
    cell: np.ndarray  # per quantity
    measure: np.ndarray
    at_least_citizens: np.ndarray  # per quantity: one citizen counts at least one
    is_primary_cell: np.ndarray  # per cell
    cost: np.ndarray  # per cell: citizens, then its largest count
    # Per cell: the administration's (level 1), which every leader reads first.
    headline: np.ndarray | None = None
    # Per cell: the same cell of the other cost table (ind_costs, ind_cost_effect), or -1.
    twin: np.ndarray | None = None
    # Per quantity, the width its range needs, by rules (_required_width): worked out once
    # from `measure`, which a system made from this one (_blind) shares.
    widths: dict = field(default_factory=dict)


def _system(con: duckdb.DuckDBPyConnection) -> _System:
    terms = con.execute(
        """
        select dense_rank() over (order by rid) - 1 as rel, qid, coef from terms order by rel, qid
        """
    ).fetchnumpy()
    q = con.execute(
        "select qid, cell_id, measure, value, lower_bound, upper_bound, at_least_citizens "
        "from quantities order by qid"
    ).fetchnumpy()
    cells = con.execute(
        """
        -- Fewest citizens first; totals (of units, themes, types, bases) only when no detail
        -- cell will do, since a leader reads them first.
        select cells.cell_id, cells.is_primary,
            (coalesce(max(case when measure = 'n_citizens' then value end), 0) * 1e6
                + coalesce(max(value), 0))
            * case when any_value(cells.org_level) < 3 or any_value(cells.c1) = 'all'
                or any_value(cells.c2) = 'all' then 100 else 1 end as cost,
            any_value(cells.org_level) <= 1 as headline
        from cells left join quantities using (cell_id)
        group by cells.cell_id, cells.is_primary order by cells.cell_id
        """
    ).fetchnumpy()
    pairs = con.execute(
        """
        select costs.cell_id, effect.cell_id
        from cells as costs
        inner join cells as effect
            on effect.tbl = 'ind_cost_effect' and not effect.is_part
            and effect.period_type = costs.period_type and effect.period_label = costs.period_label
            and effect.org_role = costs.org_role and effect.org_unit_id = costs.org_unit_id
            and effect.c1 = costs.c1 and effect.c2 = costs.c2
        where costs.tbl = 'ind_costs'
        """
    ).fetchall()
    twin = np.full(len(cells["cell_id"]), -1, dtype=np.int64)
    for costs, effect in pairs:
        twin[costs], twin[effect] = effect, costs
    n_rel = int(terms["rel"].max()) + 1 if len(terms["rel"]) else 0
    value = np.asarray(pd.array(q["value"], dtype="Float64").to_numpy(na_value=np.nan), float)
    upper = np.asarray(pd.array(q["upper_bound"], dtype="Float64").to_numpy(na_value=np.inf), float)
    return _System(
        rel=terms["rel"].astype(np.int64),
        qid=terms["qid"].astype(np.int64),
        coef=terms["coef"].astype(float),
        n_rel=n_rel,
        at_least_citizens=np.asarray(q["at_least_citizens"], dtype=bool),
        value=value,
        lower=q["lower_bound"].astype(float),
        upper=upper,
        cell=q["cell_id"].astype(np.int64),
        measure=np.asarray(q["measure"], dtype=object),
        is_primary_cell=np.asarray(cells["is_primary"], dtype=bool),
        cost=np.asarray(cells["cost"], dtype=float),
        headline=np.asarray(cells["headline"], dtype=bool),
        twin=twin,
    )


@dataclass
class _Protected:
    """What a stage chose: the secondary cells (those fixed before included), its rounds, and
    (cell, count) of the counts narrow from the rows alone, pinned by a published zero, or left
    exposed by the rounds."""

    secondary: set[int]
    rounds: int
    structural: list[tuple[int, str]]
    zero_pinned: list[tuple[int, str]]
    unprotected: list[tuple[int, str]]


def _protect(
    con: duckdb.DuckDBPyConnection, rules: DisclosureRules, max_rounds: int, log,
    only: tuple[str, ...] = (), kept: _Kept | None = None,
) -> _Protected:  # fmt: skip
    """Add secondary cells until every primary count's range is wide enough (but for those
    narrow from the rows' existence alone, or pinned by a published zero, which no cell
    withheld widens). With `only`, the cells `unit_secondary` names are withheld already, and
    partners are taken from the tables `only` alone: only the parts of the system their cells
    take part in are solved. With `kept`, the cells of periods whose choices are reused keep
    them and are neither solved nor taken."""
    system = _system(con)
    suppressed_cell = system.is_primary_cell.copy()
    secondary_cell = np.zeros_like(suppressed_cell)
    allowed = None
    dirty = np.ones(len(suppressed_cell), dtype=bool)  # cells whose ranges must be (re)computed
    solved = np.ones(len(suppressed_cell), dtype=bool)  # cells of the periods solved now
    if kept is not None:
        solved[kept.cells] = False
        suppressed_cell[kept.chosen] = secondary_cell[kept.chosen] = True
        allowed = solved.copy()
        dirty &= solved
    structural = _structural(system, rules, solved)
    if len(structural):
        log(f"disclosure: {len(structural)} primary counts narrow from which rows exist alone")
    if only:
        (fixed,) = con.execute(
            f"select list(cell_id) from cells inner join unit_secondary using ({CELL_KEY})"
        ).fetchone()
        fixed = np.asarray(fixed or [], dtype=np.int64)
        suppressed_cell[fixed] = secondary_cell[fixed] = True
        (own,) = con.execute(
            "select list(cell_id) from cells where tbl in (select unnest(?))", [list(only)]
        ).fetchone()
        own_cell = np.zeros(len(suppressed_cell), dtype=bool)
        own_cell[np.asarray(own or [], dtype=np.int64)] = True
        allowed = own_cell & solved
        # What the new cells change: the relations they are in, and every cell of those.
        touched = np.isin(system.rel, np.unique(system.rel[allowed[system.cell[system.qid]]]))
        dirty[:] = False
        dirty[system.cell[system.qid[touched]]] = True
    # First the cheap part: no relation may hold exactly one withheld cell.
    needed = rules.threshold + rules.protection_width
    order = _term_order(system, needed)
    while True:
        added = set(_singleton_partners(system, suppressed_cell, needed, allowed, order))
        added |= _twins(system, suppressed_cell, added)
        if not added:
            break
        suppressed_cell[list(added)] = secondary_cell[list(added)] = True
    # Withholding more only widens every range (a withheld cell's values stay possible), so a
    # count protected once stays protected: later rounds check only the ones exposed before.
    unsettled = np.ones(len(system.value), dtype=bool)
    unsettled[structural] = False
    exposed: list[int] = []
    round_number = 0
    for round_number in range(1, max_rounds + 1):
        exposed = _exposed(system, rules, suppressed_cell, secondary_cell, dirty, unsettled)
        unsettled[:] = False
        unsettled[exposed] = True
        stage = f" ({', '.join(only)})" if only else ""
        log(f"disclosure round{stage} {round_number}: {len(exposed)} primary counts exposed")
        if not exposed:
            break
        # A few greedy rounds, then two partners in every nearest relation: coarser, but a
        # handful of counts that single partners cannot protect do not take many rounds.
        added = _partners(
            system, suppressed_cell, exposed, needed, every=round_number > GREEDY_ROUNDS,
            allowed=allowed, order=order,
        )  # fmt: skip
        if not added:
            break
        added |= _twins(system, suppressed_cell, added)
        dirty[:] = False
        dirty[list(added)] = True
        dirty[system.cell[exposed]] = True
        suppressed_cell[list(added)] = True
        secondary_cell[list(added)] = True
    # What the rounds could not protect: a count a zero still published pins is reported apart
    # (the audit, which sees the final tables, decides; see _pinned_by_zeros).
    zeros = _pinned_by_zeros(system, rules, exposed, suppressed_cell) if exposed else []

    def counts(qs) -> list[tuple[int, str]]:
        return [(int(system.cell[q]), str(system.measure[q])) for q in qs]

    return _Protected(
        secondary=set(np.nonzero(secondary_cell)[0].tolist()),
        rounds=round_number,
        structural=counts(structural),
        zero_pinned=counts(zeros),
        unprotected=counts(sorted(set(exposed) - set(zeros))),
    )


def _count_keys(con: duckdb.DuckDBPyConnection, counts: list[tuple[int, str]]) -> set[tuple]:
    """(cell, count) as the cells' keys, which stay the same when the cells are numbered anew."""
    if not counts:
        return set()
    frame = pd.DataFrame(counts, columns=["cell_id", "measure"])  # noqa: F841 (read by DuckDB)
    return set(
        con.execute(
            f"select {CELL_KEY}, measure from frame inner join cells using (cell_id)"
        ).fetchall()
    )


def _structural(system: _System, rules: DisclosureRules, among: np.ndarray) -> np.ndarray:
    """Primary counts too narrow even with every cell withheld: what a reader knows from which
    rows exist and their labels alone (a primary cell has 1 to 4 citizens, a published one at
    least the threshold) pins them, e.g. an administration labelled primary with four units
    below it, each with at least one citizen. Withholding more cannot widen them, and trying
    withholds cells for nothing. Only citizens are bounded above by a label, so only their
    counts, and counts a relation ties to them (ind_case_mix's ability cases are its themes'
    citizens), can be pinned so: the others are not solved for; nor are the cells not `among`."""
    blind = _blind(system)
    everything = np.ones(len(system.cost), dtype=bool)
    citizens = np.isin(system.measure.astype(str), ["n_citizens", "n_citizens_improved"])
    with_citizens = np.isin(system.rel, np.unique(system.rel[citizens[system.qid]]))
    tied = citizens.copy()
    tied[system.qid[with_citizens]] = True
    targets = tied & system.is_primary_cell[system.cell] & among[system.cell]
    pinned = _exposed(blind, rules, everything, ~system.is_primary_cell, among, targets)
    return np.asarray(sorted(pinned), dtype=np.int64)


def _blind(system: _System) -> _System:
    """The system without the pairs whose other side is no row (one table's total without the
    other's): those hold against a published count in truth, not zero. Leaving them out of a
    range computed with every cell withheld only widens it."""
    sizes = np.bincount(system.rel, minlength=system.n_rel)
    kept = sizes[system.rel] > 1
    if not kept.any():
        return system
    _, rel = np.unique(system.rel[kept], return_inverse=True)
    return dataclasses.replace(
        system, rel=rel, qid=system.qid[kept], coef=system.coef[kept], n_rel=int(rel.max()) + 1
    )


def _pinned_by_zeros(
    system: _System, rules: DisclosureRules, among: list[int], suppressed_cell: np.ndarray
) -> list[int]:
    """Of the counts `among`, those the zeros published now pin with every other figure
    withheld: a zero total (no goals anywhere in a quarter before the goal data starts) pins
    every count that sums to it to 0, which tells no more about a cell's citizens than the
    zero tells about everyone's (docs/disclosure-control.md, "Structural ranges"). Interval
    propagation alone, whose bounds contain the exact range: a count it does not find pinned
    is reported unprotected, which only errs towards failing the audit."""
    blind = _blind(system)
    withheld = suppressed_cell[system.cell]
    # A zero of a cell withheld now is unknown; a count a secondary label bounds below by the
    # threshold is left open, which only widens.
    zero = (system.value == 0) & ~withheld & ~system.at_least_citizens
    lower = _label_lower(system, rules, ~system.is_primary_cell)
    lower[zero] = 0.0
    upper = np.where(zero, 0.0, system.upper)
    keep = np.ones(len(blind.qid), dtype=bool)
    low, high = _propagated_bounds(blind, keep, np.zeros(blind.n_rel), lower, upper)
    among = np.asarray(among, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        width = np.floor(high[among] + 1e-6) - np.ceil(low[among] - 1e-6)
    return [int(q) for q in among[width < _required_width(system, rules, among)]]


def _twins(system: _System, suppressed_cell: np.ndarray, added: set[int]) -> set[int]:
    """The published twins of cells withheld and about to be: a cost cell withheld beside its
    published twin hides nothing (the two are equal), and its year would go for nothing."""
    if system.twin is None:
        return set()
    twins = system.twin[np.flatnonzero(suppressed_cell)].tolist() + [system.twin[c] for c in added]
    return {int(t) for t in twins if t >= 0 and not suppressed_cell[t]} - added


def _cheapest_first(
    system: _System, terms: np.ndarray, needed: float, order: np.ndarray | None = None
) -> np.ndarray:
    """Published terms by relation, the administration's cells last (withheld, its year and
    windows go too), then the ones big enough to hide a small cell (a withheld partner is
    known to hold at least the threshold, so only what it holds above that hides anything),
    then fewest citizens. The order depends on values and costs alone: `order`, every term in
    it (_term_order), is worked out once per system, and the distinct `terms` are taken from it
    (sorting the candidates in every round took 15 of 122 s at tier L)."""
    if order is None:
        order = _term_order(system, needed)
    wanted = np.zeros(len(system.qid), dtype=bool)
    wanted[terms] = True
    return order[wanted[order]]


def _term_order(system: _System, needed: float) -> np.ndarray:
    """Every term in the order `_cheapest_first` takes them."""
    cells = system.cell[system.qid]
    too_small = np.nan_to_num(system.value[system.qid]) < needed
    headline = np.zeros(len(cells), bool) if system.headline is None else system.headline[cells]
    return np.lexsort((cells, system.cost[cells], too_small, headline, system.rel))


def _singleton_partners(
    system: _System, suppressed_cell: np.ndarray, needed: float,
    allowed: np.ndarray | None = None, order: np.ndarray | None = None,
) -> list[int]:  # fmt: skip
    """Cells to withhold until no relation has exactly one withheld term: in each relation
    with one, its cheapest published cell (a lone withheld cell is its total minus the rest);
    `allowed`: the cells that may be taken."""
    suppressed = suppressed_cell.copy()
    term_cell = system.cell[system.qid]
    added: list[int] = []
    while True:
        term_suppressed = suppressed[term_cell]
        withheld = np.bincount(system.rel, weights=term_suppressed, minlength=system.n_rel)
        lone = withheld == 1
        candidates = lone[system.rel] & ~term_suppressed
        if allowed is not None:
            candidates &= allowed[term_cell]
        candidates = np.nonzero(candidates)[0]
        if not len(candidates):
            return added
        candidates = _cheapest_first(system, candidates, needed, order)
        _, first = np.unique(system.rel[candidates], return_index=True)
        cells = np.unique(term_cell[candidates[first]])
        suppressed[cells] = True
        added.extend(int(c) for c in cells)


def _label_lower(system: _System, rules: DisclosureRules, not_small: np.ndarray) -> np.ndarray:
    """Per quantity, its lower bound when the cells `not_small` are known to be about at least
    the threshold's citizens (a secondary cell's label says it is not small): so are their
    citizens, and what each citizen has at least one of."""
    lower = system.lower.copy()
    lower[system.at_least_citizens & not_small[system.cell]] = rules.threshold
    return lower


def _exposed(
    system: _System, rules, suppressed_cell, secondary_cell, dirty, unsettled
) -> list[int]:
    """Primary counts (qids) whose feasible range is narrower than required, in the connected
    parts of the system that hold a dirty cell; counts not `unsettled` are known protected."""
    q_suppressed = suppressed_cell[system.cell]
    lower = _label_lower(system, rules, secondary_cell)
    term_suppressed = q_suppressed[system.qid]
    # Relations with a suppressed quantity, and the variables among them.
    live_rel = np.unique(system.rel[term_suppressed])
    n_q = len(system.value)
    variables = np.nonzero(q_suppressed)[0]
    if not len(variables):
        return []
    rel_live = np.zeros(system.n_rel, dtype=bool)
    rel_live[live_rel] = True
    keep = rel_live[system.rel] & term_suppressed
    # Components: quantities joined through shared relations.
    graph = coo_matrix(
        (np.ones(keep.sum()), (system.qid[keep], system.rel[keep] + n_q)),
        shape=(n_q + system.n_rel,) * 2,
    )
    _, labels = connected_components(graph, directed=False)
    # A count in no relation with a withheld term is bounded by its label alone: no LP needed
    # (most primary counts, such as the citizens of a provider's cell, are).
    in_relation = np.zeros(n_q, dtype=bool)
    in_relation[system.qid[keep]] = True
    alone = variables[~in_relation[variables] & dirty[system.cell[variables]]]
    alone = alone[system.is_primary_cell[system.cell[alone]] & unsettled[alone]]
    required = _required_width(system, rules, alone)
    with np.errstate(invalid="ignore"):
        width = np.floor(system.upper[alone] + 1e-6) - np.ceil(lower[alone] - 1e-6)
    exposed = [int(q) for q in alone[width < required]]
    variables = variables[in_relation[variables]]
    var_label = labels[variables]
    dirty_labels = np.unique(var_label[dirty[system.cell[variables]]])
    # Right-hand sides: the published terms moved over.
    published_part = np.where(
        term_suppressed, 0.0, system.coef * np.nan_to_num(system.value[system.qid])
    )
    rhs = -np.bincount(system.rel, weights=published_part, minlength=system.n_rel)
    # Bounds implied by the relations one at a time contain the LP's range: where even they
    # are too narrow, the count is exposed without solving for it.
    # Over the parts solved this round alone: a part's relations are all its own, so its
    # bounds are the same (propagating over the whole system each round took 24 of 122 s at L).
    in_dirty_part = np.zeros(labels.max() + 1, dtype=bool)
    in_dirty_part[dirty_labels] = True
    low, high = _propagated_bounds(
        system, keep & in_dirty_part[labels[system.qid]], rhs, lower, system.upper.copy()
    )
    with np.errstate(invalid="ignore"):
        narrow = np.floor(high + 1e-6) - np.ceil(low - 1e-6) < _required_width(
            system, rules, np.arange(n_q)
        )
    order = np.argsort(var_label, kind="stable")
    sorted_labels = var_label[order]
    starts = np.searchsorted(sorted_labels, dirty_labels, side="left")
    ends = np.searchsorted(sorted_labels, dirty_labels, side="right")
    term_order = np.argsort(labels[system.qid], kind="stable")
    term_labels = labels[system.qid][term_order]
    # Each part's terms, looked up at once (a search per part converted the whole array to the
    # key's type each time: 2.3 of the 23.5 s at tier M).
    term_starts = np.searchsorted(term_labels, dirty_labels, side="left")
    term_ends = np.searchsorted(term_labels, dirty_labels, side="right")
    for start, end, t0, t1 in zip(starts, ends, term_starts, term_ends, strict=True):
        members = variables[order[start:end]]
        targets = members[system.is_primary_cell[system.cell[members]] & unsettled[members]]
        if not len(targets):
            continue
        if narrow[targets].all():
            exposed.extend(int(q) for q in targets)
            continue
        k = term_order[t0:t1]
        k = k[keep[k]]
        exposed.extend(_component_exposures(system, rules, members, targets, k, rhs, lower, narrow))
    return exposed


def _propagated_bounds(
    system: _System, keep: np.ndarray, rhs: np.ndarray, low: np.ndarray, high: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per quantity, bounds implied by each relation alone from the others' bounds (interval
    propagation, a few passes): never tighter than the LP's range, and found without one."""
    q, rel, coef = system.qid[keep], system.rel[keep], system.coef[keep]
    low, high = low.astype(float), high.astype(float)
    for _pass in range(PROPAGATION_PASSES):
        # Each term's smallest and largest contribution, and per relation the finite sums and
        # the number of infinite ones.
        term_min = np.where(coef > 0, coef * low[q], coef * high[q])
        term_max = np.where(coef > 0, coef * high[q], coef * low[q])
        inf_min, inf_max = ~np.isfinite(term_min), ~np.isfinite(term_max)
        n = system.n_rel
        sum_min = np.bincount(rel, np.where(inf_min, 0.0, term_min), minlength=n)
        sum_max = np.bincount(rel, np.where(inf_max, 0.0, term_max), minlength=n)
        n_inf_min = np.bincount(rel, inf_min, minlength=n)
        n_inf_max = np.bincount(rel, inf_max, minlength=n)
        # The others' smallest and largest sum, then coef * x = rhs - others.
        with np.errstate(invalid="ignore"):
            others_min = np.where(
                n_inf_min[rel] - inf_min > 0, -np.inf, sum_min[rel] - np.where(inf_min, 0, term_min)
            )
            others_max = np.where(
                n_inf_max[rel] - inf_max > 0, np.inf, sum_max[rel] - np.where(inf_max, 0, term_max)
            )
            a = (rhs[rel] - others_max) / coef
            b = (rhs[rel] - others_min) / coef
        new_low = np.where(coef > 0, a, b)
        new_high = np.where(coef > 0, b, a)
        tighter_low = np.full(len(low), -np.inf)
        np.maximum.at(tighter_low, q, new_low)
        tighter_high = np.full(len(high), np.inf)
        np.minimum.at(tighter_high, q, new_high)
        before = (low.copy(), high.copy())
        np.maximum(low, tighter_low, out=low)
        np.minimum(high, tighter_high, out=high)
        if np.array_equal(low, before[0]) and np.array_equal(high, before[1]):
            break
    return low, high


def _component_exposures(system, rules, members, targets, k, rhs, lower, narrow) -> list[int]:
    column = {int(q): i for i, q in enumerate(members)}
    rels, row_index = np.unique(system.rel[k], return_inverse=True)
    highs = _Highs()
    for option, value in LP_OPTIONS.items():
        highs.setOptionValue(option, value)
    highs.addVars(len(members), lower[members], system.upper[members])
    matrix = coo_matrix(
        (system.coef[k], (row_index, [column[int(q)] for q in system.qid[k]])),
        shape=(len(rels), len(members)),
    ).tocsr()
    highs.addRows(
        len(rels), rhs[rels], rhs[rels], matrix.nnz,
        matrix.indptr[:-1].astype(np.int32), matrix.indices.astype(np.int32), matrix.data,
    )  # fmt: skip
    # Every solution is a possible truth: once the values seen for a count span the required
    # width, it is protected without solving for it (most counts are, after a few solves).
    seen_lo = np.full(len(members), np.inf)
    seen_hi = np.full(len(members), -np.inf)

    def spread(j: int) -> float:
        if not (math.isfinite(seen_lo[j]) and math.isfinite(seen_hi[j])):
            return -math.inf
        return math.floor(seen_hi[j] + 1e-6) - math.ceil(seen_lo[j] - 1e-6)

    bounds = (lower[members], system.upper[members])
    _spread_out(highs, system, rules, bounds, targets[~narrow[targets]], column, seen_lo, seen_hi)
    exposed = []
    for q, required in zip(targets, _required_width(system, rules, targets), strict=True):
        if narrow[q]:
            exposed.append(int(q))
            continue
        j = column[int(q)]
        if spread(j) >= required:
            continue
        hi = -_optimum(highs, j, -1.0, seen_lo, seen_hi)
        if math.isinf(hi) or spread(j) >= required:
            continue
        lo = _optimum(highs, j, 1.0, seen_lo, seen_hi)
        if math.floor(hi + 1e-6) - math.ceil(lo - 1e-6) < required:
            exposed.append(int(q))
    return exposed


def _spread_out(highs, system, rules, bounds, targets, column, seen_lo, seen_hi) -> None:
    """Solutions with every count still to settle as low, then as high, as they can be at the
    same time, again for those still narrow while that settles many: most counts span their
    width after a few. For the high one each count is capped at what it needs, so that the
    solve is bounded and each solution a possible truth."""
    if len(targets) < 2:
        return
    columns = np.array([column[int(q)] for q in targets], dtype=np.int32)
    required = _required_width(system, rules, targets)
    lower, upper = bounds[0][columns], bounds[1][columns]
    for _attempt in range(SPREAD_ATTEMPTS):
        for sense in (1.0, -1.0):
            if sense < 0:
                cap = np.where(np.isfinite(seen_lo[columns]), seen_lo[columns] + required, upper)
                highs.changeColsBounds(len(columns), columns, lower, np.minimum(upper, cap))
            highs.changeColsCost(len(columns), columns, np.full(len(columns), sense))
            highs.run()
            if highs.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                values = np.asarray(highs.getSolution().col_value)
                np.minimum(seen_lo, values, out=seen_lo)
                np.maximum(seen_hi, values, out=seen_hi)
            highs.changeColsCost(len(columns), columns, np.zeros(len(columns)))
        highs.changeColsBounds(len(columns), columns, lower, upper)
        with np.errstate(invalid="ignore"):
            width = np.floor(seen_hi[columns] + 1e-6) - np.ceil(seen_lo[columns] - 1e-6)
        still = ~(width >= required)
        settled = len(columns) - still.sum()
        columns, required = columns[still], required[still]
        lower, upper = lower[still], upper[still]
        if len(columns) < 2 or settled < len(still) / 4:
            return


def _optimum(
    highs: highspy.Highs, column: int, sense: float, seen_lo: np.ndarray, seen_hi: np.ndarray
) -> float:
    """min(sense * x[column]) over the component, -inf when unbounded; the solution's values
    widen what has been seen of every count."""
    highs.changeColCost(column, sense)
    highs.run()
    status = highs.getModelStatus()
    if status not in SOLVED:
        # Warm starts after an unbounded solve can leave the simplex without an answer.
        highs.clearSolver()
        highs.run()
        status = highs.getModelStatus()
    objective = highs.getInfo().objective_function_value
    if status == highspy.HighsModelStatus.kOptimal:
        values = np.asarray(highs.getSolution().col_value)
        np.minimum(seen_lo, values, out=seen_lo)
        np.maximum(seen_hi, values, out=seen_hi)
    highs.changeColCost(column, 0.0)
    if status in (
        highspy.HighsModelStatus.kUnbounded,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    ):
        return -math.inf
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"disclosure LP not solved: {highs.modelStatusToString(status)}")
    return objective


def _required_width(system: _System, rules: DisclosureRules, qs: np.ndarray) -> np.ndarray:
    """Counts need a range at least `protection_width` wide; a citizen count, whose label
    already says "fewer than threshold", a range at least `citizen_width` wide. Worked out
    once per system and rules: it is asked for every part in every round."""
    key = (rules.citizen_width, rules.amount_width, rules.protection_width)
    if key not in system.widths:
        measure = system.measure.astype(str)
        system.widths[key] = np.select(
            [np.char.startswith(measure, "n_citizens"), np.char.endswith(measure, "_dkk")],
            [rules.citizen_width, rules.amount_width * 100],  # amounts are in øre
            rules.protection_width,
        ).astype(float)
    return system.widths[key][qs]


def _partners(
    system: _System, suppressed_cell: np.ndarray, exposed: list[int], needed: float,
    every: bool = False, allowed: np.ndarray | None = None, order: np.ndarray | None = None,
) -> set[int]:  # fmt: skip
    """For each exposed count, a published cell to withhold: in the relations nearest to it
    (its own, else those of the withheld counts it shares one with, and so on), the one with
    the fewest withheld terms, and there the cheapest published cell (`every`: the two
    cheapest in each of those relations). `allowed`: the cells that may be taken."""
    term_cell = system.cell[system.qid]
    term_suppressed = suppressed_cell[term_cell]
    takeable = ~term_suppressed if allowed is None else ~term_suppressed & allowed[term_cell]
    withheld = np.bincount(system.rel, weights=term_suppressed, minlength=system.n_rel)
    published = np.bincount(system.rel, weights=takeable, minlength=system.n_rel)
    # Where each quantity's and each relation's terms start in the sorted orders: looked up
    # once here (a search per call, with a float key, converts the whole array each time: at
    # three municipalities of 800 citizens that was 250 s of 296).
    by_qid = np.argsort(system.qid, kind="stable")
    qid_start = np.searchsorted(system.qid[by_qid], np.arange(len(system.value) + 1))
    by_rel = np.argsort(system.rel, kind="stable")
    rel_start = np.searchsorted(system.rel[by_rel], np.arange(system.n_rel + 1))
    candidates = np.nonzero(takeable)[0]
    candidates = _cheapest_first(system, candidates, needed, order)
    candidate_start = np.searchsorted(system.rel[candidates], np.arange(system.n_rel + 1))

    def relations_of(q: int) -> list[int]:
        return system.rel[by_qid[qid_start[q] : qid_start[q + 1]]].tolist()

    def withheld_terms(rel: int) -> list[int]:
        k = by_rel[rel_start[rel] : rel_start[rel + 1]]
        return system.qid[k[term_suppressed[k]]].tolist()

    added: set[int] = set()
    for q in exposed:
        seen_q, seen_rel, frontier = {q}, set(), [q]
        for _hop in range(6):
            rels = sorted({r for f in frontier for r in relations_of(f)} - seen_rel)
            seen_rel.update(rels)
            open_rels = [r for r in rels if published[r] > 0]
            if open_rels:
                for rel in open_rels if every else [min(open_rels, key=lambda r: (withheld[r], r))]:
                    taken = 0
                    for cell in term_cell[
                        candidates[candidate_start[rel] : candidate_start[rel + 1]]
                    ]:
                        if int(cell) not in added:
                            added.add(int(cell))
                            taken += 1
                            if taken == (2 if every else 1):
                                break
                break
            frontier = [t for r in rels for t in withheld_terms(r) if t not in seen_q]
            seen_q.update(frontier)
            if not frontier:
                break
    return added


def _quarter_index(label: str) -> str:
    """SQL: the running number of the quarter labelled `label` ('2024Q3')."""
    return f"(cast(left({label}, 4) as integer) * 4 + cast(substr({label}, 6, 1) as integer) - 1)"


def _withhold_periods_with_their_quarters(con: duckdb.DuckDBPyConnection) -> None:
    """Spending and days of a year or rolling four quarters are the sums of its quarters'
    (int_payment_periods). A year or rolling cell with a withheld quarter is withheld, then
    what equals it: the same cell of the other cost table, a year's budget line for its
    function and a budget's 'all' for the year's spending on all functions (every function
    spent on has a line, so the lines add up to it). Then every way a withheld quarter
    could be other than it is (the relations of its quarter allow it) is a way its years,
    windows and budget lines could be too, so the periods tell nothing about it
    (docs/disclosure-control.md, "Periods")."""
    first, last = "split_part(span.period_label, '-', 1)", "split_part(span.period_label, '-', 2)"
    con.execute(
        f"""
        insert into secondary_cells
        select distinct span.cell_id
        from cells as span
        inner join cells as quarter
            on quarter.tbl = span.tbl and quarter.period_type = 'quarter'
            and quarter.org_role = span.org_role and quarter.org_unit_id = span.org_unit_id
            and quarter.c1 = span.c1 and quarter.c2 = span.c2
            and (
                (span.period_type = 'year' and left(quarter.period_label, 4) = span.period_label)
                or (span.period_type = 'rolling_4q'
                    and {_quarter_index("quarter.period_label")}
                        between {_quarter_index(first)} and {_quarter_index(last)})
            )
        where span.tbl in {COST_CELLS} and span.period_type in ('year', 'rolling_4q')
            and not span.is_part and not span.is_primary
            and span.cell_id not in (select cell_id from secondary_cells)
            and (quarter.is_primary or quarter.cell_id in (select cell_id from secondary_cells))
        """
    )
    con.execute(
        f"""
        insert into secondary_cells
        select distinct other.cell_id
        from cells as other
        inner join cells as this
            on this.tbl in {COST_CELLS} and not this.is_part and this.tbl <> other.tbl
            and this.period_type = other.period_type and this.period_label = other.period_label
            and this.org_role = other.org_role and this.org_unit_id = other.org_unit_id
            and this.c1 = other.c1 and this.c2 = other.c2
        where other.tbl in {COST_CELLS} and not other.is_part and not other.is_primary
            and other.cell_id not in (select cell_id from secondary_cells)
            and (this.is_primary or this.cell_id in (select cell_id from secondary_cells))
        """
    )
    for line, source in (
        ("line.c1 <> 'all'", """cells as year
            on year.tbl = 'ind_costs' and year.period_type = 'year'
            and year.period_label = line.period_label and year.org_role = line.org_role
            and year.org_unit_id = line.org_unit_id and year.c1 = 'function'
            and year.c2 = line.c1"""),
        ("line.c1 = 'all'", """cells as year
            on year.tbl = 'ind_costs' and year.period_type = 'year'
            and year.period_label = line.period_label and year.org_role = line.org_role
            and year.org_unit_id = line.org_unit_id and year.c1 = 'all'"""),
    ):  # fmt: skip
        con.execute(
            f"""
            insert into secondary_cells
            select distinct line.cell_id
            from cells as line
            inner join {source}
            where line.tbl = 'ind_budget' and {line} and not line.is_primary
                and line.cell_id not in (select cell_id from secondary_cells)
                and (year.is_primary or year.cell_id in (select cell_id from secondary_cells))
            """
        )


def _withhold_parts_with_their_rows(con: duckdb.DuckDBPyConnection) -> None:
    """A part of a withheld row is withheld too: its unit costs (spending per achieved goal)
    times its counts would give the row's spending. Withholding more only widens ranges."""
    con.execute(
        """
        insert into secondary_cells
        select part.cell_id
        from cells as part
        inner join cells as row_cell
            on row_cell.tbl = split_part(part.tbl, ':', 1) and row_cell.period_type = part.period_type
            and row_cell.period_label = part.period_label and row_cell.org_role = part.org_role
            and row_cell.org_unit_id = part.org_unit_id and row_cell.c1 = part.c1
            and row_cell.c2 = part.c2
        where part.is_part and not part.is_primary
            and row_cell.cell_id in (select cell_id from secondary_cells)
            and part.cell_id not in (select cell_id from secondary_cells)
        """
    )


def _write_open_tables(con: duckdb.DuckDBPyConnection, source: str, target: str) -> None:
    con.execute(f"create schema if not exists {target}")
    for table, (c1, c2, _measures) in TABLE_SHAPES.items():
        period_type, period_label = (
            c.format(t="t.") for c in PERIOD_SQL.get(table, PERIOD_COLUMNS)
        )
        role, _level, unit, _parent = (c.format(t="t.") for c in ORG_SQL.get(table, ORG_COLUMNS))
        columns = con.execute(
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ? order by ordinal_position",
            [source, table],
        ).fetchall()
        measures = {
            name for name, data_type in columns
            if data_type in ("BIGINT", "DOUBLE") and name != "org_level" and name not in PUBLIC_FIGURES
        }  # fmt: skip
        # Who holds each column: the row, or one of its parts (with its own marks).
        owner = {"suppression": "secondary"}
        joins = {"secondary": table}
        for part, (suppression, counts, others) in TABLE_PARTS.get(table, {}).items():
            alias = f"secondary_{part}"
            joins[alias] = f"{table}:{part}"
            owner |= {name: alias for name in (suppression, *counts, *others)}
        selected = []
        for name, _type in columns:
            alias = owner.get(name, "secondary")
            if name in measures:
                selected.append(f"case when {alias}.cell_id is null then t.{name} end as {name}")
            elif name == "is_suppressed":
                selected.append("t.is_suppressed or secondary.cell_id is not null as is_suppressed")
            elif name in owner:
                selected.append(
                    f"case when {alias}.cell_id is not null then 'secondary' else t.{name} end"
                    f" as {name}"
                )
            else:
                selected.append(f"t.{name}")
        joined = "".join(
            f"""
            left join (
                select cells.* from cells inner join secondary_cells using (cell_id)
                where cells.tbl = '{tbl}'
            ) as {alias}
                on {alias}.period_type = {period_type} and {alias}.period_label = {period_label}
                and {alias}.org_role = {role} and {alias}.org_unit_id = {unit}
                and {alias}.c1 = {f"t.{c1}" if c1 else "''"}
                and {alias}.c2 = {f"t.{c2}" if c2 else "''"}"""
            for alias, tbl in joins.items()
        )
        con.execute(
            f"""
            create or replace table {target}.{table} as
            select {", ".join(selected)}
            from {source}.{table} as t {joined}
            order by all
            """
        )
