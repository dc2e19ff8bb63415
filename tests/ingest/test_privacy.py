"""No CPR number outside the raw layer: not in a table, a log line or a file the pipeline writes."""

import logging
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.contract.cpr import CPR_IN_TEXT, CPR_IN_TEXT_SQL
from orchestration.ingest.assets import ingest_deliveries
from orchestration.resources import EffektSettings, PseudonymKey
from orchestration.warehouse import BUILD_ARGS, run_dbt
from tests.ingest.conftest import KEY, drop


def tables_with_cpr(database: Path) -> dict[str, int]:
    """Every column of every table, cast to text, searched for CPR-like numbers."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        columns = con.execute(
            "select table_catalog, table_schema, table_name, column_name from information_schema.columns"
        ).fetchall()
        hits = {}
        for catalog, schema, table, column in columns:
            (n,) = con.execute(
                f'select count(*) from "{catalog}"."{schema}"."{table}" '
                f'where regexp_matches(cast("{column}" as varchar), ?)',
                [CPR_IN_TEXT_SQL],
            ).fetchone()
            if n:
                hits[f"{schema}.{table}.{column}"] = n
        return hits
    finally:
        con.close()


def files_with_cpr(root: Path, skip: list[Path]) -> list[str]:
    """Text of every file below root; DuckDB files are searched column by column instead."""
    found = []
    for path in root.rglob("*"):
        skipped = any(path.is_relative_to(s) for s in skip) or path.suffix in (".duckdb", ".wal")
        if (
            path.is_file()
            and not skipped
            and CPR_IN_TEXT.search(path.read_bytes().decode("latin-1"))
        ):
            found.append(str(path.relative_to(root)))
    return found


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
            "effekt": EffektSettings(data_dir=str(settings.data_dir)),
            "pseudonym_key": PseudonymKey(),
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
