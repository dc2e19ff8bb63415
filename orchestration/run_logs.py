"""The run's loggers, named in the Dagster definitions: one line per step for people, and
every event in a plain-text file for whoever investigates a failure."""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import dagster as dg


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
        elif kind == "ASSET_CHECK_EVALUATION" and not event.event_specific_data.passed:
            data = event.event_specific_data
            line = f"  check {data.check_name} on {data.asset_key.to_user_string()} failed"
        else:
            return  # skipped steps are summed up in one line when the run ends
        print(line, file=self.stream, flush=True)


@dg.logger(
    config_schema={"stream": dg.Field(str, default_value="stdout", is_required=False)},
    description="One line per step started, finished or failed: progress for people.",
)
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    # The real streams: in-process runs send tools' own output (dbt's) to a log file instead.
    stream = sys.__stderr__ if init_context.logger_config["stream"] == "stderr" else sys.__stdout__
    logger = logging.Logger("effekt.progress", level=logging.DEBUG)
    logger.addHandler(_ProgressHandler(stream))
    return logger


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
