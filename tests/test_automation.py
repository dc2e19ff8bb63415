"""The code location as the daemon and the UI see it: jobs, schedules, runs and their metadata."""

import datetime as dt
import json

import dagster as dg

from orchestration.automation import quarterly_schedule
from orchestration.definitions import defs
from orchestration.publish import current_version

GROUPS = {"ingest", "quality", "warehouse", "publish", "reporting"}


def test_the_definitions_group_every_asset_and_schedule_in_copenhagen_time():
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert groups == GROUPS
    assert graph.get(dg.AssetKey(["indicators", "ind_data_quality"])).group_name == "quality"
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"daily_refresh", "quarterly_reporting"}
    daily = defs.resolve_schedule_def("daily_refresh_schedule")
    quarterly = defs.resolve_schedule_def("quarterly_reporting_schedule")
    assert daily.execution_timezone == quarterly.execution_timezone == "Europe/Copenhagen"
    assert daily.job_name == "daily_refresh" and quarterly.job_name == "quarterly_reporting"
    assert {s.name for s in defs.get_repository_def().sensor_defs} == {
        "landing_sensor",
        "alert_on_run_failure",
    }
    # Every step that touches the DuckDB files sits in the one writer pool.
    job = defs.resolve_job_def("daily_refresh")
    pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
    assert set(pools.values()) == {"duckdb_writer"}, pools


def test_the_quarterly_schedule_reports_the_quarter_just_ended():
    context = dg.build_schedule_context(
        scheduled_execution_time=dt.datetime(2020, 1, 5, 7, tzinfo=dt.UTC)
    )
    request = quarterly_schedule(context)
    assert request.partition_key == "2019-10-01"  # 2019Q4


def test_the_daily_job_runs_from_an_empty_data_folder_to_a_published_version(operated):
    settings, run = operated.settings, operated.run
    assert run.deliveries_loaded == [operated.delivery.name]
    assert run.warehouse_built and run.published_version
    version = current_version(settings)
    assert version is not None and version.name == run.published_version
    manifest = json.loads((version / "manifest.json").read_text())
    assert manifest["run_id"] == run.run_id
    assert manifest["row_counts"]["indicators.ind_goal_attainment"] > 0


def test_runs_leave_row_counts_deliveries_checks_version_and_reports_on_the_assets(operated):
    with operated.instance() as instance:
        [record] = instance.get_run_records(dg.RunsFilter(run_ids=[operated.run.run_id]))
        assert record.dagster_run.status == dg.DagsterRunStatus.SUCCESS

        def latest(*path):
            event = instance.get_latest_materialization_event(dg.AssetKey(list(path)))
            assert event is not None, path
            return event.asset_materialization.metadata

        goals = latest("raw", "goals")
        assert (
            goals["rows_read"].value == goals["rows_loaded"].value + goals["rows_quarantined"].value
        )
        assert latest("raw", "ingest_log")["deliveries"].value == operated.delivery.name
        published = latest("published", "current")
        assert published["version"].value == operated.run.published_version
        assert published["rows_published"].value > 0
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey(["staging", "stg_goals"]), "gx_stg_goals")]
        )[dg.AssetCheckKey(dg.AssetKey(["staging", "stg_goals"]), "gx_stg_goals")]
        evaluation = check.event.dagster_event.event_specific_data
        assert evaluation.passed
        assert evaluation.metadata["rows_validated"].value > 0
        report_index = evaluation.metadata["report_index"].value
        assert report_index.endswith("index.html")
        assert (operated.settings.data_dir / "reports" / "index.html").exists()
