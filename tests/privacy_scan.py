"""Scanners for CPR numbers and secrets in what the pipeline writes, shared by the privacy tests.

Binary formats are read by their decoded values, not their bytes: a compressed Parquet page or a
DuckDB block can hold any run of digits by chance (a slice of a hex pseudonym, say), which says
nothing about its content.
"""

from __future__ import annotations

import re
from pathlib import Path

import dbt.task.docs
import duckdb

from orchestration.contract.cpr import CPR_IN_TEXT, CPR_IN_TEXT_SQL
from orchestration.reporting.factsheets import PLOTLY_BUNDLE

# plotly.js is written beside the fact sheets; its hash constants look like numbers of any kind.
PLOTLY_JS = PLOTLY_BUNDLE.read_text(encoding="utf-8")
# dbt's documentation page: its own JavaScript (an MD5 routine's constants look like CPR
# numbers) around the project's manifest and catalogue, which dbt writes in where these stand.
DBT_DOCS_PAGE = (
    (Path(dbt.task.docs.__file__).parent / "index.html").read_text(encoding="utf-8").strip()
)
DBT_DOCS_PARTS = re.split('"(?:MANIFEST|CATALOG).JSON INLINE DATA"', DBT_DOCS_PAGE)


def _ours(text: str) -> str:
    """A file's text without what a library wrote (plotly.js, dbt's page): what is left came
    from the data."""
    for vendored in sorted((PLOTLY_JS, *DBT_DOCS_PARTS), key=len, reverse=True):
        text = text.replace(vendored, "")
    return text


def _columns_matching(con: duckdb.DuckDBPyConnection, relations: list[tuple[str, str]],
                      pattern: str) -> dict[str, int]:  # fmt: skip
    """Rows per (relation, column) whose value, cast to text, matches the RE2 pattern."""
    hits = {}
    for relation, label in relations:
        for (column,) in con.execute(
            f"select column_name from (describe select * from {relation})"
        ).fetchall():
            (n,) = con.execute(
                f'select count(*) from {relation} where regexp_matches(cast("{column}" as varchar), ?)',
                [pattern],
            ).fetchone()
            if n:
                hits[f"{label}.{column}"] = n
    return hits


def tables_matching(database: Path, pattern: str = CPR_IN_TEXT_SQL) -> dict[str, int]:
    """Every column of every table in a DuckDB file, cast to text, searched for the pattern
    (CPR-like numbers unless told otherwise)."""
    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute(
            "select table_catalog, table_schema, table_name from information_schema.tables"
        ).fetchall()
        relations = [(f'"{c}"."{s}"."{t}"', f"{s}.{t}") for c, s, t in tables]
        return _columns_matching(con, relations, pattern)
    finally:
        con.close()


def parquet_matching(path: Path, pattern: str = CPR_IN_TEXT_SQL) -> dict[str, int]:
    """Every column of a Parquet file, cast to text, searched for the pattern."""
    con = duckdb.connect()
    try:
        return _columns_matching(con, [(f"read_parquet('{path}')", path.name)], pattern)
    finally:
        con.close()


def files_with_cpr(root: Path, skip: list[Path]) -> list[str]:
    """Every file below root, except those under skip: DuckDB and Parquet by their values, the
    rest as text (without the vendored plotly.js and dbt's documentation page around the data)."""
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(path.is_relative_to(s) for s in skip):
            continue
        if path.suffix == ".duckdb":
            hit = tables_matching(path)
        elif path.suffix == ".wal":
            continue  # a DuckDB write-ahead log is checkpointed into its .duckdb file on close
        elif path.suffix == ".parquet":
            hit = parquet_matching(path)
        else:
            text = path.read_bytes().decode("utf-8", errors="replace")
            hit = CPR_IN_TEXT.search(_ours(text))
        if hit:
            found.append(str(path.relative_to(root)))
    return found


def files_with_secret(root: Path, secret: bytes, skip: list[Path]) -> list[str]:
    """Files below root holding the secret: as bytes, and in DuckDB and Parquet by their values."""
    pattern = re.escape(secret.decode())
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or any(path.is_relative_to(s) for s in skip):
            continue
        hit = secret in path.read_bytes()
        if path.suffix == ".duckdb":
            hit = hit or bool(tables_matching(path, pattern))
        elif path.suffix == ".parquet":
            hit = hit or bool(parquet_matching(path, pattern))
        if hit:
            found.append(str(path.relative_to(root)))
    return found
