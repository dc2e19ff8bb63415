"""Hand-made open tables: a few cells whose relations can be checked by hand or by enumeration.

A cell is written as (table, role, unit, categories, counts, suppression); the tables get every
column the suppression step and the audit read, the other open tables stay empty.
"""

import duckdb
import pandas as pd
import pytest

from orchestration.disclosure import OPEN_TABLES

# The open tables' shapes as the documentation gives them (the audit reads the same).
from orchestration.disclosure.audit import CATEGORIES, COUNTS, PARTS

PERIOD = ("quarter", "2019Q1")
# Tables per municipality (its code) rather than unit.
BY_MUNICIPALITY = ("ind_case_mix",)
# The organisation: the administration, one area, three units per role.
UNITS = {
    "ORG-1": (1, None),
    "ORG-10": (2, "ORG-1"),
    "U1": (3, "ORG-10"), "U2": (3, "ORG-10"), "U3": (3, "ORG-10"),
    "P1": (3, "ORG-10"), "P2": (3, "ORG-10"), "P3": (3, "ORG-10"),
    # Three municipalities under the national level (contract 1.2), ids as the warehouse has them.
    "national": (0, None),
    "101:ORG-1": (1, "national"), "751:ORG-1": (1, "national"), "461:ORG-1": (1, "national"),
    "461:U1": (3, "461:ORG-1"), "461:U2": (3, "461:ORG-1"),
}  # fmt: skip


def part_columns(table: str) -> list[str]:
    """A table's columns of its parts (ind_cost_effect's goals and assessed citizens) and marks."""
    return [c for marks, renamed in PARTS.get(table, {}).values() for c in (*renamed, marks)]


def frames(cells: list[tuple], period: tuple[str, str] = PERIOD) -> dict[str, pd.DataFrame]:
    """The open tables from (table, role, unit, categories, counts, suppression[, part marks])
    rows; a withheld cell's counts are null, as published, and so are those of a part marked
    in `part marks` ({"goals_suppression": "primary"}) or withheld with its row."""
    rows: dict[str, list[dict]] = {t: [] for t in OPEN_TABLES}
    for table, role, unit, categories, counts, suppression, *marked in cells:
        if table in BY_MUNICIPALITY:  # `unit` is the municipality's code, '000' the nation
            row = {"period_type": period[0], "period_label": period[1], "municipality_code": unit}
        else:
            level, parent = UNITS[unit]
            row = {"period_type": period[0], "period_label": period[1], "org_role": role,
                   "org_level": level, "org_unit_id": unit, "parent_org_unit_id": parent}  # fmt: skip
        row |= dict(zip(CATEGORIES[table], categories, strict=True))
        row |= {c: (None if suppression else counts.get(c)) for c in COUNTS[table]}
        for marks, renamed in PARTS.get(table, {}).values():
            row[marks] = suppression or (marked[0] if marked else {}).get(marks)
            row |= {c: (None if row[marks] else counts.get(c)) for c in renamed}
        if table == "ind_key_figures":
            row["unit"] = "interventions"
        if table == "ind_budget":  # by budget year, not period
            row["budget_year"] = int(period[1][:4])
        row |= {"is_suppressed": suppression is not None, "suppression": suppression}
        rows[table].append(row)
    out = {}
    for table in OPEN_TABLES:
        org = (["municipality_code"] if table in BY_MUNICIPALITY else
               ["org_role", "org_level", "org_unit_id", "parent_org_unit_id"])  # fmt: skip
        columns = ["period_type", "period_label", *org, *CATEGORIES[table], *COUNTS[table], *part_columns(table),
                   *(["unit"] if table == "ind_key_figures" else []),
                   *(["budget_year"] if table == "ind_budget" else []),
                   "is_suppressed", "suppression"]  # fmt: skip
        frame = pd.DataFrame(rows[table], columns=columns)
        counted = [
            *COUNTS[table],
            *(c for _, renamed in PARTS.get(table, {}).values() for c in renamed),
        ]
        for c in counted:
            frame[c] = frame[c].astype("Float64" if c == "value" or c.endswith("_dkk") else "Int64")
        for c in ("period_type", "period_label", *(o for o in org if o != "org_level"),
                  "suppression", *CATEGORIES[table], *(["unit"] if table == "ind_key_figures" else []),
                  *(marks for marks, _ in PARTS.get(table, {}).values())):  # fmt: skip
            frame[c] = frame[c].astype("string")
        if "org_level" in frame:
            frame["org_level"] = frame["org_level"].astype("int32")
        frame["is_suppressed"] = frame["is_suppressed"].astype(bool)
        out[table] = frame
    return out


@pytest.fixture
def indicator_schema():
    """A DuckDB connection with `indicators`.ind_* made from hand-made cells, as dbt builds
    them (primary cells withheld): a list of cells of one quarter, or {period: cells}."""
    con = duckdb.connect()
    con.execute("create schema indicators")

    def load(cells: list[tuple] | dict[tuple[str, str], list[tuple]]) -> duckdb.DuckDBPyConnection:
        periods = cells if isinstance(cells, dict) else {PERIOD: cells}
        by_period = [frames(c, p) for p, c in periods.items()]
        for table in OPEN_TABLES:
            filled = [f[table] for f in by_period if len(f[table])] or [by_period[0][table]]
            frame = pd.concat(filled, ignore_index=True)
            con.register("frame", frame)
            con.execute(f"create or replace table indicators.{table} as select * from frame")
            con.unregister("frame")
        return con

    yield load
    con.close()
