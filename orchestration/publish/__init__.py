"""Write-audit-publish: copy a validated build into a new version and switch to it atomically.

    published/
      current -> versions/20191001T020000123456Z     (a symlink, replaced in one rename)
      versions/<version>/
        indicators.duckdb      open: ind_* tables (disclosure-controlled, warehouse schema
                               `open`) and the code lists with labels
        marts.duckdb           restricted (owner only): dim_* and fct_* tables
        parquet/indicators/*.parquet, parquet/marts/*.parquet (restricted)
        manifest.json          version, run id, time, deliveries used, row counts, checks,
                               accepted drops

A version is written under versions/.incoming-<version> and renamed into place only when
complete, then `current` is switched with os.replace. A publish killed part-way leaves `current`
on the previous version; the next run removes the leftovers. BI tools open
published/current/indicators.duckdb read-only; a reader that opened the previous version keeps
reading it, because versions are never changed and the last `keep` are kept.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.disclosure import OPEN_SCHEMA
from orchestration.files import atomic_folder, remove_incoming
from orchestration.publish.descriptions import (
    TableDescription,
    comment_statements,
    published_descriptions,
)
from orchestration.publish.postgres import postgres_target, publish_to_postgres
from orchestration.settings import Settings
from orchestration.tables import OPEN_TABLES, RESTRICTED_MARTS
from orchestration.warehouse import docs_site

OPEN_SCHEMAS = ("indicators", "codes")
RESTRICTED_SCHEMA = "marts"
DOCS_SITE = "docs/index.html"  # in a version's folder


class PublishRefused(RuntimeError):
    """The build may not be published (the gate did not pass for this run)."""


@dataclass(frozen=True)
class PublishedVersion:
    version: str
    path: Path
    manifest: dict


def current_version(settings: Settings) -> Path | None:
    current = settings.published_current
    return current.resolve() if current.exists() else None


def published_deliveries(settings: Settings) -> dict[str | None, str]:
    """Per municipality (None: unnamed, before contract 1.2), the delivery that was current in
    the published version, from its manifest (one entry in a version of one municipality)."""
    version = current_version(settings)
    manifest = version / "manifest.json" if version else None
    if manifest is None or not manifest.exists():
        return {}
    deliveries = json.loads(manifest.read_text(encoding="utf-8")).get("deliveries", [])
    return {d.get("municipality_code"): d["delivery_id"] for d in deliveries if d.get("is_current")}


def published_delivery(settings: Settings, municipality_code: str | None = None) -> str | None:
    """The municipality's delivery that was current in the published version."""
    return published_deliveries(settings).get(municipality_code)


