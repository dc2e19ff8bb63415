"""Read a delivery folder into DuckDB as all-text raw tables, or refuse it as a whole.

File-level problems (missing, empty or unreadable file, wrong encoding, missing column, row count
or checksum not matching the manifest) raise one `DeliveryRefused` listing every such problem in
every file, each naming the file and the column or line. Nothing is parsed or judged row by row
here: that is `contract_checks`' job, in SQL.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.contract import (
    Entity,
    codelist_values,
    contract_version,
    load_contract,
    version_key,
)
from orchestration.contract.cpr import CPR_IN_TEXT

BLOCK = 4 << 20
ISO_DATE = "%Y-%m-%d"


class DeliveryRefused(Exception):
    """The delivery cannot be loaded; `reason` is a file-level reason code of the contract.

    `problems` lists every file-level problem found, each a dict of reason, file and detail;
    `reason`, `file` and `detail` are the first one's, so a caller that names one problem can.
    """

    def __init__(
        self, reason: str, file: str, detail: str, problems: list[dict[str, str]] | None = None
    ) -> None:
        self.problems = problems or [{"reason": reason, "file": file, "detail": detail}]
        super().__init__(
            "; ".join(f"{p['file']}: {p['detail']} [{p['reason']}]" for p in self.problems)
        )
        self.reason, self.file, self.detail = reason, file, detail
        self.quarantine_path: Path | None = None  # set once the delivery is moved there

    @classmethod
    def of(cls, refusals: list[DeliveryRefused]) -> DeliveryRefused:
        """One refusal carrying every problem of `refusals`, the first one's as its own."""
        problems = [p for r in refusals for p in r.problems]
        first = problems[0]
        return cls(first["reason"], first["file"], first["detail"], problems)

    def as_dict(self) -> dict:
        return {
            "reason": self.reason,
            "file": self.file,
            "detail": self.detail,
            "problems": [dict(p) for p in self.problems],
        }


@dataclass(frozen=True)
class FileSpec:
    """One manifest entry, with the CSV dialect the ingest will read it with."""

    entity: str
    file: str
    format: str
    rows: int
    sha256: str
    encoding: str = "utf-8"
    delimiter: str = ";"
    decimal_separator: str = "."
    date_format: str = ISO_DATE


@dataclass(frozen=True)
class Manifest:
    delivery_id: str
    source_system: str
    extract_time: str
    contract_version: str  # "1", "1.1" or "1.2", as `contract_version` normalises it
    files: dict[str, FileSpec]  # the delivered files, by entity
    # The official three-digit kommunekode (contract 1.2); None before 1.2, when the municipality
    # is the one EFFEKT_MUNICIPALITY_CODE names (`Settings.municipality_code`), if any.
    municipality_code: str | None = None

    def spec(self, entity: str) -> FileSpec:
        """The entity's file; for an optional entity the delivery left out, an empty stand-in
        (no file, no rows), so every step treats it as delivered without rows."""
        if entity in self.files:
            return self.files[entity]
        return FileSpec(entity=entity, file="", format="absent", rows=0, sha256="")

    def delivered(self, entity: str) -> bool:
        return entity in self.files


