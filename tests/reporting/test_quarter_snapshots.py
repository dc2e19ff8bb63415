"""Quarterly reporting: quarters, snapshots from the published copy, backfills."""

import dagster as dg
import duckdb
import pytest

from orchestration.publish import current_version
from orchestration.reporting import (
    INDICATOR_TABLES,
    NothingToReport,
    Quarter,
    fact_sheet_dir,
    snapshot_dir,
    write_quarter_snapshot,
)
from orchestration.settings import Settings


def test_quarters_parse_count_and_step_over_year_ends():
    q = Quarter.parse("2018q4")
    assert (q.label, q.start.isoformat(), q.end.isoformat()) == (
        "2018Q4",
        "2018-10-01",
        "2018-12-31",
    )
    assert q.next().label == "2019Q1" and q.previous().label == "2018Q3"
    assert [x.label for x in Quarter.parse("2016Q1").until(Quarter.parse("2019Q2"))][-1] == "2019Q2"
    assert len(Quarter.parse("2016Q1").until(Quarter.parse("2019Q2"))) == 14
    with pytest.raises(ValueError, match="2019-06"):
        Quarter.parse("2019-06")
    with pytest.raises(ValueError, match="before"):
        Quarter.parse("2019Q2").until(Quarter.parse("2019Q1"))


def test_a_backfill_over_four_quarters_materialises_four_partitions(operated):
    from orchestration.pipeline import run_backfill

    runs = run_backfill(
        operated.settings, Quarter.parse("2018Q3"), Quarter.parse("2019Q2"), progress=None
    )
    assert [(r.quarter, r.success) for r in runs] == [
        ("2018Q3", True), ("2018Q4", True), ("2019Q1", True), ("2019Q2", True)
    ]  # fmt: skip
    with operated.instance() as instance:
        partitions = instance.get_materialized_partitions(
            dg.AssetKey(["reporting", "quarter_indicators"])
        )
        backfills = {
            r.dagster_run.tags.get("dagster/backfill")
            for r in instance.get_run_records(dg.RunsFilter(run_ids=[r.run_id for r in runs]))
        }
    assert partitions >= {"2018-07-01", "2018-10-01", "2019-01-01", "2019-04-01"}
    # One fact-sheet set per quarter, each from that quarter's figures.
    for run in runs:
        sheets = fact_sheet_dir(operated.settings, Quarter.parse(run.quarter))
        assert (sheets / "index.html").exists() and (sheets / "administration.html").exists()
        assert f"Kvartal {run.quarter}" in (sheets / "administration.html").read_text()
    assert len(backfills) == 1 and None not in backfills


def test_a_snapshot_holds_exactly_the_published_rows_ending_with_its_quarter(operated):
    quarter = Quarter.parse("2018Q4")
    snapshot = write_quarter_snapshot(operated.settings, quarter)
    folder = snapshot_dir(operated.settings, quarter)
    published = current_version(operated.settings) / "indicators.duckdb"
    con = duckdb.connect()
    con.execute(f"attach '{published}' as pub (read_only)")
    for table in INDICATOR_TABLES:
        extra, missing = con.execute(f"""
            with snapshot_rows as (select * from '{folder / table}.parquet'),
                 published_rows as (
                     select * from pub.main.{table} where period_end = date '2018-12-31')
            select (select count(*) from (
                        select * from snapshot_rows except all select * from published_rows)),
                   (select count(*) from (
                        select * from published_rows except all select * from snapshot_rows))
        """).fetchone()  # fmt: skip
        assert (extra, missing) == (0, 0), table
    labels = {
        label for (label,) in con.execute(
            f"select distinct period_label from '{folder}/ind_goal_attainment.parquet'").fetchall()
    }  # fmt: skip
    assert labels == {"2018Q4", "2018Q1-2018Q4", "2018"}
    assert snapshot["row_counts"]["ind_goal_attainment"] > 0


def test_a_quarter_outside_the_published_periods_is_refused_with_the_reason(operated, tmp_path):
    with pytest.raises(NothingToReport, match=r"2031Q1.*periods end by"):
        write_quarter_snapshot(operated.settings, Quarter.parse("2031Q1"))
    assert not snapshot_dir(operated.settings, Quarter.parse("2031Q1")).exists()
    with pytest.raises(NothingToReport, match="nothing is published"):
        write_quarter_snapshot(Settings(data_dir=tmp_path), Quarter.parse("2019Q1"))
