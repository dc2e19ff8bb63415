"""Run the pipeline in-process, as `effekt run` and `effekt demo` do."""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

from orchestration.ingest.pseudonyms import load_key
from orchestration.settings import Settings


class PipelineFailed(RuntimeError):
    """A step failed; the message says which and why, without row content."""


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    deliveries_loaded: list[str]
    rows_quarantined: int
    warehouse_built: bool


def run_pipeline(settings: Settings, progress=print) -> PipelineRun:
    """Run the refresh job: ingest every pending delivery, then build and test the warehouse."""
    load_key(settings)  # refuse to start without a key, before anything moves
    os.environ.update(settings.env())
    from orchestration.definitions import defs  # reads the settings from the environment

    progress(
        f"Loading deliveries from {settings.landing_dir} and building {settings.warehouse} ..."
    )
    result = defs.resolve_job_def("refresh").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        raise_on_error=False,
    )
    if not result.success:
        failures = [
            e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        if failures:
            step = failures[0].step_key
            detail = failures[0].event_specific_data.error.message.strip()
            raise PipelineFailed(f"step {step} failed: {detail}")
        raise PipelineFailed("the refresh run failed; see its events")
    loaded, quarantined = [], 0
    for m in result.asset_materializations_for_node("ingest_deliveries"):
        if m.asset_key.path == ["raw", "quarantine"]:
            loaded = m.metadata["deliveries"].value.split(", ")
            quarantined = m.metadata["rows_quarantined"].value
    built = bool(result.asset_materializations_for_node("warehouse"))
    return PipelineRun(result.run_id, loaded, quarantined, built)