def read_manifest(folder: Path) -> Manifest:
    path = folder / "manifest.json"
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DeliveryRefused("missing_file", "manifest.json", "no manifest in delivery") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise DeliveryRefused("unreadable_file", "manifest.json", f"not valid JSON: {e}") from None
    contract = load_contract()
    try:
        files = {}
        for entry in raw["files"]:
            dialect = entry.get("csv", {})
            if entry["format"] not in ("csv", "parquet"):
                raise ValueError(f"format {entry['format']!r} of {entry['file']}")
            files[entry["entity"]] = FileSpec(
                entity=entry["entity"],
                file=entry["file"],
                format=entry["format"],
                rows=int(entry["rows"]),
                sha256=entry["sha256"],
                encoding=dialect.get("encoding", "utf-8"),
                delimiter=dialect.get("delimiter", ";"),
                decimal_separator=dialect.get("decimal_separator", "."),
                date_format=dialect.get("date_format", ISO_DATE),
            )
        manifest = Manifest(
            raw["delivery_id"], raw["source_system"], raw["extract_time"],
            contract_version(raw["contract_version"]), files, raw.get("municipality_code"),
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as e:
        raise DeliveryRefused(
            "unreadable_file", "manifest.json", f"missing or bad field {e}"
        ) from None
    if manifest.contract_version not in contract.accepted_versions:
        raise DeliveryRefused(
            "unreadable_file", "manifest.json",
            f"contract version {manifest.contract_version}, expected one of "
            f"{', '.join(contract.accepted_versions)}",
        )  # fmt: skip
    problems = (
        _municipality_problems(manifest)
        + [
            DeliveryRefused("missing_file", f"{name}.*", "entity not listed in the manifest")
            for name, entity in contract.entities.items()
            if name not in files and not entity.optional
        ]
        + [
            DeliveryRefused(
                "unreadable_file",
                files[name].file,
                f"{name} came in contract version {entity.since}; the manifest says version "
                f"{manifest.contract_version}",
            )
            for name, entity in contract.entities.items()
            if name in files and version_key(entity.since) > version_key(manifest.contract_version)
        ]
    )
    if problems:
        raise DeliveryRefused.of(problems)
    return manifest


def _municipality_problems(manifest: Manifest) -> list[DeliveryRefused]:
    """A manifest of contract 1.2 names its municipality by a code in the code list; an earlier
    one names none (its municipality is the installation's setting)."""
    field = load_contract().municipality_field
    code, since = manifest.municipality_code, contract_version(field["since"])
    if version_key(manifest.contract_version) < version_key(since):
        if code is None:
            return []
        return [
            DeliveryRefused(
                "unreadable_file", "manifest.json",
                f"municipality_code came in contract version {since}; the manifest says "
                f"version {manifest.contract_version}",
            )
        ]  # fmt: skip
    if code is None:
        return [
            DeliveryRefused(
                "unreadable_file", "manifest.json",
                f"municipality_code is required from contract version {since} (the official "
                "three-digit kommunekode, e.g. \"751\")",
            )
        ]  # fmt: skip
    if not isinstance(code, str) or code not in codelist_values(field["codelist"]):
        return [
            DeliveryRefused(
                "unreadable_file", "manifest.json",
                f"municipality_code {code!r} is not a Danish municipality's three-digit code "
                "(code list municipalities.csv)",
            )
        ]  # fmt: skip
    return []


def _scan(path: Path, spec: FileSpec, transcode_to: Path | None) -> str:
    """One pass over the file: SHA-256, strict decoding of CSV, and UTF-8 transcoding if asked."""
    digest = hashlib.sha256()
    is_text = spec.format == "csv"
    decoder = codecs.getincrementaldecoder(spec.encoding if is_text else "latin-1")("strict")
    out = transcode_to.open("wb") if transcode_to else None
    offset, lines = 0, 0
    try:
        with path.open("rb") as f:
            while block := f.read(BLOCK):
                digest.update(block)
                if not is_text:
                    continue
                try:
                    text = decoder.decode(block)
                except UnicodeDecodeError as e:
                    line = lines + block[: e.start].count(b"\n") + 1
                    raise DeliveryRefused(
                        "encoding_error", spec.file,
                        f"byte {offset + e.start} on line {line} is not valid {spec.encoding}",
                    ) from None  # fmt: skip
                if out:
                    out.write(text.encode("utf-8"))
                offset += len(block)
                lines += block.count(b"\n")
            decoder.decode(b"", final=True)
    finally:
        if out:
            out.close()
    return digest.hexdigest()


def _header(path: Path, spec: FileSpec, encoding: str) -> list[str]:
    with path.open("rb") as f:
        first = f.readline(1 << 16).decode(encoding)
    return next(csv.reader(io.StringIO(first), delimiter=spec.delimiter), [])


def load_raw(
    con: duckdb.DuckDBPyConnection, folder: Path, manifest: Manifest, schema: str = "raw"
) -> dict[str, int]:
    """Create `schema.<entity>` tables (all VARCHAR plus `source_row`) for every entity.

    Returns rows read per entity. Every file is checked; if any has a file-level problem, one
    DeliveryRefused lists them all (at most one per file: the first found in it). The tables
    of the files that did load are left in `schema`, so the caller must not keep that schema
    of a refused delivery (the ingest works in a throw-away in-memory database).
    """
    contract = load_contract()
    con.execute(f"create schema if not exists {schema}")
    rows, refusals = {}, []
    with tempfile.TemporaryDirectory(prefix="effekt-ingest-") as tmp:
        for name, entity in contract.entities.items():
            if not manifest.delivered(name):  # an optional file left out: no rows
                columns = ", ".join(f'"{c}" varchar' for c in entity.column_names)
                con.execute(
                    f"create or replace table {schema}.{name} ({columns}, source_row bigint)"
                )
                rows[name] = 0
                continue
            spec = manifest.files[name]
            try:
                rows[name] = _load_file(con, folder, spec, entity, schema, Path(tmp))
            except DeliveryRefused as refusal:
                refusals.append(refusal)
    if refusals:
        raise DeliveryRefused.of(refusals)
    return rows


def unlisted_files(folder: Path, manifest: Manifest) -> list[str]:
    """Files in the delivery folder (and below it) that the manifest does not list.

    Paths are relative to `folder`, with `/`, sorted. `manifest.json` and a `checksums.sha256`
    at the top are not counted.
    """
    from orchestration.ingest.landing import unlisted_in

    return unlisted_in(folder, (spec.file for spec in manifest.files.values()))


def record_lines(folder: Path, spec: FileSpec, records: Iterable[int]) -> dict[int, int]:
    """The file line on which each of `records` (1 = first data record) of a CSV starts.

    Line 1 is the header. Without line breaks inside quoted fields record n is on line n + 1;
    only a file that has them is read record by record to find where each one starts.
    """
    wanted = set(records)
    if spec.format != "csv" or not wanted:
        return {}
    path = folder / spec.file
    breaks, last = 0, b""
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            breaks += block.count(b"\n")
            last = block[-1:]
    lines = breaks + (last not in (b"\n", b""))
    if lines == spec.rows + 1:
        return {n: n + 1 for n in wanted}
    out = {}
    with path.open(encoding=spec.encoding, newline="") as f:
        reader = csv.reader(f, delimiter=spec.delimiter)
        next(reader, None)
        start = reader.line_num + 1
        for n, _ in enumerate(reader, 1):
            if n in wanted:
                out[n] = start
            start = reader.line_num + 1
    return out


def _load_file(con, folder: Path, spec: FileSpec, entity: Entity, schema: str, tmp: Path) -> int:
    path = folder / spec.file
    if not path.is_file():
        raise DeliveryRefused("missing_file", spec.file, "file named in the manifest is absent")
    if path.stat().st_size == 0:
        raise DeliveryRefused(
            "unreadable_file", spec.file,
            f"file is empty (0 bytes); the manifest says {spec.rows:,} rows",
        )  # fmt: skip
    needs_transcoding = spec.format == "csv" and spec.encoding not in ("utf-8", "utf-8-sig")
    readable = tmp / f"{entity.name}.utf8.csv" if needs_transcoding else path
    sha = _scan(path, spec, readable if needs_transcoding else None)
    if sha != spec.sha256:
        if _looks_truncated(path, spec):
            raise DeliveryRefused(
                "truncated", spec.file, f"file ends mid-row; SHA-256 is {sha}, not {spec.sha256}"
            )
        raise DeliveryRefused(
            "checksum_mismatch", spec.file, f"SHA-256 is {sha}, the manifest says {spec.sha256}"
        )
    table = f"{schema}.{entity.name}"
    if spec.format == "csv":
        header = _header(readable, spec, "utf-8-sig")
        _require_columns(spec, entity, header)
        columns = "{" + ", ".join(f"'{c}': 'VARCHAR'" for c in header) + "}"
        source = (
            f"read_csv('{readable}', auto_detect=false, header=true, delim='{spec.delimiter}', "
            f"quote='\"', escape='\"', columns={columns}, strict_mode=true, null_padding=false)"
        )
        select = ", ".join(f'"{c.name}"' for c in entity.columns)
    else:
        try:
            header = [
                r[0]
                for r in con.execute(f"describe select * from read_parquet('{path}')").fetchall()
            ]
        except duckdb.Error as e:
            raise DeliveryRefused("unreadable_file", spec.file, _first_line(e)) from None
        _require_columns(spec, entity, header)
        source = f"read_parquet('{path}')"
        select = ", ".join(f'cast("{c.name}" as varchar) as "{c.name}"' for c in entity.columns)
    try:
        # Insertion order is preserved, so rowid + 1 is the record's position in the file.
        con.execute(f"create or replace table {table} as select {select} from {source}")
        con.execute(
            f"create or replace table {table} as select rowid + 1 as source_row, * from {table}"
        )
    except duckdb.Error as e:
        raise DeliveryRefused("unreadable_file", spec.file, _first_line(e)) from None
    (count,) = con.execute(f"select count(*) from {table}").fetchone()
    if count != spec.rows:
        raise DeliveryRefused(
            "row_count_mismatch", spec.file, f"{count} rows read, the manifest says {spec.rows}"
        )
    return count


def _looks_truncated(path: Path, spec: FileSpec) -> bool:
    """A CSV that does not end with a line break, or a Parquet file without its footer."""
    size = path.stat().st_size
    with path.open("rb") as f:
        f.seek(max(size - 4, 0))
        tail = f.read()
    return not tail.endswith(b"\n") if spec.format == "csv" else tail != b"PAR1"


def _require_columns(spec: FileSpec, entity: Entity, header: list[str]) -> None:
    missing = [c for c in entity.column_names if c not in header]
    if missing:
        raise DeliveryRefused(
            "missing_column", spec.file, f"column {', '.join(missing)} missing from the header"
        )


def _first_line(error: Exception) -> str:
    """DuckDB's message without the offending line's content, which may hold a CPR number."""
    lines = str(error).strip().splitlines()
    kept = [lines[0]] + [line for line in lines[1:] if line.startswith("Expected")]
    return CPR_IN_TEXT.sub("[redacted]", "; ".join(kept))
