"""Two daily runs started together: one writer at a time, and the result of a single run."""

import os
import shutil
import subprocess
import sys

import dagster as dg
import duckdb

from orchestration.instance import get_instance
from orchestration.publish import current_version
from orchestration.reporting import INDICATOR_TABLES
from tests.conftest import operated_settings

STEP_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
}


def _effekt_run(settings):
    env = {
        k: v for k, v in os.environ.items() if k != "DAGSTER_HOME" and not k.startswith("EFFEKT_")
    }
    env["EFFEKT_PSEUDONYM_KEY_FILE"] = str(settings.pseudonym_key_file)
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", "run", "--data-dir", str(settings.data_dir)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def _step_windows(instance, run_id):
    """(step, start, end) of every step that ran, from the run's event log."""
    starts, windows = {}, []
    for entry in instance.all_logs(run_id, of_type=STEP_EVENTS):
        event = entry.dagster_event
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        else:
            windows.append((event.step_key, starts[event.step_key], entry.timestamp))
    return windows


def test_two_daily_runs_started_together_serialise_and_equal_a_single_run(
    operated, small_delivery, tmp_path
):
    settings = operated_settings(tmp_path)
    shutil.copytree(small_delivery.path, settings.landing_dir / small_delivery.path.name)
    first, second = _effekt_run(settings), _effekt_run(settings)
    outputs = [p.communicate(timeout=900)[0] for p in (first, second)]
    assert [first.returncode, second.returncode] == [0, 0], outputs
    assert sum(f"Deliveries loaded: {small_delivery.path.name}" in out for out in outputs) == 1

    with get_instance(settings) as instance:
        records = instance.get_run_records(dg.RunsFilter(job_name="daily_refresh"))
        assert [r.dagster_run.status for r in records] == [dg.DagsterRunStatus.SUCCESS] * 2
        a, b = (_step_windows(instance, r.dagster_run.run_id) for r in records)
    assert a and b
    # No step of one run overlapped a step of the other: the writer pool let one in at a time.
    for step_a, start_a, end_a in a:
        for step_b, start_b, end_b in b:
            assert end_a <= start_b or end_b <= start_a, (step_a, step_b)

    con = duckdb.connect(str(settings.raw_database), read_only=True)
    assert con.execute("select count(*) from raw.deliveries").fetchone() == (1,)
    con.close()
    ours, single = current_version(settings), current_version(operated.settings)
    assert len(list((settings.data_dir / "published" / "versions").iterdir())) == 1
    con = duckdb.connect()
    con.execute(f"attach '{ours / 'indicators.duckdb'}' as ours (read_only)")
    con.execute(f"attach '{single / 'indicators.duckdb'}' as single (read_only)")
    for table in INDICATOR_TABLES:
        extra, missing = con.execute(f"""
            select (select count(*) from (select * from ours.main.{table}
                                          except all select * from single.main.{table})),
                   (select count(*) from (select * from single.main.{table}
                                          except all select * from ours.main.{table}))
        """).fetchone()  # fmt: skip
        assert (extra, missing) == (0, 0), table
