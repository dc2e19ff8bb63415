"""One owner of the settings: read from the environment in one module, given to runs as resource
config, and every path below the configured data folder."""

from __future__ import annotations

import ast
import os
from pathlib import Path

import pytest

from orchestration.resources import CONFIG_FIELDS, SettingsResource
from orchestration.settings import SECRETS, Settings, Thresholds
from tests.conftest import REPO

PACKAGE = REPO / "orchestration"
# The environment's one reader; it also makes dbt's (settings.child_environment).
ENVIRONMENT_READERS = {"orchestration/settings.py"}


def test_only_the_settings_module_and_the_dbt_call_touch_the_environment():
    found = {}
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        uses = [
            node.lineno
            for node in ast.walk(tree)
            if (isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv"))
            or (isinstance(node, ast.Name) and node.id in ("environ", "getenv"))
        ]
        if uses:
            found[path.relative_to(REPO).as_posix()] = uses
    assert set(found) <= ENVIRONMENT_READERS, found


def test_dbt_gets_the_settings_and_none_of_the_secrets(monkeypatch):
    from orchestration.settings import child_environment, scoped_environment
    from orchestration.warehouse import dbt_variables

    for variable in ("EFFEKT_PSEUDONYM_KEY", "EFFEKT_POSTGRES_DSN", "EFFEKT_ALERT_WEBHOOK"):
        monkeypatch.setenv(variable, "a-secret")
    settings = Settings(data_dir=Path("/srv/effekt"), duckdb_memory_limit="2GB")
    env = child_environment(dbt_variables(settings))
    assert "a-secret" not in env.values()
    assert env["EFFEKT_WAREHOUSE"] == "/srv/effekt/warehouse/effekt.duckdb"
    assert env["EFFEKT_DUCKDB_MEMORY_LIMIT"] == "2GB" and "PATH" in env
    with scoped_environment(dbt_variables(settings)):  # dagster-dbt's dbt sees this
        assert os.environ.get("EFFEKT_PSEUDONYM_KEY") is None
        assert os.environ["EFFEKT_DATA_DIR"] == "/srv/effekt"
    assert os.environ["EFFEKT_PSEUDONYM_KEY"] == "a-secret"  # restored after the call


def test_every_setting_but_the_secrets_is_resource_config_and_survives_the_trip():
    assert set(CONFIG_FIELDS) | set(SECRETS) == set(Settings.__dataclass_fields__)
    settings = Settings(
        data_dir=Path("/srv/effekt"), archive_keep_days=30, published_keep=3, dbt_threads=1,
        writer_lock_timeout=60.0, ui_url="https://dagster.example", gate_max_drop=0.5,
        protection_width=7, secondary_suppression=False, barometer_targets=Path("/srv/t.yaml"),
        pseudonym_key="a-secret-that-never-goes-into-run-config", alert_webhook="https://x/tok",
    )  # fmt: skip
    config = SettingsResource.run_config(settings)["settings"]["config"]
    assert "a-secret" not in repr(config) and "tok" not in repr(config)
    again = SettingsResource(**config).get()
    for name in CONFIG_FIELDS:
        assert getattr(again, name) == getattr(settings, name), name
    assert again.thresholds == Thresholds(max_drop=0.5)
    assert again.landing_dir == Path("/srv/effekt/landing")
    assert again.dagster_home == Path("/srv/effekt/dagster")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("EFFEKT_WRITER_LOCK_TIMEOUT", "soon"), ("EFFEKT_SECONDARY_SUPPRESSION", "maybe"),
     ("EFFEKT_DBT_THREADS", "0"), ("EFFEKT_GATE_MAX_DROP", "-0.1")],
)  # fmt: skip
def test_a_setting_that_cannot_be_read_is_refused_by_its_name(variable, value):
    with pytest.raises(ValueError, match=f"{variable}='{value}'"):
        Settings.from_env({variable: value})


def test_resource_config_wins_over_the_environment():
    env = {"EFFEKT_DATA_DIR": "/from/env", "EFFEKT_UI_URL": "http://env", "DAGSTER_HOME": "/h"}
    settings = Settings.from_env(env, data_dir="/from/config")
    assert settings.data_dir == Path("/from/config")
    assert settings.landing_dir == Path("/from/config/landing")
    assert settings.ui_url == "http://env" and settings.dagster_home == Path("/h")


def test_the_daily_job_runs_on_resource_config_alone(operated):
    """No EFFEKT_* variable and no DAGSTER_HOME: the daily job, run in-process (the session's
    `operated` run, started so), finds everything from its resource config, and writes nothing
    outside the data folder (not even ./data in the working directory)."""
    settings, run_id = operated.settings, operated.run.run_id
    assert operated.environment == []
    assert not any(operated.workdir.iterdir())  # the default folder ./data was never used
    assert sorted(p.name for p in settings.data_dir.parent.iterdir()) == ["data", "pseudonym.key"]
    written = {p.name for p in settings.data_dir.iterdir()}
    assert {"landing", "raw", "warehouse", "dagster", "reports", "published", "logs",
            "state", "dbt", ".locks"} <= written  # fmt: skip
    assert (settings.published_current / "indicators.duckdb").exists()
    assert settings.run_reports_dir(run_id).is_dir()
    # The run got its settings as resource config, as Dagster stored it (secrets never are).
    with operated.instance() as instance:
        stored = instance.get_run_by_id(run_id).run_config
    config = stored["resources"]["settings"]["config"]
    assert config["data_dir"] == str(settings.data_dir.resolve())
    assert config["pseudonym_key_file"] == str(settings.pseudonym_key_file.resolve())
    assert not {"pseudonym_key", "alert_webhook"} & set(config)
