"""The Dagster code location (see workspace.yaml): assets, checks, jobs, schedules, sensors."""

import dagster as dg
from dagster_dbt import DbtCliResource

from orchestration.alerts import alert_on_run_failure, default_sink
from orchestration.automation import (
    daily_refresh,
    daily_schedule,
    landing_sensor,
    quarterly_reporting,
    quarterly_schedule,
)
from orchestration.disclosure.assets import disclosure_audit, open_indicators
from orchestration.ingest.assets import PseudonymKey, ingest_deliveries
from orchestration.publish.assets import published
from orchestration.quality.assets import build_gate, delivery_gate
from orchestration.reporting.assets import comparison_pages, fact_sheets, quarter_indicators
from orchestration.resources import SETTINGS_RESOURCE, SettingsResource
from orchestration.run_logs import file_logger
from orchestration.settings import Settings
from orchestration.warehouse import dbt_executable
from orchestration.warehouse.assets import dbt_project, warehouse

# Unset fields come from the environment when a run starts; `effekt run` configures them all.
settings = SettingsResource.configure_at_launch()

defs = dg.Definitions(
    assets=[
        ingest_deliveries,
        warehouse,
        open_indicators,
        published,
        quarter_indicators,
        fact_sheets,
        comparison_pages,
    ],
    asset_checks=[delivery_gate, build_gate, disclosure_audit],
    jobs=[daily_refresh, quarterly_reporting],
    schedules=[daily_schedule, quarterly_schedule],
    sensors=[landing_sensor, alert_on_run_failure],
    resources={
        SETTINGS_RESOURCE: settings,
        "pseudonym_key": PseudonymKey(settings=settings),
        "dbt": DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "alerts": default_sink(Settings.from_env()),
    },
    loggers={
        "console": dg.colored_console_logger,
        "file": file_logger,
    },
)
