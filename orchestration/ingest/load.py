"""Load deliveries into the restricted raw layer: all or nothing, nothing lost, nothing twice.

A delivery moves landing -> processing -> archive (accepted) or quarantine (refused), each move a
rename. Its rows load in one DuckDB transaction into `raw_layer.duckdb`, rows breaking the
contract into `raw.quarantine` with their reasons, and per file rows read = loaded + quarantined
into `raw.ingest_log`. A delivery already loaded changes nothing.

The raw layer keeps a history, not a copy per delivery: each delivery is numbered (`seq`, in
extract order) and compared with the current state by key and content. `raw.changes` records what
was new, changed or gone, and `raw.<entity>` holds one row per *version* with the deliveries it was
first and last seen in (`_first_seq`, `_last_seq`, null while it is current), as dbt snapshots keep
a slowly changing dimension. The state as of any delivery is `state_as_of_sql`. A delivery whose
extract is older than the current one arrives too late to be part of the history: it is checked,
archived and recorded as `superseded`, and changes nothing else.

One raw layer can hold several municipalities (contract 1.2 names a delivery's municipality; an
earlier delivery is the one `EFFEKT_MUNICIPALITY_CODE` names, or none). Each municipality has a
history of its own: a delivery is compared with, supersedes and closes versions of its own
municipality only (`_municipality_code` on every version), while `seq` counts every municipality's
deliveries together, so one number orders all loads.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.contract import codelist_values, file_sha256, load_contract
from orchestration.ingest.contract_checks import install_macros, read_and_check
from orchestration.ingest.delivery import DeliveryRefused, Manifest, read_manifest
from orchestration.ingest.landing import complete_deliveries
from orchestration.ingest.pseudonyms import pseudonymise
from orchestration.settings import Settings

log = logging.getLogger(__name__)

SQL_TYPES = {
    "cpr": "varchar", "string": "varchar", "code": "varchar", "text": "varchar",
    "integer": "bigint", "decimal": "double", "date": "date",
}  # fmt: skip
RAW = "raw_layer.raw"  # the raw schema as the ingest's in-memory work connection sees it


class ReconciliationError(RuntimeError):
    """Rows read did not equal rows loaded plus rows quarantined: nothing was committed."""


class IngestSettingError(ValueError):
    """A setting the ingest cannot work with: nothing was read, the delivery waits in processing."""


@dataclass(frozen=True)
class FileReconciliation:
    entity: str
    file: str
    rows_read: int
    rows_loaded: int
    rows_quarantined: int
    sha256: str

    @property
    def balances(self) -> bool:
        return self.rows_read == self.rows_loaded + self.rows_quarantined


@dataclass(frozen=True)
class IngestResult:
    delivery_id: str
    status: str  # "loaded", "already_loaded" or "superseded"
    extract_time: str
    archive_path: Path
    files: list[FileReconciliation] = field(default_factory=list)
    warnings: dict[str, int] = field(default_factory=dict)

    def rows(self, entity: str) -> FileReconciliation | None:
        return next((f for f in self.files if f.entity == entity), None)


def raw_ddl(raw: str = "raw") -> str:
    """The raw layer's tables; created once, never dropped by the pipeline."""
    contract = load_contract()
    parts = [
        f"create schema if not exists {raw}",
        f"""create table if not exists {raw}.deliveries (
            delivery_id varchar primary key, source_system varchar, extract_time timestamptz,
            manifest_sha256 varchar, archive_path varchar, loaded_at timestamptz,
            rows_read bigint, rows_loaded bigint, rows_quarantined bigint)""",
        # The delivery's place in the history (null when superseded) and its status:
        # `loaded` (part of the history) or `superseded` (arrived after a newer extract).
        f"alter table {raw}.deliveries add column if not exists seq integer",
        f"alter table {raw}.deliveries add column if not exists status varchar default 'loaded'",
        # When its delivered files were deleted from the archive (EFFEKT_ARCHIVE_KEEP_DAYS).
        f"alter table {raw}.deliveries add column if not exists archive_pruned_at timestamptz",
        # The municipality whose history it belongs to (contract 1.2; null: not named).
        f"alter table {raw}.deliveries add column if not exists municipality_code varchar",
        f"""create table if not exists {raw}.ingest_log (
            delivery_id varchar, entity varchar, file varchar, rows_read bigint,
            rows_loaded bigint, rows_quarantined bigint, sha256 varchar, loaded_at timestamptz)""",
        f"""create table if not exists {raw}.quarantine (
            delivery_id varchar, entity varchar, source_file varchar, source_row bigint,
            key varchar, reason varchar, all_reasons varchar[], columns varchar[], record json)""",
        f"""create table if not exists {raw}.warnings (
            delivery_id varchar, entity varchar, column_name varchar, reason varchar, rows bigint)""",
        f"""create table if not exists {raw}.citizen_pseudonyms (
            cpr varchar primary key, citizen_key varchar not null, birth_year integer,
            sex varchar, is_replacement_number boolean)""",
        # What each delivery changed against the one before it (by extract time): per entity
        # and key, a row that is new, changed (same key, other content) or gone.
        f"""create table if not exists {raw}.changes (
            delivery_id varchar, previous_delivery_id varchar, entity varchar, key varchar,
            change varchar)""",
        # The delivery loaded last, of any municipality: what the warehouse was last changed by.
        f"""create or replace view {raw}.current_delivery as
            select delivery_id, extract_time, seq from {raw}.deliveries where status = 'loaded'
            order by seq desc limit 1""",
        # Each municipality's current delivery: its history's state is that delivery's.
        f"""create or replace view {raw}.current_deliveries as
            select municipality_code, delivery_id, extract_time, seq from {raw}.deliveries
            where status = 'loaded'
            qualify row_number() over (partition by municipality_code order by seq desc) = 1""",
    ]
    for name, entity in contract.entities.items():
        parts.append(f"create table if not exists {raw}.{name} ({version_columns(entity)})")
        # Appended, as on a raw layer made before it: the same column order either way.
        parts.append(
            f"alter table {raw}.{name} add column if not exists _municipality_code varchar"
        )
    return ";\n".join(parts)


