"""Run the pipeline in-process, as `effekt run` and `effekt demo` do."""

from __future__ import annotations

import os
from dataclasses import dataclass

import dagster as dg

from orchestration.ingest.pseudonyms import load_key
from orchestration.settings import Settings
from orchestration.warehouse import run_dbt


class PipelineFailed(RuntimeError):
    """A step failed; the message says which and why, without row content."""


@dataclass(frozen=True)
class PipelineRun:
    run_id: str
    deliveries_loaded: list[str]
    rows_quarantined: int


def run_pipeline(settings: Settings, progress=print) -> PipelineRun:
    """Ingest every pending delivery, then build the warehouse with dbt."""
    from orchestration.definitions import defs  # the code location reads settings at run time

    load_key(settings)  # refuse to start without a key, before anything moves
    os.environ.update(settings.env())
    progress(f"Ingesting deliveries from {settings.landing_dir} ...")
    result = defs.resolve_job_def("ingest").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        raise_on_error=False,
    )
    if not result.success:
        failures = [
            e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE
        ]
        detail = (
            failures[0].event_specific_data.error.message if failures else "see the run's events"
        )
        raise PipelineFailed(f"ingest failed: {detail.strip()}")
    loaded, quarantined = [], 0
    for m in result.asset_materializations_for_node("ingest_deliveries"):
        if m.asset_key.path == ["raw", "quarantine"]:
            loaded = m.metadata["deliveries"].value.split(", ")
            quarantined = m.metadata["rows_quarantined"].value
    progress(f"Building the warehouse with dbt into {settings.warehouse} ...")
    run_dbt(settings, ["build"])
    return PipelineRun(result.run_id, loaded, quarantined)
