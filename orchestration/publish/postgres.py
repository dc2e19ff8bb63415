"""The PostgreSQL publication target: where BI tools (Power BI, Excel, Qlik, Tableau, SAS) connect.

Each published version is loaded into two new schemas, `<prefix>_incoming_open` and
`<prefix>_incoming_restricted`, and switched in by renaming them to `<prefix>_open` and
`<prefix>_restricted` in the same transaction as the load, so a reader sees the old version or the
new one, never a mix, and a publish that fails or is killed part way leaves nothing behind but a
rolled-back transaction. Before renaming, the switch takes an exclusive lock on every table of the
current version without waiting (NOWAIT): while a reader's transaction holds one of them it backs
off and tries again, so a reader who has read one table of a version goes on reading that version
until the transaction ends. The version before stays as `<prefix>_previous_open` and
`<prefix>_previous_restricted` until the next switch.

The open schema holds the indicators and the code lists and is readable by `<prefix>_open_reader`;
the restricted schema holds the marts and is readable by `<prefix>_restricted_reader` only (who
reads the open schema too). Table and column comments come from the dbt YAML
(publish.descriptions); `<prefix>_open.publication` names the version.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.publish.descriptions import TableDescription, comment_sql, comment_statements
from orchestration.settings import Settings

log = logging.getLogger(__name__)

# DuckDB's published types as PostgreSQL's (the published tables use the first six).
PG_TYPES = {
    "VARCHAR": "text", "BIGINT": "bigint", "INTEGER": "integer", "DOUBLE": "double precision",
    "DATE": "date", "BOOLEAN": "boolean", "SMALLINT": "smallint", "TINYINT": "smallint",
    "FLOAT": "real", "HUGEINT": "numeric(39, 0)", "TIMESTAMP": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamptz",
}  # fmt: skip
RETRY_S = 0.5  # between attempts to take the current version's tables


class PostgresPublishError(RuntimeError):
    """The PostgreSQL target was not updated; the version it held before stays current."""


@dataclass(frozen=True)
class Schemas:
    prefix: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,40}", self.prefix):
            raise PostgresPublishError(
                f"EFFEKT_POSTGRES_SCHEMA_PREFIX={self.prefix!r}: lower-case letters, digits and _ "
                "only, starting with a letter or _"
            )

    @property
    def open(self) -> str:
        return f"{self.prefix}_open"

    @property
    def restricted(self) -> str:
        return f"{self.prefix}_restricted"

    def incoming(self, schema: str) -> str:
        return schema.replace(self.prefix, f"{self.prefix}_incoming", 1)

    def previous(self, schema: str) -> str:
        return schema.replace(self.prefix, f"{self.prefix}_previous", 1)

    @property
    def open_reader(self) -> str:
        return f"{self.prefix}_open_reader"

    @property
    def restricted_reader(self) -> str:
        return f"{self.prefix}_restricted_reader"


def postgres_target(settings: Settings) -> dict | None:
    """Where the PostgreSQL target is, without credentials, for the manifest; None when no
    target is configured. A connection string that cannot be read is refused without quoting
    it (it may hold a password)."""
    dsn = settings.postgres_connection()
    if dsn is None:
        return None
    from psycopg.conninfo import conninfo_to_dict

    try:
        parts = conninfo_to_dict(dsn)
    except Exception:
        raise PostgresPublishError(
            "the PostgreSQL connection string (EFFEKT_POSTGRES_DSN or EFFEKT_POSTGRES_DSN_FILE) "
            "cannot be read; nothing was published"
        ) from None
    schemas = Schemas(settings.postgres_schema_prefix)
    return {
        "host": parts.get("host"), "port": parts.get("port"), "dbname": parts.get("dbname"),
        "schemas": {"open": schemas.open, "restricted": schemas.restricted},
        "roles": {"open": schemas.open_reader, "restricted": schemas.restricted_reader},
    }  # fmt: skip


def publish_to_postgres(
    settings: Settings, version: str, folder: Path,
    descriptions: dict[tuple[str, str], TableDescription],
    on_table: Callable[[str], None] = lambda _table: None,
) -> None:  # fmt: skip
    """Load the version's files (in `folder`) into PostgreSQL and switch them in, in one
    transaction; nothing when no target is configured."""
    dsn = settings.postgres_connection()
    if dsn is None:
        return
    import psycopg

    schemas = Schemas(settings.postgres_schema_prefix)
    try:
        with psycopg.connect(dsn) as pg, pg.transaction():
            _roles(pg, schemas)
            _load(pg, schemas, folder, descriptions, version, on_table)
            _switch(pg, schemas, settings.postgres_switch_timeout)
    except psycopg.Error as e:
        raise PostgresPublishError(
            f"PostgreSQL target not updated ({_first_line(e)}); it holds the version it held "
            "before, and nothing was published"
        ) from None


def _roles(pg, schemas: Schemas) -> None:
    """The two reader roles (without login: grant them to the BI tools' users)."""
    for role in (schemas.open_reader, schemas.restricted_reader):
        exists = pg.execute("select 1 from pg_roles where rolname = %s", [role]).fetchone()
        if not exists:
            pg.execute(f'create role "{role}" nologin')


def _load(pg, schemas: Schemas, folder: Path, descriptions, version: str, on_table) -> None:
    """Create the incoming schemas and copy every published table into them, with comments."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{folder / 'indicators.duckdb'}' as open_file (read_only)")
        con.execute(f"attach '{folder / 'marts.duckdb'}' as restricted_file (read_only)")
        places = [
            ("open_file", "main", schemas.open, "indicators"),
            ("open_file", "codes", schemas.open, "codes"),
            ("restricted_file", "main", schemas.restricted, "marts"),
        ]
        for schema in (schemas.open, schemas.restricted):
            pg.execute(f"drop schema if exists {schemas.incoming(schema)} cascade")
            pg.execute(f"create schema {schemas.incoming(schema)}")
        for database, source_schema, target, described_as in places:
            tables = con.execute(
                "select table_name from duckdb_tables() where database_name = ? "
                "and schema_name = ? order by 1",
                [database, source_schema],
            ).fetchall()
            for (table,) in tables:
                name = f"{schemas.incoming(target)}.{table}"
                columns = _copy_table(pg, con, f"{database}.{source_schema}.{table}", name, folder)
                for statement in comment_statements(
                    name, descriptions.get((described_as, table)), columns
                ):
                    pg.execute(statement)
                on_table(f"postgresql {target}.{table}")
    finally:
        con.close()
    open_in, restricted_in = (schemas.incoming(s) for s in (schemas.open, schemas.restricted))
    pg.execute(
        f"create table {open_in}.publication as select %s::text as version, now() as published_at",
        [version],
    )
    pg.execute(comment_sql("table", f"{open_in}.publication", "The version these tables are."))
    for schema, readers in ((open_in, (schemas.open_reader, schemas.restricted_reader)),
                            (restricted_in, (schemas.restricted_reader,))):  # fmt: skip
        for role in readers:
            pg.execute(f'grant usage on schema {schema} to "{role}"')
            pg.execute(f'grant select on all tables in schema {schema} to "{role}"')


def _copy_table(
    pg, con: duckdb.DuckDBPyConnection, source: str, target: str, folder: Path
) -> list[str]:
    """One table: created with PostgreSQL's types, rows streamed as CSV (NULL unquoted, an empty
    text quoted, doubles in their shortest exact form). Returns its columns."""
    columns = con.execute(f"select column_name, column_type from (describe {source})").fetchall()
    definition = ", ".join(f'"{c}" {_pg_type(t, source, c)}' for c, t in columns)
    pg.execute(f"create table {target} ({definition})")
    # Inside the version's folder being written (removed with it if the publish is killed), and
    # readable by the pipeline only: it may hold restricted rows.
    scratch = folder / ".postgres-copy.csv"
    scratch.touch(mode=0o600)
    try:
        con.execute(f"copy {source} to '{scratch}' (format csv, header false)")
        with (
            pg.cursor().copy(f"copy {target} from stdin (format csv)") as copy,
            scratch.open("rb") as rows,
        ):
            while block := rows.read(1 << 20):
                copy.write(block)
    finally:
        scratch.unlink(missing_ok=True)
    return [c for c, _ in columns]


def _pg_type(duckdb_type: str, table: str, column: str) -> str:
    if duckdb_type.startswith("DECIMAL"):
        return duckdb_type.replace("DECIMAL", "numeric").lower()
    if duckdb_type not in PG_TYPES:
        raise PostgresPublishError(f"{table}.{column}: no PostgreSQL type for {duckdb_type}")
    return PG_TYPES[duckdb_type]


def _switch(pg, schemas: Schemas, timeout_s: float) -> None:
    """Rename the incoming schemas into place once no reader holds a table of the current ones."""
    current = [s for s in (schemas.open, schemas.restricted) if _exists(pg, s)]
    # The current version's tables, and the previous version's, which the switch drops: a
    # reader still on either is waited for, never made to wait behind the switch.
    held = current + [schemas.previous(s) for s in (schemas.open, schemas.restricted)]
    tables = [
        f"{schema}.{table}"
        for schema in held
        for (table,) in pg.execute(
            "select tablename from pg_tables where schemaname = %s", [schema]
        ).fetchall()
    ]
    _lock_all(pg, tables, timeout_s)
    for schema in (schemas.open, schemas.restricted):
        pg.execute(f"drop schema if exists {schemas.previous(schema)} cascade")
        if schema in current:
            pg.execute(f"alter schema {schema} rename to {schemas.previous(schema)}")
        pg.execute(f"alter schema {schemas.incoming(schema)} rename to {schema}")


def _lock_all(pg, tables: list[str], timeout_s: float) -> None:
    """Every table locked exclusively until the transaction ends: taken without waiting (in a
    savepoint, so a refusal gives back what it took) and tried again while a reader holds one,
    so no reader ever waits behind a half-taken set of locks."""
    import psycopg

    deadline = time.monotonic() + timeout_s
    while tables:
        try:
            with pg.transaction():  # a savepoint; released, its locks stay with the transaction
                pg.execute(f"lock table {', '.join(tables)} in access exclusive mode nowait")
            return
        except psycopg.errors.LockNotAvailable:
            if time.monotonic() > deadline:
                raise PostgresPublishError(
                    f"readers held the published tables for more than {timeout_s:.0f} s "
                    "(EFFEKT_POSTGRES_SWITCH_TIMEOUT); the previous version stays current"
                ) from None
            log.info("a reader holds the published tables: trying again")
            time.sleep(RETRY_S)


def _exists(pg, schema: str) -> bool:
    return bool(pg.execute("select 1 from pg_namespace where nspname = %s", [schema]).fetchone())


def _first_line(error: Exception) -> str:
    return (str(error).strip().splitlines() or [type(error).__name__])[0]