def version_columns(entity) -> str:
    """A raw entity's columns: where the version was first delivered (delivery, file, row), the
    hash of its content, the deliveries it was first and last seen in, the typed record, and its
    municipality."""
    columns = ", ".join(f'"{c.name}" {SQL_TYPES[c.type]}' for c in entity.columns)
    return (
        "_delivery_id varchar, _source_file varchar, _source_row bigint, _row_hash varchar, "
        f"_first_seq integer, _last_seq integer, {columns}, _municipality_code varchar"
    )


def state_as_of_sql(entity: str, delivery_id_sql: str, raw: str = "raw") -> str:
    """The rows of `entity` as delivery `delivery_id_sql` (a SQL expression) delivered them: its
    municipality's history as of that delivery."""
    delivery = f"from {raw}.deliveries where delivery_id = {delivery_id_sql}"
    seq = f"(select seq {delivery})"
    return (
        f"select * from {raw}.{entity} where _first_seq <= {seq} "
        f"and (_last_seq is null or _last_seq >= {seq}) "
        f"and _municipality_code is not distinct from (select municipality_code {delivery})"
    )


@contextmanager
def raw_connection(
    settings: Settings, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The raw layer's DuckDB file itself, created with owner-only permissions."""
    _restrict(settings)
    con = duckdb.connect(str(settings.raw_database), read_only=read_only)
    try:
        if not read_only:
            _prepare(con, "raw")
        yield con
    finally:
        con.close()


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    """All or nothing: commit when the block ends, roll back when anything (even an interrupt)
    stops it."""
    con.execute("begin transaction")
    try:
        yield
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _prepare(con, raw: str) -> None:
    """Create or bring the raw layer to the current layout, all or nothing: a failed upgrade
    leaves the old layout as it was."""
    with _transaction(con):
        con.execute(raw_ddl(raw))
        upgrade_full_copies(con, raw)


def upgrade_raw_layer(settings: Settings) -> None:
    """Bring an existing raw layer to the current layout (see `upgrade_full_copies`), so readers
    find it current even on a run with no new delivery."""
    if settings.raw_database.exists():
        with raw_connection(settings):
            pass


@contextmanager
def _work_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """In-memory DuckDB for reading and checking, with the raw layer attached as `raw_layer`.

    Work tables live in memory, capped at EFFEKT_INGEST_MEMORY_LIMIT and spilling into the
    restricted raw folder past it, so the one transaction that writes the raw layer holds only
    the rows to keep and a large delivery does not take the machine.
    """
    _restrict(settings)
    spill = settings.spill_dir
    con = duckdb.connect()
    try:
        con.execute(f"set temp_directory = '{spill}'")
        try:
            con.execute("set memory_limit = ?", [settings.ingest_memory_limit])
        except duckdb.Error as exc:
            raise IngestSettingError(
                f"EFFEKT_INGEST_MEMORY_LIMIT={settings.ingest_memory_limit!r} is not a size "
                f"DuckDB understands (e.g. 3GB, 512MB, 80%): {exc}"
            ) from None
        con.execute(f"attach '{settings.raw_database}' as raw_layer")
        _prepare(con, RAW)
        install_macros(con)
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
        if settings.raw_database.exists():  # not yet when the connection failed to set up
            os.chmod(settings.raw_database, 0o600)


def _restrict(settings: Settings) -> None:
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.raw_dir, 0o700)