def publish(
    settings: Settings, run_id: str, gate_summary: dict, keep: int | None = None,
    on_table: Callable[[str], None] | None = None,
) -> PublishedVersion:  # fmt: skip
    """Publish the warehouse as a new version; refuse unless the gate passed. The newest `keep`
    versions (default: the settings' published_keep) stay, older ones are deleted."""
    if not gate_summary.get("passed"):
        raise PublishRefused(f"the quality gate of run {run_id} did not pass; nothing is published")
    root = settings.published_dir
    versions = root / "versions"
    versions.mkdir(parents=True, exist_ok=True)
    remove_incoming(versions)
    version = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = versions / version
    on_table = on_table or (lambda _table: None)
    described = published_descriptions()
    with atomic_folder(final, fsync=True) as incoming:
        postgres = postgres_target(settings)  # refuses a connection string it cannot read
        row_counts = _write_files(settings, incoming, described, on_table)
        write_docs_site(settings, incoming / DOCS_SITE)
        manifest = {
            "version": version,
            "run_id": run_id,
            "published_at": dt.datetime.now(dt.UTC).isoformat(),
            "deliveries": _deliveries(settings),
            "row_counts": row_counts,
            "checks": {k: gate_summary[k] for k in ("passed", "errors", "warnings")}
            | {
                # what the delivery gate compared with
                "delivery_baseline": gate_summary.get("baseline"),
                # which rows the row-level suites validated, under which rules (their digest)
                "row_level": gate_summary.get("row_level"),
                "failures": [
                    f"{f['suite']}: {f['column']} ({f['severity']})"
                    for f in gate_summary.get("failures", [])
                ],
            },
            # drops an operator checked and accepted (effekt accept) that let this version through
            "acceptances": gate_summary.get("acceptances", []),
            # what the disclosure audit checked before this version was let through
            "disclosure_audit": gate_summary.get("disclosure_audit"),
            # Where this version is published: the files here, and PostgreSQL when configured.
            "targets": {
                "duckdb": {"version": version},
                "postgresql": postgres and postgres | {"version": version},
            },
            "files": {
                "open": "indicators.duckdb",
                "restricted": "marts.duckdb",
                "parquet": ["parquet/indicators", "parquet/marts"],
                # dbt's documentation: every model and column, the lineage, the fact sheets
                "docs": DOCS_SITE,
            },
        }
        (incoming / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        # Last, PostgreSQL: loaded and switched in one transaction, so a failure there publishes
        # nothing anywhere; the files follow at once (a kill between the two leaves PostgreSQL
        # one version ahead until the next publish).
        if postgres:
            publish_to_postgres(settings, version, incoming, described, on_table)
    _switch(root, final)
    _prune(versions, keep or settings.published_keep, final)
    return PublishedVersion(version, final, manifest)


def write_docs_site(settings: Settings, page: Path) -> None:
    """The dbt project's documentation site for this version, as one page that opens offline:
    models, columns and their descriptions, the lineage from the raw layer to each published
    table and to the fact sheets (exposures). Made once per state of the project
    (warehouse.docs_site)."""
    page.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(docs_site(settings), page)


def _write_files(
    settings: Settings, target: Path, described: dict[tuple[str, str], TableDescription],
    on_table: Callable[[str], None],
) -> dict[str, int]:  # fmt: skip
    con = duckdb.connect()
    counts = {}
    try:
        con.execute(f"attach '{settings.warehouse}' as wh (read_only)")
        con.execute(f"attach '{target / 'indicators.duckdb'}' as open_file")
        con.execute(f"attach '{target / 'marts.duckdb'}' as restricted_file")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'wh' and table_schema in (?, 'codes', 'marts') order by 1, 2",
            [OPEN_SCHEMA],
        ).fetchall()
        # The tables listed in orchestration/tables.py, and every code list.
        listed = {(OPEN_SCHEMA, t) for t in OPEN_TABLES} | {
            (RESTRICTED_SCHEMA, t) for t in RESTRICTED_MARTS
        }
        if missing := sorted(f"{s}.{t}" for s, t in listed - set(tables)):
            # The indicators dbt built hold primary suppression only: never publish those.
            raise PublishRefused(
                f"the published tables {', '.join(missing)} are missing from the warehouse; "
                "nothing is published"
            )
        tables = [(s, t) for s, t in tables if s == "codes" or (s, t) in listed]
        for schema, table in tables:
            published = "indicators" if schema == OPEN_SCHEMA else schema
            database = "restricted_file" if schema == RESTRICTED_SCHEMA else "open_file"
            target_schema = "main" if schema in (OPEN_SCHEMA, "marts") else schema
            con.execute(f"create schema if not exists {database}.{target_schema}")
            con.execute(
                f"create table {database}.{target_schema}.{table} as select * from wh.{schema}.{table}"
            )
            _describe(con, f"{database}.{target_schema}.{table}", described.get((published, table)))
            if schema != "codes":
                folder = target / "parquet" / ("indicators" if schema == OPEN_SCHEMA else schema)
                folder.mkdir(parents=True, exist_ok=True)
                con.execute(
                    f"copy wh.{schema}.{table} to '{folder / table}.parquet' (format parquet)"
                )
            name = f"{published}.{table}"
            (counts[name],) = con.execute(f"select count(*) from wh.{schema}.{table}").fetchone()
            on_table(name)
        con.execute("detach open_file")
        con.execute("detach restricted_file")
    finally:
        con.close()
    os.chmod(target / "marts.duckdb", 0o600)
    os.chmod(target / "parquet" / "marts", 0o700)
    return counts


def _describe(
    con: duckdb.DuckDBPyConnection, table: str, description: TableDescription | None
) -> None:
    """The table's and its columns' descriptions from the dbt YAML, as comments BI tools show."""
    columns = [c for (c,) in con.execute(f"select column_name from (describe {table})").fetchall()]
    for statement in comment_statements(table, description, columns):
        con.execute(statement)


def _deliveries(settings: Settings) -> list[dict]:
    """Every delivery in the raw layer; `is_current` marks each municipality's current one."""
    con = duckdb.connect(str(settings.raw_database), read_only=True)
    try:
        rows = con.execute(
            "select delivery_id, municipality_code, cast(extract_time as varchar), rows_loaded, "
            "rows_quarantined, "
            "delivery_id in (select delivery_id from raw.current_deliveries), status "
            "from raw.deliveries order by extract_time, seq"
        ).fetchall()
    finally:
        con.close()
    return [
        {
            "delivery_id": d,
            "municipality_code": m,
            "extract_time": t,
            "rows_loaded": loaded,
            "rows_quarantined": q,
            "is_current": c,
            "status": status,
        }
        for d, m, t, loaded, q, c, status in rows
    ]


def _switch(root: Path, version_dir: Path) -> None:
    """Point `current` at the new version in one rename; readers see the old or the new."""
    link = root / ".current.tmp"
    if link.is_symlink() or link.exists():
        link.unlink()
    link.symlink_to(version_dir.relative_to(root))
    os.replace(link, root / "current")
    fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _prune(versions: Path, keep: int, current: Path) -> None:
    done = sorted((p for p in versions.iterdir() if not p.name.startswith(".")), reverse=True)
    for old in done[max(keep, 2) :]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
