"""Fixtures for the ingest: a data folder with landing, and deliveries dropped into it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.contract import load_contract
from orchestration.ingest.load import raw_connection, state_as_of_sql
from orchestration.settings import Settings
from tests.conftest import KEY  # noqa: F401 (the ingest tests import it from here)


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(data_dir=tmp_path / "data")


def drop(settings: Settings, source: Path, name: str | None = None) -> Path:
    """Copy a generated delivery into landing, as a case system would drop it."""
    target = settings.landing_dir / (name or source.name)
    shutil.copytree(source, target)
    return target


@pytest.fixture(scope="session")
def generated(make_delivery):
    """Deliveries of 300 citizens (seed 7) unless told otherwise, generated once per session."""
    return lambda **kwargs: make_delivery(**{"citizens": 300, "seed": 7, **kwargs})


def raw_snapshot(settings: Settings) -> dict[str, str]:
    """A digest of every raw-layer table's content, to show that nothing changed."""
    if not settings.raw_database.exists():
        return {}
    out = {}
    with raw_connection(settings, read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_type = 'BASE TABLE' order by 1, 2"
        ).fetchall()
        for schema, table in tables:
            rows = con.execute(f'select * from "{schema}"."{table}"').fetchall()
            out[f"{schema}.{table}"] = hashlib.sha256(
                repr(sorted(map(repr, rows))).encode()
            ).hexdigest()
    return out


def query(settings: Settings, sql: str, params=None):
    with raw_connection(settings, read_only=True) as con:
        return con.execute(sql, params or []).fetchall()


def next_delivery(source: Path, target: Path, suffix: str, hours: int) -> Path:
    """A copy of a delivery as the case system would send it `hours` later, under its own id."""
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["delivery_id"] = f"{manifest['delivery_id']}-{suffix}"
    at = manifest["extract_time"]
    manifest["extract_time"] = at[:11] + f"{int(at[11:13]) + hours:02d}" + at[13:]
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def rewrite(folder: Path, entity: str, select: str) -> None:
    """Replace an entity's Parquet file by `select` over it (as `t`), and fix the manifest."""
    path = folder / f"{entity}.parquet"
    new = folder / f"{entity}.new.parquet"
    con = duckdb.connect()
    con.execute(f"copy ({select.format(t=repr(str(path)))}) to '{new}' (format parquet)")
    (rows,) = con.execute(f"select count(*) from '{new}'").fetchone()
    con.close()
    new.replace(path)
    refresh_manifest(folder, entity, path, rows)


def refresh_manifest(folder: Path, entity: str, path: Path, rows: int | None = None) -> None:
    """After a test changed a delivered file: its checksum in the manifest, and its row count
    when given, so that the delivery is refused (or not) for what the test planted only."""
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["entity"] == entity:
            entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
            if rows is not None:
                entry["rows"] = rows
    (folder / "manifest.json").write_text(json.dumps(manifest))


def states_as_of(settings: Settings, deliveries: list[str] | None = None) -> dict:
    """Every entity's rows as each delivery (default: every loaded one) held them, without the
    version bookkeeping: what the history says each delivery contained."""
    if deliveries is None:
        deliveries = [d for (d,) in query(settings, "select delivery_id from raw.deliveries where status = 'loaded'")]  # fmt: skip
    out = {}
    for entity in load_contract().entities:
        for d in deliveries:
            rows = query(
                settings,
                f"select * exclude (_delivery_id, _source_file, _source_row, _first_seq, "
                f"_last_seq) from ({state_as_of_sql(entity, repr(d))})",
            )
            out[entity, d] = sorted(map(repr, rows))
    return out
