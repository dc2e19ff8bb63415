"""What each published table and column means, as the dbt project's YAML documents it.

BI tools (Power BI, Excel, Qlik, Tableau) show a database's table and column comments as field
descriptions, so every published table carries the description of the dbt model or seed it comes
from. The open tables are the indicator models as disclosure control leaves them: they have the
indicator model's columns and descriptions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from orchestration.warehouse import ensure_manifest

# Published schema -> the warehouse schema whose dbt nodes describe its tables.
DESCRIBED_BY = {"indicators": "indicators", "codes": "codes", "marts": "marts"}


@dataclass(frozen=True)
class TableDescription:
    text: str
    columns: dict[str, str]  # column name -> its description


def published_descriptions(manifest: Path | None = None) -> dict[tuple[str, str], TableDescription]:
    """(schema, table) -> its description, for every model and seed in the published schemas."""
    nodes = json.loads(ensure_manifest(manifest).read_text(encoding="utf-8"))["nodes"]
    described = {}
    for node in nodes.values():
        if node["resource_type"] not in ("model", "seed"):
            continue
        for published, schema in DESCRIBED_BY.items():
            if node["config"].get("schema") == schema:
                described[(published, node["name"])] = TableDescription(
                    _clean(node["description"]),
                    {name: _clean(c["description"]) for name, c in node["columns"].items()},
                )
    return described


def undocumented(
    tables: dict[tuple[str, str], list[str]], described: dict[tuple[str, str], TableDescription]
) -> list[str]:
    """Published tables and columns without a description: `schema.table` or `schema.table.column`."""
    missing = []
    for (schema, table), columns in sorted(tables.items()):
        description = described.get((schema, table))
        if description is None or not description.text:
            missing.append(f"{schema}.{table}")
            continue
        missing += [
            f"{schema}.{table}.{c}" for c in columns if not description.columns.get(c)
        ]  # fmt: skip
    return missing


def comment_sql(kind: str, name: str, text: str) -> str:
    """`comment on <kind> <name> is '<text>'`, quoted for DuckDB and PostgreSQL alike."""
    return f"comment on {kind} {name} is '{text.replace(chr(39), chr(39) * 2)}'"


def comment_statements(
    table: str, description: TableDescription | None, columns: Iterable[str]
) -> list[str]:
    """The comments on a table and on those of its `columns` the description covers, for
    DuckDB and PostgreSQL alike (column names quoted)."""
    if description is None:
        return []
    have = set(columns)
    return [comment_sql("table", table, description.text)] + [
        comment_sql("column", f'{table}."{column}"', text)
        for column, text in description.columns.items()
        if column in have
    ]


def _clean(text: str) -> str:
    """One paragraph: YAML's folded lines joined, surrounding space trimmed."""
    return " ".join((text or "").split())
