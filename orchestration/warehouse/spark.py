"""The raw layer for the Spark engine: its tables as Parquet, which Spark reads.

Spark cannot open the raw layer's DuckDB file, so before a build on Spark every table the dbt
sources name (dbt_project/models/staging/_sources.yml) is written as Parquet into
`Settings.spark_sources_dir`, one folder per table; dbt's on-run-start hook
(macros/spark.sql, `register_raw_sources`) registers each folder as a table of the schema `raw`,
so that the models' `source('raw', ...)` read the same rows on both engines. The folder is below
the restricted raw folder by default: the files hold CPR numbers, as the raw layer does.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import duckdb
import yaml

from orchestration.settings import Settings

SOURCES_YAML = Path(__file__).resolve().parents[2] / "dbt_project/models/staging/_sources.yml"
# In the exported folder: the state of the raw layer's files it was exported from.
EXPORTED_FROM = ".exported-from"


def raw_source_tables() -> list[str]:
    """The raw layer's tables and views that the dbt project reads, as its sources list them."""
    spec = yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))
    return [t["name"] for s in spec["sources"] if s["name"] == "raw" for t in s["tables"]]


def export_raw_sources(settings: Settings) -> Path:
    """Write each raw source table as Parquet into `settings.spark_sources_dir/<table>/`; the
    folder is written beside and renamed into place, so a build never reads half of it. JSON
    columns are written as text (Spark's `get_json_object` reads text). Nothing is written when
    the folder was exported from the raw layer as it is (its file and write-ahead log
    unchanged since)."""
    target = settings.spark_sources_dir
    state = _raw_layer_state(settings)
    if (target / EXPORTED_FROM).exists() and (target / EXPORTED_FROM).read_text() == state:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    os.chmod(scratch, 0o700)  # CPR numbers, as in the raw layer: owner only
    try:
        with duckdb.connect(str(settings.raw_database), read_only=True) as raw:
            for table in raw_source_tables():
                columns = raw.execute(
                    "select column_name, data_type from information_schema.columns "
                    "where table_schema = 'raw' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                select = ", ".join(
                    f'cast("{name}" as varchar) as "{name}"' if kind == "JSON" else f'"{name}"'
                    for name, kind in columns
                )
                (scratch / table).mkdir()
                raw.execute(
                    f"copy (select {select} from raw.{table}) "
                    f"to '{scratch / table / 'part-0.parquet'}' (format parquet)"
                )
        (scratch / EXPORTED_FROM).write_text(state)
        if target.exists():
            old = target.with_name(f".{target.name}-old")
            shutil.rmtree(old, ignore_errors=True)
            os.replace(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.replace(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target


def _raw_layer_state(settings: Settings) -> str:
    """The raw layer's file and write-ahead log, by size and time of last change."""
    parts = []
    for path in (settings.raw_database, settings.raw_database.with_name("raw_layer.duckdb.wal")):
        if path.exists():
            stat = path.stat()
            parts.append(f"{path.name} {stat.st_size} {stat.st_mtime_ns}")
    return "\n".join(parts)


def spark_table_files(settings: Settings, schema: str, table: str) -> list[str]:
    """The Parquet files of a table the local Spark built (its warehouse folder's layout)."""
    folder = settings.spark_dir / "tables" / f"{schema}.db" / table
    return sorted(str(p) for p in folder.glob("*.parquet"))
