"""The daily refresh when things go wrong: nothing stuck, every failure traced, runs resumed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass

import pytest

from orchestration.cli import main
from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.pipeline import run_pipeline
from orchestration.progress import needs_build, read_progress
from orchestration.publish import current_version
from orchestration.trace import read_alerts
from tests.conftest import REPO, operated_settings
from tests.ingest.conftest import rewrite
from tests.publish.test_refresh_gate import AREA, _cut_goals_in_half

EARLIER = dt.date(2019, 3, 31)


@pytest.fixture(scope="module")
def deliveries(make_delivery):
    """Two consistent snapshots of one history of 600 citizens (Parquet), and a damaged copy."""
    args = {"citizens": 600, "seed": 11, "file_format": "parquet"}
    return {
        "earlier": make_delivery(**args, extract_at=EARLIER).path,
        "later": make_delivery(**args).path,
        "damaged": make_delivery(**args, file_defects=("checksum_mismatch",)).path,
    }


@dataclass
class MixedLanding:
    """`effekt run` on a landing that held a good delivery and a damaged later one."""

    settings: object
    code: int
    out: str
    err: str


@pytest.fixture(scope="module")
def published(tmp_path_factory, deliveries) -> MixedLanding:
    """The earlier snapshot published and the damaged later one refused, by one `effekt run`:
    the mixed landing of issue 14, and where every failure below starts."""
    os.environ.pop("DAGSTER_HOME", None)
    settings = operated_settings(tmp_path_factory.mktemp("published"))
    for delivery in (deliveries["earlier"], deliveries["damaged"]):
        shutil.copytree(delivery, settings.landing_dir / delivery.name)
    out, err = io.StringIO(), io.StringIO()
    os.environ["EFFEKT_PSEUDONYM_KEY_FILE"] = str(settings.pseudonym_key_file)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["run", "--data-dir", str(settings.data_dir)])
    finally:
        os.environ.pop("EFFEKT_PSEUDONYM_KEY_FILE", None)
    return MixedLanding(settings, code, out.getvalue(), err.getvalue())


@pytest.fixture
def folder(published, tmp_path):
    """A copy of the published data folder, for one test to break."""
    settings = operated_settings(tmp_path)
    shutil.copytree(published.settings.data_dir, settings.data_dir, symlinks=True)
    return settings


def land(settings, delivery, name=None):
    target = settings.landing_dir / (name or delivery.name)
    shutil.copytree(delivery, target)
    return target


def status_json(settings, capsys) -> dict:
    capsys.readouterr()
    assert main(["status", "--data-dir", str(settings.data_dir), "--json", "--runs", "20"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_refused_later_delivery_does_not_keep_the_good_one_from_being_published(
    published, folder, deliveries, capsys
):
    settings, good = published.settings, deliveries["earlier"]
    assert published.code == 1
    version = current_version(settings)
    assert version is not None, published.out
    manifest = json.loads((version / "manifest.json").read_text())
    assert [d["delivery_id"] for d in manifest["deliveries"]] == [good.name]
    progress = read_progress(settings)
    assert progress[good.name]["stage"] == "published"
    assert progress[good.name]["loaded_at"]  # what orders the deliveries a run works on
    assert progress[deliveries["damaged"].name]["stage"] == "refused"
    assert "failed in ingest_deliveries" in published.err and "goals" in published.err
    # Calm: no stack traces on the terminal (they are in the log), no colour codes in the log.
    said = published.out + published.err
    assert "Traceback" not in said and len(said.splitlines()) < 40
    log = (settings.data_dir / "logs" / "pipeline.log").read_text()
    assert "refused" in log and "\x1b[" not in log
    [refusal] = settings.quarantine_dir.glob("*/refusal.json")
    assert json.loads(refusal.read_text())["folder"] == deliveries["damaged"].name

    # The next run (on a copy) has nothing to do, says so in one line, and fails nothing.
    os.environ["EFFEKT_PSEUDONYM_KEY_FILE"] = str(folder.pseudonym_key_file)
    try:
        assert main(["run", "--data-dir", str(folder.data_dir)]) == 0
    finally:
        os.environ.pop("EFFEKT_PSEUDONYM_KEY_FILE", None)
    out = capsys.readouterr().out
    assert "nothing new" in out and f"{good.name} is published" in out
    assert current_version(folder).name == version.name
    assert "emitted no result" not in out and "Traceback" not in out
    assert len(read_alerts(folder)) == 1  # the refusal's, once


def test_a_run_killed_after_loading_is_resumed_by_the_next_run(tmp_path, deliveries):
    os.environ.pop("DAGSTER_HOME", None)
    settings = operated_settings(tmp_path)
    delivery = land(settings, deliveries["earlier"])
    env = {**os.environ, "EFFEKT_PSEUDONYM_KEY_FILE": str(settings.pseudonym_key_file)}
    env.pop("DAGSTER_HOME", None)
    command = [
        sys.executable,
        "-m",
        "orchestration.cli",
        "run",
        "--data-dir",
        str(settings.data_dir),
    ]
    run = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while read_progress(settings).get(delivery.name, {}).get("stage") != "loaded":
        assert run.poll() is None and time.monotonic() < deadline, "the run ended before loading"
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    assert read_progress(settings)[delivery.name]["stage"] == "loaded"
    assert current_version(settings) is None
    assert not (settings.landing_dir / delivery.name).exists()  # loaded and archived

    refresh = run_pipeline(settings, progress=None)
    assert not refresh.failed
    assert refresh.last.warehouse_built and refresh.published_version
    # The killed run is failed, not left "started" holding the writer pool's slot, and alerted.
    [alert] = read_alerts(settings)
    assert "is gone: killed" in alert["reason"] and alert["run_id"] != refresh.last.run_id
    assert read_progress(settings)[delivery.name]["stage"] == "published"
    manifest = json.loads((current_version(settings) / "manifest.json").read_text())
    assert [d["delivery_id"] for d in manifest["deliveries"]] == [delivery.name]


def _assert_traced(settings, capsys, step: str, reason: str, file: str) -> dict:
    """The failure's alert line and `effekt status --json` name the step, reason and file."""
    [alert] = read_alerts(settings, limit=1)
    assert alert["failed_step"] == step
    assert reason in alert["reason"], alert["reason"]
    assert file in (alert["file"] or ""), alert["file"]
    assert alert["next"] and alert["run_url"].endswith(alert["run_id"])
    status = status_json(settings, capsys)
    assert {k: status["last_failure"][k] for k in ("failed_step", "reason", "file")} == {
        k: alert[k] for k in ("failed_step", "reason", "file")
    }
    [run] = [r for r in status["runs"] if r["run_id"] == alert["run_id"]]
    assert run["status"] == "FAILURE" and run["failed_step"] == step
    text = (settings.data_dir / "alerts" / "alerts.jsonl").read_text()
    assert not CPR_IN_TEXT.search(text)
    capsys.readouterr()
    assert main(["status", "--data-dir", str(settings.data_dir)]) == 0
    shown = capsys.readouterr().out
    assert f"step:   {step}" in shown and "next:" in shown
    return alert


