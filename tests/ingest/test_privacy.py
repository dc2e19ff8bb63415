"""No CPR number outside the raw layer: not in a table, a log line or a file the pipeline writes."""

import logging

import dagster as dg
import duckdb

from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.ingest.assets import PseudonymKey, ingest_deliveries
from orchestration.resources import SettingsResource
from orchestration.warehouse import BUILD_ARGS, run_dbt
from tests.ingest.conftest import KEY, drop
from tests.privacy_scan import files_with_cpr
from tests.privacy_scan import tables_matching as tables_with_cpr


def test_no_cpr_number_leaves_the_raw_layer(settings, generated, monkeypatch, caplog, capsys):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY", KEY.decode())
    delivery = generated(citizens=600, defects=0.02)
    drop(settings, delivery.path)
    # The delivery carries CPR numbers in its CPR columns and, as real ones do, in free text.
    assert files_with_cpr(settings.landing_dir, skip=[])

    result = dg.materialize(
        [ingest_deliveries],
        resources={
            "settings": (given := SettingsResource(data_dir=str(settings.data_dir))),
            "pseudonym_key": PseudonymKey(settings=given),
        },
    )
    assert result.success
    dbt_output = run_dbt(settings, BUILD_ARGS)

    # The scanners find what is in the raw layer, so finding nothing elsewhere means something.
    raw_hits = tables_with_cpr(settings.raw_database)
    assert {"raw.citizens.cpr", "raw.goal_followups.comment", "raw.quarantine.record"} <= set(
        raw_hits
    )

    assert tables_with_cpr(settings.warehouse) == {}
    assert files_with_cpr(settings.data_dir, skip=[settings.raw_dir, settings.landing_dir]) == []
    event_text = "\n".join(f"{e.message} {e.event_specific_data}" for e in result.all_events)
    assert not CPR_IN_TEXT.search(event_text)
    assert not CPR_IN_TEXT.search(dbt_output)
    captured = capsys.readouterr()
    assert not CPR_IN_TEXT.search(caplog.text + captured.out + captured.err)
    # Staging keeps the citizens, as pseudonyms.
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    assert con.execute("select count(*) from staging.stg_citizens").fetchone()[0] > 500
    con.close()
