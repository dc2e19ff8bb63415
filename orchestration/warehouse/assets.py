"""The dbt project as Dagster assets: one per model and seed, dbt tests as asset checks.

dbt sources are the ingest's raw assets, so lineage runs from a delivery to every indicator.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from orchestration import progress
from orchestration.instance import WRITER_POOL
from orchestration.locking import writer_lock
from orchestration.resources import SettingsResource
from orchestration.settings import scoped_environment
from orchestration.warehouse import (
    BUILD_ARGS,
    DBT_PROJECT_DIR,
    dbt_variables,
    describe_build_resources,
    ensure_manifest,
    planned_build,
)

WAREHOUSE_GROUP = "warehouse"
QUALITY_GROUP = "quality"
# What quality coordinators read beside the gate's reports: quarantined rows, data-quality figures.
QUALITY_MODELS = {"stg_quarantine", "ind_data_quality"}


class WarehouseConfig(dg.Config):
    """`rebuild`: build every table from the history again instead of on the last build."""

    rebuild: bool = False


dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class EffektDbtTranslator(DagsterDbtTranslator):
    """Models and seeds are keyed by schema (staging/stg_goals); sources by the raw layer."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            name = dbt_resource_props["name"]
            return dg.AssetKey([dbt_resource_props["source_name"], name])
        return dg.AssetKey([dbt_resource_props["config"]["schema"], dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        if dbt_resource_props["name"] in QUALITY_MODELS:
            return QUALITY_GROUP
        return WAREHOUSE_GROUP


@dbt_assets(
    manifest=ensure_manifest(),
    project=dbt_project,
    dagster_dbt_translator=EffektDbtTranslator(),
    pool=WRITER_POOL,
)
def warehouse(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    settings: SettingsResource,
    config: WarehouseConfig,
):
    """Build staging, marts and indicators; dbt's tests run after each model. On the last
    successful build, the period-incremental models compute only the periods changed since."""
    run_settings = settings.get()
    run_settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    context.log.info(describe_build_resources(run_settings))
    # dagster-dbt starts dbt with this process's environment, where dbt's profile reads the
    # paths, threads and memory cap: set for the call alone, restored after.
    with (
        scoped_environment(dbt_variables(run_settings)),
        writer_lock(run_settings, context.log.info),
        planned_build(run_settings, rebuild=config.rebuild) as plan,
    ):
        context.log.info(f"warehouse build: {plan.why}")
        # stream() raises when dbt fails, so the build is then not recorded.
        yield from dbt.cli(
            [*BUILD_ARGS, *plan.args], context=context, target_path=run_settings.dbt_target_dir
        ).stream()
    progress.advance_current(run_settings, "built", context.run.run_id)
