"""The pipeline's settings as a Dagster resource, so assets get them as resource config."""

from __future__ import annotations

import dataclasses
from typing import Any

import dagster as dg

from orchestration.settings import SECRETS, Settings

SETTINGS_RESOURCE = "settings"


class SettingsResource(dg.ConfigurableResource):
    """Every setting of orchestration/settings.py but the secrets, as resource config. A field
    left unset comes from the environment when a run starts (the UI's and the daemon's runs);
    `effekt run` gives every field (`run_config`). The secrets come from the environment or, for
    the pseudonym key, from the file `pseudonym_key_file` names."""

    data_dir: str | None = None
    landing_dir: str | None = None
    raw_dir: str | None = None
    warehouse: str | None = None
    pseudonym_key_file: str | None = None
    dagster_home: str | None = None
    archive_keep_days: int | None = None
    published_keep: int | None = None
    ingest_memory_limit: str | None = None
    duckdb_memory_limit: str | None = None
    dbt_threads: int | None = None
    warehouse_engine: str | None = None
    spark_dir: str | None = None
    spark_sources_dir: str | None = None
    spark_driver_memory: str | None = None
    writer_lock_timeout: float | None = None
    ui_url: str | None = None
    gate_max_drop: float | None = None
    gate_bunching: float | None = None
    gate_gas_jump: float | None = None
    landing_wait_warning_hours: float | None = None
    protection_width: int | None = None
    citizen_protection_width: int | None = None
    secondary_suppression: bool | None = None
    amount_protection_dkk: float | None = None
    barometer_targets: str | None = None
    postgres_dsn_file: str | None = None
    postgres_schema_prefix: str | None = None
    postgres_switch_timeout: float | None = None
    municipality_code: str | None = None
    comparison_name_others: bool | None = None

    def get(self) -> Settings:
        """The settings: this resource's config over the environment's."""
        return Settings.from_env(**{name: getattr(self, name) for name in CONFIG_FIELDS})

    @staticmethod
    def run_config(settings: Settings) -> dict[str, Any]:
        """Run config that gives a run exactly these settings (secrets aside)."""
        return {SETTINGS_RESOURCE: {"config": settings.config()}}


CONFIG_FIELDS = [f.name for f in dataclasses.fields(Settings) if f.name not in SECRETS]
