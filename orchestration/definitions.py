"""The Dagster code location (see workspace.yaml)."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.ingest.assets import (
    INGEST_GROUP,
    ingest_deliveries,
    ingest_job,
    landing_sensor,
)
from orchestration.publish.assets import PUBLISH_GROUP, published
from orchestration.quality.assets import build_gate, delivery_gate
from orchestration.resources import EffektSettings, PseudonymKey
from orchestration.warehouse import dbt_executable
from orchestration.warehouse.assets import WAREHOUSE_GROUP, dbt_project, warehouse

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.groups(INGEST_GROUP, WAREHOUSE_GROUP, PUBLISH_GROUP),
    description="Load new deliveries, build the warehouse, validate it and publish if the gate passes.",
)

defs = dg.Definitions(
    assets=[ingest_deliveries, warehouse, published],
    asset_checks=[delivery_gate, build_gate],
    jobs=[ingest_job, refresh_job],
    sensors=[landing_sensor],
    resources={
        "effekt": EffektSettings(),
        "pseudonym_key": PseudonymKey(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    },
)
