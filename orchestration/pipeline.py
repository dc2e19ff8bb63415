"""Run the jobs in-process, as `effekt run`, `effekt demo` and `effekt backfill` do.

Runs are recorded in the persistent Dagster instance (see instance.py), so `effekt status` and
the UI show them beside scheduled runs, and the instance's writer pool applies to them too.
"""

from __future__ import annotations

import logging
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from orchestration.ingest.pseudonyms import load_key
from orchestration.instance import get_instance
from orchestration.reporting import Quarter
from orchestration.settings import Settings, environment

DAILY_JOB = "daily_refresh"
QUARTERLY_JOB = "quarterly_reporting"


class PipelineFailed(RuntimeError):
    """A step failed; the message says which and why, without row content."""


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    deliveries_loaded: list[str]
    rows_quarantined: int
    warehouse_built: bool
    published_version: str | None = None


@dataclass(frozen=True)
class QuarterRun:
    quarter: str
    run_id: str
    success: bool
    error: str | None = None


class _ProgressHandler(logging.Handler):
    """Turns Dagster's step events into one line each: started, done with seconds, failed."""

    def __init__(self, stream) -> None:
        super().__init__(level=logging.DEBUG)
        self.stream = stream
        self.started: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None or not event.step_key:
            return
        step, kind = event.step_key, event.event_type_value
        if kind == "STEP_START":
            self.started[step] = time.monotonic()
            line = f"  ... {step}"
        elif kind in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds = time.monotonic() - self.started.get(step, time.monotonic())
            line = f"  {'done' if kind == 'STEP_SUCCESS' else 'FAILED'} {step} ({seconds:.1f} s)"
        elif kind == "STEP_SKIPPED":
            line = f"  skipped {step}: nothing new upstream"
        elif kind == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            data = event.event_specific_data
            line = f"  check {data.check_name} on {data.asset_key.to_user_string()} failed"
        else:
            return
        print(line, file=self.stream, flush=True)


@dg.logger(
    config_schema={"stream": dg.Field(str, default_value="stdout", is_required=False)},
    description="One line per step started, finished, failed or skipped: progress for people.",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    # The real streams: in-process runs send tools' own output (dbt's) to a log file instead.
    stream = sys.__stderr__ if init_context.logger_config["stream"] == "stderr" else sys.__stdout__
    logger = logging.Logger("effekt.progress", level=logging.DEBUG)
    logger.addHandler(_ProgressHandler(stream))
    return logger


def _run_config(progress: bool) -> dict:
    loggers: dict = {"console": {"config": {"log_level": "WARNING"}}}
    if progress:
        loggers["progress"] = {}
    return {"loggers": loggers}


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
    path = settings.data_dir / "logs" / "pipeline.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log, redirect_stdout(log):
        yield path


def _defs():
    from orchestration.definitions import defs

    return defs


def run_pipeline(settings: Settings, progress: Callable[[str], None] | None = print) -> PipelineRun:
    """Run the daily refresh: ingest every pending delivery, build, gate and publish."""
    load_key(settings)  # refuse to start without a key, before anything moves
    defs = _defs()
    if progress:
        progress(f"Daily refresh: deliveries from {settings.landing_dir} to {settings.warehouse}")
    with (
        environment(settings),
        get_instance(settings) as instance,
        _tool_output(settings) as log_file,
    ):
        result = defs.resolve_job_def(DAILY_JOB).execute_in_process(
            instance=instance,
            run_config=_run_config(progress is not None),
            raise_on_error=False,
        )
    if not result.success:
        raise PipelineFailed(f"{_failure(result)} (tools' output: {log_file})")
    loaded, quarantined = [], 0
    for m in result.asset_materializations_for_node("ingest_deliveries"):
        if m.asset_key.path == ["raw", "quarantine"]:
            loaded = m.metadata["deliveries"].value.split(", ")
            quarantined = m.metadata["rows_quarantined"].value
    built = bool(result.asset_materializations_for_node("warehouse"))
    published = result.asset_materializations_for_node("published__current")
    version = published[0].metadata["version"].value if published else None
    return PipelineRun(result.run_id, loaded, quarantined, built, version)


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

    job = _defs().resolve_job_def(QUARTERLY_JOB)
    backfill_id = f"effekt-{uuid.uuid4().hex[:8]}"
    quarters = first.until(last)
    runs = []
    for n, quarter in enumerate(quarters, 1):
        if progress:
            progress(f"[{n}/{len(quarters)}] {quarter.label}")
        with environment(settings), get_instance(settings) as instance, _tool_output(settings):
            result = job.execute_in_process(
                instance=instance,
                partition_key=quarter_partition_key(quarter),
                run_config=_run_config(progress is not None),
                tags={"dagster/backfill": backfill_id},
                raise_on_error=False,
            )
        error = None if result.success else _failure(result)
        runs.append(QuarterRun(quarter.label, result.run_id, result.success, error))
    return runs