def pending_deliveries(settings: Settings) -> list[Path]:
    """Complete deliveries (manifest present) in landing, and any left in processing by a crash,
    oldest extract first."""
    folders = complete_deliveries(settings.processing_dir) + complete_deliveries(
        settings.landing_dir
    )
    return sorted(folders, key=lambda p: (_extract_time(p), p.name))


def _extract_time(folder: Path) -> str:
    try:
        return str(json.loads((folder / "manifest.json").read_text("utf-8"))["extract_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""  # unreadable manifests come first and are refused with a message


def ingest_delivery(settings: Settings, folder: Path, key: bytes) -> IngestResult:
    """Take one delivery folder (in landing or processing) all the way to archive or quarantine.

    Raises DeliveryRefused (the folder is then in quarantine with refusal.json) or
    ReconciliationError or IngestSettingError (left in processing; nothing committed).
    """
    for d in (settings.processing_dir, settings.archive_dir, settings.quarantine_dir):
        d.mkdir(parents=True, exist_ok=True)
    landed_as = folder.name  # the folder's own name, which the manifest's id may not match
    try:
        manifest = read_manifest(folder)
    except DeliveryRefused as refusal:
        _refuse(settings, folder, folder.name, refusal, landed_as)
        raise
    processing = settings.processing_dir / manifest.delivery_id
    if folder.resolve() != processing.resolve():
        if processing.exists():
            raise RuntimeError(
                f"{processing} exists: a run for delivery {manifest.delivery_id} is under way "
                "or was interrupted; run the ingest again to finish it"
            )
        folder.rename(processing)
    manifest_sha = file_sha256(processing / "manifest.json")
    with _work_connection(settings) as con:
        known = con.execute(
            f"select manifest_sha256, extract_time::varchar, archive_pruned_at "
            f"from {RAW}.deliveries where delivery_id = ?",
            [manifest.delivery_id],
        ).fetchone()
        if known is not None:
            return _already_loaded(settings, processing, manifest, manifest_sha, known, landed_as)
        try:
            result = _load(con, processing, manifest, manifest_sha, settings, key)
        except DeliveryRefused as refusal:
            _refuse(settings, processing, manifest.delivery_id, refusal, landed_as)
            raise
    _archive(processing, settings.archive_dir / manifest.delivery_id, manifest)
    return result


def _load(con, folder, manifest: Manifest, manifest_sha, settings, key) -> IngestResult:
    contract = load_contract()
    archive_path = settings.archive_dir / manifest.delivery_id
    loaded_at = dt.datetime.now(dt.UTC)
    delivery = read_and_check(con, folder, manifest, schema="load")
    rows_read, checked = delivery.rows_read, delivery.checked
    con.execute(
        "create or replace temp table bad_rows as select entity, source_row, "
        "list(reason order by list_position(?, reason)) as all_reasons, "
        "list(distinct column_name) as columns from load.findings group by 1, 2",
        [list(contract.reasons)],
    )
    municipality = _municipality(manifest, settings)
    current = con.execute(
        f"select delivery_id, (extract_time, delivery_id) > (?::timestamptz, ?) "
        f"from {RAW}.current_deliveries where municipality_code is not distinct from ?",
        [manifest.extract_time, manifest.delivery_id, municipality],
    ).fetchone()
    if current is not None and current[1]:
        return _supersede(
            con, manifest, manifest_sha, archive_path, loaded_at, rows_read, current[0],
            municipality,
        )  # fmt: skip
    previous_id = current[0] if current else None
    (seq,) = con.execute(f"select coalesce(max(seq), 0) + 1 from {RAW}.deliveries").fetchone()
    with _transaction(con):
        files = []
        for name, entity in contract.entities.items():
            spec = manifest.spec(name)
            typed = ", ".join(f'"{c.name}__v" as "{c.name}"' for c in entity.columns)
            # A view (no parameters allowed): apply_delivery makes the one keyed copy of it.
            source_file = spec.file.replace("'", "''")
            con.execute(
                f"create or replace temp view incoming as select '{source_file}' as _source_file, "
                f"source_row as _source_row, {typed} from chk.{name} "
                f"where source_row not in (select source_row from bad_rows where entity = '{name}')"
            )
            con.execute(
                f"insert into {RAW}.quarantine select ?, ?, ?, r.source_row, r._key, "
                f"b.all_reasons[1], b.all_reasons, b.columns, {_record_expr(entity)} "
                f"from (select * exclude (source_row), source_row, "
                f"{_key_expr(entity)} as _key from load.{name}) r "
                f"join bad_rows b on b.entity = ? and b.source_row = r.source_row",
                [manifest.delivery_id, name, spec.file, name],
            )
            apply_delivery(
                con, name, entity, "incoming", manifest.delivery_id, seq, previous_id,
                municipality=municipality,
            )  # fmt: skip
            if name == "citizens":
                _add_pseudonyms(con, key)
            # What the history holds as current after the merge: every row read is in it or in
            # quarantine, or nothing is committed.
            (loaded,) = con.execute(
                f"select count(*) from {RAW}.{name} where _last_seq is null "
                "and _municipality_code is not distinct from ?",
                [municipality],
            ).fetchone()
            (quarantined,) = con.execute(
                f"select count(*) from {RAW}.quarantine where delivery_id = ? and entity = ?",
                [manifest.delivery_id, name],
            ).fetchone()
            files.append(
                FileReconciliation(
                    name, spec.file, rows_read[name], loaded, quarantined, spec.sha256
                )
            )
        # Checked for every entity (one left out must have had its rows closed), logged for
        # the delivered files only.
        unbalanced = [f for f in files if not f.balances]
        files = [f for f in files if manifest.delivered(f.entity)]
        if unbalanced:
            raise ReconciliationError(
                "rows read != loaded + quarantined for "
                + ", ".join(
                    f"{f.file} ({f.rows_read} != {f.rows_loaded} + {f.rows_quarantined})"
                    for f in unbalanced
                )
            )
        con.executemany(
            f"insert into {RAW}.ingest_log values (?, ?, ?, ?, ?, ?, ?, ?)",
            [[manifest.delivery_id, f.entity, f.file, f.rows_read, f.rows_loaded,
              f.rows_quarantined, f.sha256, loaded_at] for f in files],
        )  # fmt: skip
        warnings = {f"{e}.{c}:{r}": n for (e, c, r), n in checked.warnings.items() if n}
        con.executemany(
            f"insert into {RAW}.warnings values (?, ?, ?, ?, ?)",
            [[manifest.delivery_id, e, c, r, n] for (e, c, r), n in checked.warnings.items() if n],
        )
        _record_delivery(
            con, manifest, manifest_sha, archive_path, loaded_at, seq, "loaded",
            sum(f.rows_read for f in files), sum(f.rows_loaded for f in files),
            sum(f.rows_quarantined for f in files), municipality,
        )  # fmt: skip
    log.info(
        "delivery %s loaded: %s rows, %s quarantined",
        manifest.delivery_id, sum(f.rows_loaded for f in files), sum(f.rows_quarantined for f in files),
    )  # fmt: skip
    return IngestResult(
        manifest.delivery_id, "loaded", manifest.extract_time, archive_path, files, warnings
    )


def _municipality(manifest: Manifest, settings: Settings) -> str | None:
    """The delivery's municipality: its manifest's (contract 1.2), else the installation's."""
    if manifest.municipality_code is not None:
        return manifest.municipality_code
    code = settings.municipality_code
    if code is not None and code not in codelist_values(
        load_contract().municipality_field["codelist"]
    ):
        raise IngestSettingError(
            f"EFFEKT_MUNICIPALITY_CODE={code!r} is not a Danish municipality's three-digit code "
            "(orchestration/contract/codelists/municipalities.csv)"
        )
    return code


def _record_delivery(
    con, manifest: Manifest, manifest_sha, archive_path, loaded_at, seq, status, read, loaded,
    quarantined, municipality: str | None,
) -> None:  # fmt: skip
    con.execute(
        f"insert into {RAW}.deliveries (delivery_id, source_system, extract_time, manifest_sha256, "
        "archive_path, loaded_at, rows_read, rows_loaded, rows_quarantined, seq, status, "
        "archive_pruned_at, municipality_code) values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, ?)",
        [manifest.delivery_id, manifest.source_system, manifest.extract_time, manifest_sha,
         str(archive_path), loaded_at, read, loaded, quarantined, seq, status, municipality],
    )  # fmt: skip


def _supersede(
    con, manifest: Manifest, manifest_sha, archive_path, loaded_at, rows_read, current_id,
    municipality: str | None,
) -> IngestResult:  # fmt: skip
    """Record a delivery whose extract is older than the current one: checked and archived, but
    too late to be part of the history, so no row of it is merged and nothing else changes."""
    _record_delivery(  # one insert: a transaction of its own
        con, manifest, manifest_sha, archive_path, loaded_at, None, "superseded",
        sum(rows_read.values()), 0, 0, municipality,
    )  # fmt: skip
    log.warning(
        "delivery %s (extract %s) is older than the current delivery %s: archived as superseded, "
        "not merged into the history",
        manifest.delivery_id, manifest.extract_time, current_id,
    )  # fmt: skip
    return IngestResult(manifest.delivery_id, "superseded", manifest.extract_time, archive_path)


def apply_delivery(
    con,
    name: str,
    entity,
    incoming: str,
    delivery_id: str,
    seq: int,
    previous_id: str | None,
    raw: str = RAW,
    municipality: str | None = None,
) -> None:
    """Merge one entity's accepted rows (the table or view `incoming`) into its history as
    delivery `seq`, against the current versions of the delivery's municipality only.

    By key against the current versions: a key with the same content stays open, a key with new
    content closes its version at `seq - 1` and opens a new one, a key that is gone closes, a new
    key opens. What changed is recorded in `raw.changes`. One copy of the delivery (keyed and
    hashed), one join, and writes in proportion to the changes, not to the delivery; an entity
    with no current versions (a first load) needs no join: every row is an insert.
    """
    key = _typed_key_expr(entity)
    content = "md5(cast(json_object(" + ", ".join(
        f"'{c.name}', \"{c.name}\"" for c in entity.columns) + ") as varchar))"  # fmt: skip
    columns = ", ".join(f'"{c.name}"' for c in entity.columns)
    # Rows are compared with the current versions column by column; the stored hash of a
    # version's content is worked out only for the versions opened (hashing every delivered
    # row's JSON took 5 of a daily delivery's 19 s at tier M).
    differs = " or ".join(f'new."{c.name}" is distinct from old."{c.name}"' for c in entity.columns)
    con.execute(
        f"create or replace temp table incoming_keyed as select {key} as _key, * from {incoming}"
    )
    # The contract's duplicate check compares the key as delivered ("7" and "07"); rows are
    # listed only for a key found twice (listing them for every key took 6 s at tier M).
    twice = con.execute(
        "select any_value(_source_file), list(_source_row order by _source_row)[:5] "
        "from incoming_keyed where _key = (select _key from incoming_keyed group by _key "
        "having count(*) > 1 limit 1)"
    ).fetchone()
    if twice[1]:
        raise DeliveryRefused(
            "ambiguous_key", twice[0],
            f"records {twice[1]} have the same {', '.join(entity.key)} once typed "
            "(e.g. 7 and 07); the case system must deliver each key once",
        )  # fmt: skip
    # The municipality's current versions (a literal: no parameters in a view or table's query).
    code = "null" if municipality is None else "'" + municipality.replace("'", "''") + "'"
    current = f"_last_seq is null and _municipality_code is not distinct from {code}"
    (has_current,) = con.execute(
        f"select count(*) > 0 from (select 1 from {raw}.{name} where {current} limit 1)"
    ).fetchone()
    if has_current:
        con.execute(
            f"""create or replace temp table entity_changes as
            select coalesce(new._key, old._key) as key,
                case when old._key is null then 'insert' when new._key is null then 'delete'
                    else 'update' end as change
            from incoming_keyed as new
            full join (select {key} as _key, {columns} from {raw}.{name} where {current}) as old
                on old._key = new._key
            where old._key is null or new._key is null or {differs}"""
        )
        changes = "select key, change from entity_changes"
        opened = "where _key in (select key from entity_changes where change <> 'delete')"
    else:  # nothing current (a first load): every row is an insert, no join needed
        changes, opened = "select _key, 'insert' from incoming_keyed", ""
    con.execute(
        f"insert into {raw}.changes select ?, ?, ?, * from ({changes})",
        [delivery_id, previous_id, name],
    )
    if has_current:
        con.execute(
            f"update {raw}.{name} set _last_seq = ? where {current} and {key} in "
            "(select key from entity_changes where change <> 'insert')",
            [seq - 1],
        )
    con.execute(
        f"insert into {raw}.{name} select ?, _source_file, _source_row, {content}, ?, null, "
        f"{columns}, {code} from incoming_keyed {opened}",
        [delivery_id, seq],
    )


def upgrade_full_copies(con, raw: str) -> None:
    """Turn a raw layer written before the history (a full copy of every entity per delivery,
    tagged `_delivery_id`) into the history: replayed delivery by delivery in extract order, as
    if each had been loaded now, inside the caller's transaction (`_prepare`). Nothing to do on
    a current raw layer."""
    contract = load_contract()
    database, schema = raw.split(".") if "." in raw else (None, raw)
    catalog = f"and table_catalog = '{database}'" if database else ""
    old = [
        name
        for name in contract.entities
        if not con.execute(
            "select 1 from information_schema.columns where table_schema = ? and table_name = ? "
            f"and column_name = '_first_seq' {catalog}",
            [schema, name],
        ).fetchall()
    ]
    if not old:
        return
    log.warning("raw layer holds a full copy per delivery: replaying it as a history, once")
    for name in old:
        con.execute(f"alter table {raw}.{name} rename to {name}__copies")
        con.execute(f"create table {raw}.{name} ({version_columns(contract.entities[name])})")
    deliveries = con.execute(
        f"select delivery_id from {raw}.deliveries order by extract_time, delivery_id"
    ).fetchall()
    previous = None
    for seq, (delivery_id,) in enumerate(deliveries, start=1):
        con.execute(
            f"update {raw}.deliveries set seq = ?, status = 'loaded' where delivery_id = ?",
            [seq, delivery_id],
        )
        for name in old:
            entity = contract.entities[name]
            columns = ", ".join(f'"{c.name}"' for c in entity.columns)
            con.execute(
                f"create or replace temp table incoming as select _source_file, _source_row, "
                f"{columns} from {raw}.{name}__copies where _delivery_id = ?",
                [delivery_id],
            )
            apply_delivery(con, name, entity, "incoming", delivery_id, seq, previous, raw)
        previous = delivery_id
    for name in old:
        con.execute(f"drop table {raw}.{name}__copies")


def _record_expr(entity) -> str:
    """The row as delivered, as JSON: what a data engineer needs to get it fixed at the source."""
    return "json_object(" + ", ".join(f"'{c.name}', r.\"{c.name}\"" for c in entity.columns) + ")"


def _key_expr(entity) -> str:
    return " || '|' || ".join(f"coalesce(trim(\"{k}\"), '')" for k in entity.key)


def _typed_key_expr(entity) -> str:
    """A typed row's key as one text, as `raw.changes` records it."""
    return " || '|' || ".join(f"coalesce(cast(\"{k}\" as varchar), '')" for k in entity.key)


def _add_pseudonyms(con, key: bytes) -> None:
    """Pseudonyms and derived attributes for the delivery's citizens not yet in the map."""
    cprs = [
        cpr
        for (cpr,) in con.execute(
            "select distinct cpr from incoming "
            f"where cpr not in (select cpr from {RAW}.citizen_pseudonyms) order by cpr"
        ).fetchall()
    ]
    if not cprs:
        return
    keyed = pa.table({"cpr": cprs, "citizen_key": pseudonymise(key, cprs)})
    con.register("new_keys", keyed)
    con.execute(
        f"""insert into {RAW}.citizen_pseudonyms
           select cpr, citizen_key, year(cpr_birth_date(cpr)),
                  case when cpr_digit(cpr, 10) % 2 = 1 then 'M' else 'F' end,
                  cpr_digit(cpr, 1) * 10 + cpr_digit(cpr, 2) > 60
           from new_keys"""
    )
    con.unregister("new_keys")


def _already_loaded(
    settings, processing: Path, manifest: Manifest, manifest_sha, known, landed_as: str
) -> IngestResult:
    archive = settings.archive_dir / manifest.delivery_id
    if known[0] != manifest_sha:
        refusal = DeliveryRefused(
            "delivery_conflict", "manifest.json",
            f"delivery {manifest.delivery_id} was loaded before with a different manifest",
        )  # fmt: skip
        _refuse(settings, processing, manifest.delivery_id, refusal, landed_as)
        raise refusal
    if archive.exists() or known[2] is not None:
        shutil.rmtree(processing)  # an identical copy is archived already (or was, and pruned)
        log.info("delivery %s was loaded before; the new copy is discarded", manifest.delivery_id)
    else:  # a crash came between commit and archiving: finish the move now
        _archive(processing, archive, manifest)
    return IngestResult(manifest.delivery_id, "already_loaded", known[1], archive)


def prune_archive(
    settings: Settings, keep: Iterable[str] = (), now: dt.datetime | None = None
) -> list[str]:
    """Delete delivered files loaded more than `settings.archive_keep_days` ago, never those of
    a current delivery (one per municipality) or of `keep` (the published ones), nor a superseded delivery's
    (its only copy). Their rows stay in the history; `raw.deliveries.archive_pruned_at` records
    when the files went. Returns the ids."""
    if settings.archive_keep_days is None or not settings.raw_database.exists():
        return []
    cutoff = (now or dt.datetime.now(dt.UTC)) - dt.timedelta(days=settings.archive_keep_days)
    with raw_connection(settings) as con:
        due = con.execute(
            "select delivery_id from raw.deliveries where loaded_at < ? and status = 'loaded' "
            "and archive_pruned_at is null and not list_contains(?::varchar[], delivery_id) "
            "and delivery_id not in (select delivery_id from raw.current_deliveries) "
            "order by loaded_at",
            [cutoff, list(keep)],
        ).fetchall()
        pruned = []
        for (delivery_id,) in due:
            folder = settings.archive_dir / delivery_id
            if folder.is_dir():
                folder.chmod(stat.S_IRWXU)  # archived read-only; deleting needs the folder's w
                shutil.rmtree(folder)
            con.execute(
                "update raw.deliveries set archive_pruned_at = ? where delivery_id = ?",
                [dt.datetime.now(dt.UTC), delivery_id],
            )
            pruned.append(delivery_id)
    if pruned:
        log.info(
            "archive: deleted the delivered files of %s (older than %s days)",
            ", ".join(pruned), settings.archive_keep_days,
        )  # fmt: skip
    return pruned


def _archive(processing: Path, archive: Path, manifest: Manifest) -> None:
    """Move into the archive, write the checksums beside the files, make it all read-only."""
    lines = [f"{spec.sha256}  {spec.file}" for spec in manifest.files.values()]
    lines.append(f"{file_sha256(processing / 'manifest.json')}  manifest.json")
    (processing / "checksums.sha256").write_text("\n".join(lines) + "\n", encoding="utf-8")
    processing.rename(archive)
    for path in archive.iterdir():
        path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    archive.chmod(stat.S_IRUSR | stat.S_IXUSR | stat.S_IRGRP | stat.S_IXGRP)


def _refuse(
    settings: Settings, folder: Path, delivery_id: str, refusal: DeliveryRefused, landed_as: str
) -> Path:
    """Move a refused delivery to quarantine with refusal.json saying why and which folder it was."""
    settings.quarantine_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    target = settings.quarantine_dir / f"{delivery_id}_{stamp}"
    folder.rename(target)
    (target / "refusal.json").write_text(
        json.dumps(
            {"delivery_id": delivery_id, "refused_at": stamp, "folder": landed_as,
             "landing_dir": str(settings.landing_dir), **refusal.as_dict()},
            indent=2, ensure_ascii=False,
        ) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    refusal.quarantine_path = target
    refusal.delivery_id, refusal.folder = delivery_id, landed_as
    log.error("delivery %s refused: %s; moved to %s", delivery_id, refusal, target)
    return target
