"""The Dagster code location (see workspace.yaml)."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.ingest.assets import (
    INGEST_GROUP,
    ingest_deliveries,
    ingest_job,
    landing_sensor,
)
from orchestration.resources import EffektSettings, PseudonymKey
from orchestration.warehouse import dbt_executable
from orchestration.warehouse.assets import WAREHOUSE_GROUP, dbt_project, warehouse

refresh_job = dg.define_asset_job(
    "refresh",
    selection=dg.AssetSelection.groups(INGEST_GROUP, WAREHOUSE_GROUP),
    description="Load new deliveries, then build the warehouse and run its tests.",
)

defs = dg.Definitions(
    assets=[ingest_deliveries, warehouse],
    jobs=[ingest_job, refresh_job],
    sensors=[landing_sensor],
    resources={
        "effekt": EffektSettings(),
        "pseudonym_key": PseudonymKey(),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
    },
)
