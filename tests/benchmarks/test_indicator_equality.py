"""The before/after comparison of benchmarks/indicator_equality.py, on two small DuckDB files."""

import duckdb

from benchmarks.indicator_equality import compare, markdown


def _warehouse(path, rows, extra_table=False):
    con = duckdb.connect(str(path))
    con.execute("create schema indicators; create schema marts")
    con.execute("create table indicators.ind_x (unit varchar, n bigint)")
    con.executemany("insert into indicators.ind_x values (?, ?)", rows)
    con.execute("create table marts.fct_y as select 1 as id")
    if extra_table:
        con.execute("create table indicators.ind_new as select 1 as id")
    con.close()
    return path


def test_identical_tables_are_identical_and_a_changed_or_duplicated_row_is_not(tmp_path):
    before = _warehouse(tmp_path / "before.duckdb", [("A", 1), ("B", 2)])
    same = _warehouse(tmp_path / "same.duckdb", [("B", 2), ("A", 1)])
    assert all(t["identical"] for t in compare(before, same).values())

    changed = _warehouse(tmp_path / "changed.duckdb", [("A", 1), ("B", 3)], extra_table=True)
    tables = compare(before, changed)
    assert tables["indicators.ind_x"] == {
        "rows": 2,
        "only_before": 1,
        "only_after": 1,
        "identical": False,
    }
    assert tables["indicators.ind_new"] == {"identical": False, "why": "only after"}
    assert tables["marts.fct_y"]["identical"]

    # except all counts duplicates: one row twice is not the same as once
    doubled = _warehouse(tmp_path / "doubled.duckdb", [("A", 1), ("B", 2), ("B", 2)])
    assert compare(before, doubled)["indicators.ind_x"]["only_after"] == 1


def test_the_report_says_which_tables_differ(tmp_path):
    before = _warehouse(tmp_path / "before.duckdb", [("A", 1)])
    after = _warehouse(tmp_path / "after.duckdb", [("A", 2)])
    report = {"tier": "S", "before": "abc1234", "after": "def5678", "date": "2026-12-01",
              "citizens": 2000, "before_s": 1.0, "after_s": 1.0, "tables": compare(before, after)}  # fmt: skip
    report["identical"] = all(t["identical"] for t in report["tables"].values())
    text = markdown(report)
    assert "| `indicators.ind_x` | 1 | 1 | 1 | **no** |" in text
    assert "NOT identical" in text
