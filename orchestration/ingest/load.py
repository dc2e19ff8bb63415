"""Load deliveries into the restricted raw layer: all or nothing, nothing lost, nothing twice.

A delivery moves landing -> processing -> archive (accepted) or quarantine (refused), each move a
rename. Its rows load in one DuckDB transaction into `raw_layer.duckdb`: accepted rows into
`raw.<entity>` (typed, with delivery, source file and row), rows breaking the contract into
`raw.quarantine` with their reasons, and per file rows read = loaded + quarantined into
`raw.ingest_log`. A delivery already loaded changes nothing; the newest extract is the current
state, older ones stay queryable by `_delivery_id`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import shutil
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from orchestration.contract import load_contract
from orchestration.generate.writer import sha256
from orchestration.ingest.contract_checks import check_delivery, install_macros
from orchestration.ingest.delivery import DeliveryRefused, Manifest, load_raw, read_manifest
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
    status: str  # "loaded" or "already_loaded"
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
        f"""create or replace view {raw}.current_delivery as
            select delivery_id, extract_time from {raw}.deliveries
            order by extract_time desc, delivery_id desc limit 1""",
    ]
    for name, entity in contract.entities.items():
        columns = ", ".join(f'"{c.name}" {SQL_TYPES[c.type]}' for c in entity.columns)
        parts.append(
            f"create table if not exists {raw}.{name} (_delivery_id varchar, _source_file varchar, "
            f"_source_row bigint, {columns})"
        )
    return ";\n".join(parts)


@contextmanager
def raw_connection(
    settings: Settings, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """The raw layer's DuckDB file itself, created with owner-only permissions."""
    _restrict(settings)
    con = duckdb.connect(str(settings.raw_database), read_only=read_only)
    try:
        if not read_only:
            con.execute(raw_ddl())
        yield con
    finally:
        con.close()


