"""What a run tells people as it goes: one line per step on the terminal (read from the run's
events in the instance), and every event in a plain-text file (a logger named in the Dagster
definitions) for whoever investigates a failure."""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

import dagster as dg

PROGRESS_EVENTS = {
    dg.DagsterEventType.STEP_START,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
}


def progress_line(entry: dg.EventLogEntry, started: dict[str, float]) -> str | None:
    """One line for a step started, done (with its seconds) or failed, or a check failed."""
    event = entry.dagster_event
    if event is None or not event.step_key:
        return None
    step = event.step_key
    if event.event_type == dg.DagsterEventType.STEP_START:
        started[step] = entry.timestamp
        return f"  ... {step}"
    if event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
        seconds = entry.timestamp - started.get(step, entry.timestamp)
        done = "done" if event.event_type == dg.DagsterEventType.STEP_SUCCESS else "FAILED"
        return f"  {done} {step} ({seconds:.1f} s)"
    evaluation = event.event_specific_data
    if event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION and not evaluation.passed:
        return f"  check {evaluation.check_name} on {evaluation.asset_key.to_user_string()} failed"
    return None  # skipped steps are summed up in one line when the run ends


@contextmanager
def step_progress(
    instance: dg.DagsterInstance, run_id: str, stream: TextIO | None = None, every_s: float = 0.5
) -> Iterator[None]:
    """Print a line per step started, finished or failed while the run `run_id` goes on: the
    run's events as the instance's event log holds them (`DagsterInstance.all_logs`), read every
    `every_s` seconds and once more at the end. To the real stdout: in-process runs send what
    tools print (dbt's lines) to a log file instead."""
    stream = stream or sys.__stdout__
    stop = threading.Event()
    printed = 0
    started: dict[str, float] = {}

    def show() -> None:
        nonlocal printed
        try:
            entries = instance.all_logs(run_id, of_type=PROGRESS_EVENTS)
        except Exception:
            return
        for entry in entries[printed:]:
            if line := progress_line(entry, started):
                print(line, file=stream, flush=True)
        printed = len(entries)

    def watch() -> None:
        while not stop.wait(every_s):
            show()

    watcher = threading.Thread(target=watch, name="effekt-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stop.set()
        watcher.join()
        show()


@dg.logger(
    config_schema={"path": dg.Field(str), "level": dg.Field(str, default_value="INFO")},
    description="Every event of the run as plain text (no colour codes), tracebacks included.",
)
def file_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.Logger("effekt.run", level=init_context.logger_config["level"])
    path = Path(init_context.logger_config["path"])
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger
