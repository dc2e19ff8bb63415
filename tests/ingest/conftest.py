"""Fixtures for the ingest: a data folder with landing, and deliveries dropped into it."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest

from orchestration.ingest.load import raw_connection
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
