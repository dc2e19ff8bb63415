"""The ingest as Dagster runs it: assets, job, sensor, and refusing to start without a key."""

import dagster as dg
import pytest

from orchestration.automation import landing_sensor
from orchestration.definitions import defs
from orchestration.ingest.assets import (
    ENTITY_SPECS,
    LOG_SPECS,
    IngestConfig,
    PseudonymKey,
    ingest_deliveries,
)
from orchestration.resources import SettingsResource
from tests.ingest.conftest import KEY, drop


def _resources(settings):
    given = SettingsResource(data_dir=str(settings.data_dir))
    return {"settings": given, "pseudonym_key": PseudonymKey(settings=given)}


def test_definitions_load_with_one_asset_per_entity_in_the_ingest_group():
    keys = {k.to_user_string() for k in defs.resolve_all_asset_keys()}
    assert {f"raw/{e}" for e in ("citizens", "cases", "goals", "goal_followups")} <= keys
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["raw", "citizens"])).group_name == "ingest"
    assert graph.get(dg.AssetKey(["raw", "quarantine"])).group_name == "quality"


def test_materialising_loads_the_delivery_and_reports_row_counts(settings, generated, monkeypatch):
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY", KEY.decode())
    delivery = generated(defects=0.02)
    drop(settings, delivery.path)
    result = dg.materialize([ingest_deliveries], resources=_resources(settings))
    assert result.success
    materialised = {
        m.asset_key.to_user_string(): m.metadata
        for m in result.asset_materializations_for_node("ingest_deliveries")
    }
    assert set(materialised) == {s.key.to_user_string() for s in ENTITY_SPECS + LOG_SPECS}
    # one per entity, quarantine, ingest log, deliveries, current delivery (of any
    # municipality, and each municipality's), pseudonyms
    assert len(materialised) == 11 + 6  # every entity (cost files too, empty) and the logs
    citizens = materialised["raw/citizens"]
    read, loaded, quarantined = (
        citizens[k].value for k in ("rows_read", "rows_loaded", "rows_quarantined")
    )
    assert read == loaded + quarantined and quarantined > 0
    assert delivery.path.name in materialised["raw/ingest_log"]["deliveries"].value


def test_no_new_delivery_materialises_nothing(settings, monkeypatch):
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY", KEY.decode())
    result = dg.materialize([ingest_deliveries], resources=_resources(settings))
    assert result.success
    assert result.asset_materializations_for_node("ingest_deliveries") == []


def test_a_refused_delivery_fails_the_run_naming_the_file(settings, generated, monkeypatch):
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY", KEY.decode())
    drop(settings, generated(file_defects=("missing_column",)).path)
    result = dg.materialize(
        [ingest_deliveries], resources=_resources(settings), raise_on_error=False
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert "cases.csv" in str(failure.event_specific_data.error.message)
    assert "refusal.json" in str(failure.event_specific_data.error.message)


def test_without_a_key_the_run_refuses_to_start(settings, generated, monkeypatch):
    monkeypatch.delenv("EFFEKT_PSEUDONYM_KEY", raising=False)
    monkeypatch.delenv("EFFEKT_PSEUDONYM_KEY_FILE", raising=False)
    folder = drop(settings, generated().path)
    with pytest.raises(dg.DagsterResourceFunctionError) as refused:
        dg.materialize([ingest_deliveries], resources=_resources(settings))
    assert "EFFEKT_PSEUDONYM_KEY" in str(refused.value.user_exception)
    assert folder.exists()  # nothing was touched
    assert not settings.raw_database.exists()


def test_the_sensor_requests_one_run_per_new_delivery_and_none_on_the_next_tick(
    settings, generated, monkeypatch
):
    monkeypatch.setenv("EFFEKT_DATA_DIR", str(settings.data_dir))  # a sensor's settings
    settings.landing_dir.mkdir(parents=True)
    context = dg.build_sensor_context()
    assert [r for r in landing_sensor(context) if isinstance(r, dg.RunRequest)] == []
    delivery = generated()
    drop(settings, delivery.path)
    (settings.landing_dir / "still-copying").mkdir()  # no manifest yet: not complete
    context = dg.build_sensor_context(cursor=context.cursor)
    requests = [r for r in landing_sensor(context) if isinstance(r, dg.RunRequest)]
    assert len(requests) == 1
    assert landing_sensor.job_name == "daily_refresh"
    assert requests[0].run_key.startswith(delivery.path.name)
    config = requests[0].run_config["ops"]["ingest_deliveries"]["config"]
    assert IngestConfig(**config).delivery == delivery.path.name
    context = dg.build_sensor_context(cursor=context.cursor)
    assert [r for r in landing_sensor(context) if isinstance(r, dg.RunRequest)] == []
