"""The Dagster code location (see workspace.yaml)."""

from __future__ import annotations

import dagster as dg

from orchestration.ingest.assets import ingest_deliveries, ingest_job, landing_sensor
from orchestration.resources import EffektSettings, PseudonymKey

defs = dg.Definitions(
    assets=[ingest_deliveries],
    jobs=[ingest_job],
    sensors=[landing_sensor],
    resources={"effekt": EffektSettings(), "pseudonym_key": PseudonymKey()},
)
