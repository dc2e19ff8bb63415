"""Run the jobs in-process, as `effekt run`, `effekt demo` and `effekt backfill` do.

Runs are recorded in the persistent Dagster instance (see instance.py), so `effekt status` and
the UI show them beside scheduled runs, and the instance's writer pool applies to them too.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from orchestration import progress as progress_state
from orchestration.ingest.pseudonyms import load_key
from orchestration.instance import get_instance
from orchestration.jobs import DAILY_JOB, QUARTERLY_JOB
from orchestration.reporting import Quarter
from orchestration.resources import SettingsResource
from orchestration.run_logs import step_progress
from orchestration.settings import DataFolderMissing, Settings, require_data_dir

__all__ = [
    "DataFolderMissing",
    "PipelineRun",
    "Refresh",
    "run_backfill",
    "run_pipeline",
]


@dataclass(frozen=True)
class PipelineRun:
    """One run of the daily job: one delivery, or the current state resumed or rebuilt."""

    run_id: str
    deliveries_loaded: list[str]
    rows_quarantined: int
    warehouse_built: bool
    published_version: str | None = None
    success: bool = True
    alert: dict | None = None  # for a failed run: its alert line (step, reason, file, next)
    skipped: str | None = None  # one line: which stages were skipped, and why


@dataclass(frozen=True)
class Refresh:
    """What `effekt run` did: one run per pending delivery, oldest first, or one to resume."""

    runs: list[PipelineRun]

    @property
    def failed(self) -> list[PipelineRun]:
        return [r for r in self.runs if not r.success]

    @property
    def last(self) -> PipelineRun:
        return self.runs[-1]

    @property
    def published_version(self) -> str | None:
        return next((r.published_version for r in reversed(self.runs) if r.published_version), None)


@dataclass(frozen=True)
class QuarterRun:
    quarter: str
    run_id: str
    success: bool
    error: str | None = None


def _run_config(settings: Settings, verbose: bool = False) -> dict:
    """The settings as resource config (nothing through the environment), and the loggers."""
    loggers: dict = {"file": {"config": {"path": str(settings.log_file.resolve())}}}
    if verbose:  # Dagster's own console lines, stack traces included
        loggers["console"] = {"config": {"log_level": "DEBUG"}}
    return {"loggers": loggers, "resources": SettingsResource.run_config(settings)}


def _failure(result: dg.ExecuteInProcessResult) -> str:
    failures = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
    if failures:
        step = failures[0].step_key
        detail = failures[0].event_specific_data.error.message.strip()
        return f"step {step} failed: {detail}"
    return f"run {result.run_id} failed; see its events with `effekt status`"


@contextmanager
def _tool_output(settings: Settings) -> Iterator[Path]:
    """Send what tools print (dbt's log lines) to a file, so people see progress lines only."""
    path = settings.log_file
    path.parent.mkdir(parents=True, exist_ok=True)
    # effekt's own log lines (a refusal, an alert) too: the summary on the terminal says it once.
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    loggers = [logging.getLogger(name) for name in ("orchestration", "effekt")]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate, lg.level = False, logging.INFO
    try:
        with path.open("a", encoding="utf-8") as log, redirect_stdout(log):
            yield path
    finally:
        for lg, (propagate, level) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.propagate, lg.level = propagate, level
        handler.close()


def _step_lines(instance: dg.DagsterInstance, run_id: str, show: bool):
    """A line per step on the terminal while the run goes on, if anyone is watching."""
    return step_progress(instance, run_id) if show else nullcontext()


def _defs():
    from orchestration.definitions import defs

    return defs


def _skip_reason(settings: Settings) -> str:
    current = progress_state.current_delivery(settings)
    if current is None:
        return "no delivery has been loaded yet"
    if current["stage"] == "blocked":
        return (
            f"delivery {current['delivery_id']} was blocked by the {current.get('gate')} gate "
            f"(run {current['run_id'][:8]}); a new delivery, `effekt accept` or "
            "`effekt run --rebuild` builds again"
        )
    if current["stage"] == "published":
        return (
            f"nothing new; delivery {current['delivery_id']} is published "
            f"(version {current.get('version')})"
        )
    return f"delivery {current['delivery_id']} is at stage {current['stage']}"


PID_TAG, HOST_TAG = "effekt/pid", "effekt/host"


def _process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def release_dead_runs(instance: dg.DagsterInstance, settings: Settings) -> list[str]:
    """Fail the in-process runs whose process died (killed, machine restarted) and free the
    writer pool's slot they held, which would otherwise make every later run wait forever.

    Only runs started on this machine by a process that no longer exists are touched; a run
    still going in another terminal is left alone. Each leaves an alert, like any failed run.
    """
    from orchestration.alerts import build_alert, default_sink

    host = socket.gethostname()
    active = [
        dg.DagsterRunStatus.STARTING,
        dg.DagsterRunStatus.STARTED,
        dg.DagsterRunStatus.CANCELING,
    ]
    released = []
    for record in instance.get_run_records(dg.RunsFilter(statuses=active)):
        run = record.dagster_run
        pid = run.tags.get(PID_TAG)
        if run.tags.get(HOST_TAG) != host or not pid or not _process_is_gone(int(pid)):
            continue
        starts = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_START)
        step = starts[-1].step_key if starts else None
        message = (
            f"the process running it (pid {pid}) is gone: killed"
            + (f" in step {step}" if step else "")
            + "; the next run resumes the delivery"
        )
        instance.report_run_failed(run, message=message)
        instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        alert = build_alert(settings, run.run_id, run.job_name, dict(run.tags), [], message)
        default_sink(settings).send(alert | {"failed_step": step}, settings)
        released.append(run.run_id)
    return released