def test_a_refused_file_is_traced_to_its_file(published, capsys):
    settings = published.settings  # the mixed landing's run refused the damaged delivery
    _assert_traced(settings, capsys, "ingest_deliveries", "goals.parquet", "goals.parquet")


def test_a_row_level_gate_error_is_traced_to_the_report(folder, deliveries, capsys):
    later = land(folder, deliveries["later"])
    # A case owned by a provider unit: the contract cannot tell, the build gate can.
    rewrite(
        later,
        "cases",
        """
        select * replace (case when case_id = (select min(case_id) from {t})
            then (select min(org_unit_id) from '"""
        + str(later)
        + """/org_units.parquet'
                  where org_role = 'provider') else authority_org_unit_id end
            as authority_org_unit_id) from {t}""",
    )
    [run] = run_pipeline(folder, progress=None).runs
    assert not run.success and run.warehouse_built and not run.published_version
    alert = _assert_traced(folder, capsys, "build_gate", "stg_cases: authority_exists", "reports")
    assert alert["file"].startswith(str(folder.data_dir / "reports" / run.run_id))
    assert read_progress(folder)[later.name]["stage"] == "blocked"


def test_a_plausibility_block_is_traced_to_the_report(folder, deliveries, capsys):
    later = land(folder, deliveries["later"])
    _cut_goals_in_half(later, AREA)
    [run] = run_pipeline(folder, progress=None).runs
    assert not run.success and not run.warehouse_built
    _assert_traced(folder, capsys, "delivery_gate", "delivery_units: goals_ratio", "reports")
    assert read_progress(folder)[later.name]["stage"] == "blocked"
    # A blocked delivery is not built again by the next run: the verdict stands.
    [again] = run_pipeline(folder, progress=None).runs
    assert again.success and not again.warehouse_built and "blocked" in again.skipped


def test_a_dbt_failure_is_traced_to_the_log_and_leaves_the_delivery_to_resume(
    folder, deliveries, capsys
):
    later = land(folder, deliveries["later"])
    refused = dataclasses.replace(folder, duckdb_memory_limit="a lot")  # DuckDB refuses it
    [run] = run_pipeline(refused, progress=None).runs
    assert not run.success
    _assert_traced(folder, capsys, "warehouse", "dbt", "pipeline.log")
    # Left loaded, so the next run builds it again (as after a killed run, tested above).
    assert read_progress(folder)[later.name]["stage"] == "loaded"
    assert needs_build(folder)["delivery_id"] == later.name


def test_an_unreachable_postgresql_target_is_traced_and_publishes_nothing(folder, capsys, tmp_path):
    """The cause reaches the alert and `effekt status` (not Dagster's wrapper around it), with
    no password; the previous version stays current (the next test's rebuild publishes)."""
    before = current_version(folder)
    dsn = tmp_path / "postgres.dsn"
    dsn.write_text(f"host={tmp_path / 'no-server'} dbname=bi password=hunter2-secret")
    [run] = run_pipeline(dataclasses.replace(folder, postgres_dsn_file=dsn), progress=None,
                         rebuild=True).runs  # fmt: skip
    assert not run.success and current_version(folder) == before
    alert = _assert_traced(
        folder, capsys, "published__current", "PostgreSQL target not updated", ""
    )
    assert "PostgreSQL target" in alert["next"]
    assert "hunter2" not in (folder.data_dir / "alerts" / "alerts.jsonl").read_text()


def test_rebuild_builds_gates_and_publishes_the_current_state(folder):
    before = current_version(folder)
    [run] = run_pipeline(folder, progress=None, rebuild=True).runs
    assert run.success and run.warehouse_built and run.published_version
    assert current_version(folder) != before