@contextmanager
def _work_connection(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    """In-memory DuckDB for reading and checking, with the raw layer attached as `raw_layer`.

    Work tables live in memory (spilling into the restricted raw folder), so the one
    transaction that writes the raw layer holds only the rows to keep.
    """
    _restrict(settings)
    spill = settings.raw_dir / "tmp"
    con = duckdb.connect()
    try:
        con.execute(f"set temp_directory = '{spill}'")
        con.execute(f"attach '{settings.raw_database}' as raw_layer")
        con.execute(raw_ddl(RAW))
        install_macros(con)
        yield con
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
        os.chmod(settings.raw_database, 0o600)


def _restrict(settings: Settings) -> None:
    settings.raw_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(settings.raw_dir, 0o700)


def pending_deliveries(settings: Settings) -> list[Path]:
    """Complete deliveries (manifest present) in landing, and any left in processing by a crash,
    oldest extract first."""
    folders = []
    for parent in (settings.processing_dir, settings.landing_dir):
        if parent.is_dir():
            folders += [p for p in parent.iterdir() if (p / "manifest.json").is_file()]
    return sorted(folders, key=lambda p: (_extract_time(p), p.name))


def _extract_time(folder: Path) -> str:
    try:
        return str(json.loads((folder / "manifest.json").read_text("utf-8"))["extract_time"])
    except (OSError, ValueError, KeyError, TypeError):
        return ""  # unreadable manifests come first and are refused with a message


def ingest_delivery(settings: Settings, folder: Path, key: bytes) -> IngestResult:
    """Take one delivery folder (in landing or processing) all the way to archive or quarantine.

    Raises DeliveryRefused (the folder is then in quarantine with refusal.json) or
    ReconciliationError (left in processing; nothing committed).
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
    manifest_sha = sha256(processing / "manifest.json")
    with _work_connection(settings) as con:
        known = con.execute(
            f"select manifest_sha256, extract_time::varchar from {RAW}.deliveries where delivery_id = ?",
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
    rows_read = load_raw(con, folder, manifest, schema="load")
    checked = check_delivery(con, manifest, raw_schema="load")
    con.execute(
        "create or replace temp table bad_rows as select entity, source_row, "
        "list(reason order by list_position(?, reason)) as all_reasons, "
        "list(distinct column_name) as columns from load.findings group by 1, 2",
        [list(contract.reasons)],
    )
    previous = con.execute(
        f"select delivery_id from {RAW}.deliveries where extract_time < ? "
        "order by extract_time desc, delivery_id desc limit 1",
        [manifest.extract_time],
    ).fetchone()
    con.execute("begin transaction")
    try:
        files = []
        for name, entity in contract.entities.items():
            spec = manifest.files[name]
            typed = ", ".join(f'"{c.name}__v" as "{c.name}"' for c in entity.columns)
            con.execute(
                f"insert into {RAW}.{name} select ?, ?, source_row, {typed} from chk.{name} "
                f"where source_row not in (select source_row from bad_rows where entity = ?)",
                [manifest.delivery_id, spec.file, name],
            )
            con.execute(
                f"insert into {RAW}.quarantine select ?, ?, ?, r.source_row, r._key, "
                f"b.all_reasons[1], b.all_reasons, b.columns, {_record_expr(entity)} "
                f"from (select * exclude (source_row), source_row, "
                f"{_key_expr(entity)} as _key from load.{name}) r "
                f"join bad_rows b on b.entity = ? and b.source_row = r.source_row",
                [manifest.delivery_id, name, spec.file, name],
            )
            _record_changes(con, name, entity, manifest.delivery_id, previous and previous[0])
            (loaded,) = con.execute(
                f"select count(*) from {RAW}.{name} where _delivery_id = ?", [manifest.delivery_id]
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
        unbalanced = [f for f in files if not f.balances]
        if unbalanced:
            raise ReconciliationError(
                "rows read != loaded + quarantined for "
                + ", ".join(
                    f"{f.file} ({f.rows_read} != {f.rows_loaded} + {f.rows_quarantined})"
                    for f in unbalanced
                )
            )
        _add_pseudonyms(con, manifest.delivery_id, key)
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
        con.execute(
            f"insert into {RAW}.deliveries values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [manifest.delivery_id, manifest.source_system, manifest.extract_time, manifest_sha,
             str(archive_path), loaded_at, sum(f.rows_read for f in files),
             sum(f.rows_loaded for f in files), sum(f.rows_quarantined for f in files)],
        )  # fmt: skip
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise
    log.info(
        "delivery %s loaded: %s rows, %s quarantined",
        manifest.delivery_id, sum(f.rows_loaded for f in files), sum(f.rows_quarantined for f in files),
    )  # fmt: skip
    return IngestResult(
        manifest.delivery_id, "loaded", manifest.extract_time, archive_path, files, warnings
    )


def _record_changes(con, name: str, entity, delivery_id: str, previous: str | None) -> None:
    """The entity's change set: its loaded rows against those of the delivery before, by key
    and content. Against no earlier delivery, every row is new."""
    key = " || '|' || ".join(f"coalesce(cast(\"{k}\" as varchar), '')" for k in entity.key)
    content = "md5(cast(json_object(" + ", ".join(
        f"'{c.name}', \"{c.name}\"" for c in entity.columns) + ") as varchar))"  # fmt: skip
    rows = f"select {key} as key, {content} as content from {RAW}.{name} where _delivery_id = ?"
    con.execute(
        f"""insert into {RAW}.changes
        select ?, ?, ?, coalesce(new.key, old.key),
            case when old.key is null then 'insert' when new.key is null then 'delete'
                else 'update' end
        from ({rows}) as new full join ({rows}) as old on old.key = new.key
        where old.key is null or new.key is null or old.content <> new.content""",
        [delivery_id, previous, name, delivery_id, previous or ""],
    )


def _record_expr(entity) -> str:
    """The row as delivered, as JSON: what a data engineer needs to get it fixed at the source."""
    return "json_object(" + ", ".join(f"'{c.name}', r.\"{c.name}\"" for c in entity.columns) + ")"


def _key_expr(entity) -> str:
    return " || '|' || ".join(f"coalesce(trim(\"{k}\"), '')" for k in entity.key)


def _add_pseudonyms(con, delivery_id: str, key: bytes) -> None:
    """Pseudonyms and derived attributes for citizens not yet in the map."""
    cprs = [
        cpr
        for (cpr,) in con.execute(
            f"select distinct cpr from {RAW}.citizens where _delivery_id = ? "
            f"and cpr not in (select cpr from {RAW}.citizen_pseudonyms) order by cpr",
            [delivery_id],
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
    if archive.exists():
        shutil.rmtree(processing)  # an identical copy is archived already
        log.info("delivery %s was loaded before; the new copy is discarded", manifest.delivery_id)
    else:  # a crash came between commit and archiving: finish the move now
        _archive(processing, archive, manifest)
    return IngestResult(manifest.delivery_id, "already_loaded", known[1], archive)


def _archive(processing: Path, archive: Path, manifest: Manifest) -> None:
    """Move into the archive, write the checksums beside the files, make it all read-only."""
    lines = [f"{spec.sha256}  {spec.file}" for spec in manifest.files.values()]
    lines.append(f"{sha256(processing / 'manifest.json')}  manifest.json")
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