def _execute(
    settings: Settings, run_config: dict, tags: dict[str, str], progress: bool
) -> PipelineRun:
    """One run of the daily job in-process; a failure leaves its alert and is returned."""
    from orchestration.alerts import build_alert, default_sink

    tags = tags | {PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    run_id = str(uuid.uuid4())
    with get_instance(settings) as instance, _tool_output(settings):
        release_dead_runs(instance, settings)
        with _step_lines(instance, run_id, progress):
            result = (
                _defs()
                .resolve_job_def(DAILY_JOB)
                .execute_in_process(
                    instance=instance,
                    run_config=run_config,
                    tags=tags,
                    run_id=run_id,
                    raise_on_error=False,
                )
            )
    loaded, quarantined = [], 0
    for m in result.asset_materializations_for_node("ingest_deliveries"):
        if m.asset_key.path == ["raw", "quarantine"] and "resumed" not in m.metadata:
            loaded = [d for d in m.metadata["deliveries"].value.split(", ") if d]
            quarantined = m.metadata["rows_quarantined"].value
    built = bool(result.asset_materializations_for_node("warehouse"))
    published = result.asset_materializations_for_node("published__current")
    version = published[0].metadata["version"].value if published else None
    if not result.success:
        failures = [
            e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        run_failure = result.get_run_failure_event()
        alert = build_alert(
            settings, result.run_id, DAILY_JOB, dict(result.dagster_run.tags), failures,
            (run_failure.message if run_failure else "") or "",
        )  # fmt: skip
        default_sink(settings).send(alert, settings)
        return PipelineRun(result.run_id, loaded, quarantined, built, version, False, alert)
    skipped = [e.step_key for e in result.all_events if e.event_type_value == "STEP_SKIPPED"]
    note = f"skipped {', '.join(skipped)}: {_skip_reason(settings)}" if skipped else None
    return PipelineRun(result.run_id, loaded, quarantined, built, version, skipped=note)


def run_pipeline(
    settings: Settings,
    progress: Callable[[str], None] | None = print,
    rebuild: bool = False,
    verbose: bool = False,
) -> Refresh:
    """The daily refresh: each pending delivery, oldest first, in a run of its own that loads,
    builds, gates and publishes it; with nothing pending, one run that resumes the current
    delivery if an earlier run stopped before publishing it (or rebuilds it, if asked).

    A refused or blocked delivery fails its own run only: the next one still goes ahead.
    """
    from orchestration.ingest.landing import scan_landing
    from orchestration.ingest.load import pending_deliveries

    require_data_dir(settings)
    load_key(settings)  # refuse to start without a key, before anything moves
    say = progress or (lambda _line: None)
    say(f"Daily refresh: deliveries from {settings.landing_dir} to {settings.warehouse}")
    for line in scan_landing(settings).lines():
        say(f"  landing: {line}")
    pending = pending_deliveries(settings)
    config = _run_config(settings, verbose)
    runs = []
    for n, folder in enumerate(pending, 1):
        say(f"[{n}/{len(pending)}] delivery {folder.name}")
        ingest = {"delivery": folder.name, "rebuild": rebuild}
        run_config = config | {"ops": _op_config(ingest, rebuild)}
        runs.append(
            _execute(settings, run_config, {"effekt/delivery": folder.name}, progress is not None)
        )
        _say_outcome(say, runs[-1])
    if not pending:
        say("No new delivery in landing." + (" Rebuilding the current state." if rebuild else ""))
        run_config = config | {"ops": _op_config({"rebuild": rebuild}, rebuild)}
        runs.append(_execute(settings, run_config, {}, progress is not None))
        _say_outcome(say, runs[-1])
    return Refresh(runs)


def _op_config(ingest: dict, rebuild: bool) -> dict:
    """The daily job's op config: the ingest's, and a rebuild of every warehouse table if asked."""
    return {
        "ingest_deliveries": {"config": ingest},
        "warehouse": {"config": {"rebuild": rebuild}},
    }


def _say_outcome(say: Callable[[str], None], run: PipelineRun) -> None:
    if run.skipped:
        say(f"  {run.skipped}")
    if run.alert:
        say(f"  FAILED in {run.alert['failed_step']}: {run.alert['reason']}")
        if run.alert.get("file"):
            say(f"  file: {run.alert['file']}")
        say(f"  next: {run.alert['next']}")
    elif run.published_version:
        say(f"  published version {run.published_version}")


def run_backfill(
    settings: Settings,
    first: Quarter,
    last: Quarter,
    progress: Callable[[str], None] | None = print,
) -> list[QuarterRun]:
    """Run the quarterly reporting job for each quarter from `first` to `last`, one run each.

    A failed quarter does not stop the others; the runs share a backfill tag in the UI.
    """
    from orchestration.reporting.assets import quarter_partition_key

    require_data_dir(settings)
    job = _defs().resolve_job_def(QUARTERLY_JOB)
    backfill_id = f"effekt-{uuid.uuid4().hex[:8]}"
    quarters = first.until(last)
    runs = []
    for n, quarter in enumerate(quarters, 1):
        if progress:
            progress(f"[{n}/{len(quarters)}] {quarter.label}")
        run_id = str(uuid.uuid4())
        with (
            get_instance(settings) as instance,
            _tool_output(settings),
            _step_lines(instance, run_id, progress is not None),
        ):
            result = job.execute_in_process(
                instance=instance,
                partition_key=quarter_partition_key(quarter),
                run_config=_run_config(settings),
                tags={"dagster/backfill": backfill_id},
                run_id=run_id,
                raise_on_error=False,
            )
        error = None if result.success else _failure(result)
        runs.append(QuarterRun(quarter.label, result.run_id, result.success, error))
    return runs
