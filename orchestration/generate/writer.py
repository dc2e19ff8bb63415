"""Streaming writers for delivery files: CSV the way case systems export it, and Parquet."""

from __future__ import annotations

import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from orchestration.contract import Entity, file_sha256


@dataclass(frozen=True)
class CsvDialect:
    """How one case system writes CSV; recorded in the manifest so the ingest need not guess."""

    name: str
    encoding: str  # utf-8, utf-8-sig (with BOM) or cp1252
    delimiter: str
    decimal_separator: str
    date_format: str  # strftime pattern
    line_terminator: str

    def manifest_entry(self) -> dict[str, str]:
        return {
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "decimal_separator": self.decimal_separator,
            "date_format": self.date_format,
        }


DIALECTS = {
    d.name: d
    for d in (
        # The classic Danish Excel export: Windows-1252, semicolons, decimal comma, CRLF.
        CsvDialect("excel-dk", "cp1252", ";", ",", "%d-%m-%Y", "\r\n"),
        CsvDialect("utf8-bom", "utf-8-sig", ";", ",", "%d-%m-%Y", "\r\n"),
        CsvDialect("utf8", "utf-8", ",", ".", "%Y-%m-%d", "\n"),
    )
}

ARROW_TYPES = {
    "cpr": pa.string(),
    "string": pa.string(),
    "code": pa.string(),
    "text": pa.string(),
    "integer": pa.int64(),
    "decimal": pa.float64(),
    "date": pa.date32(),
}


def arrow_schema(entity: Entity) -> pa.Schema:
    return pa.schema([pa.field(c.name, ARROW_TYPES[c.type]) for c in entity.columns])


def to_csv_text(table: pa.Table, dialect: CsvDialect) -> pa.Table:
    """Render dates and decimals as the dialect writes them; whole numbers stay unquoted."""
    columns = []
    for field, column in zip(table.schema, table.columns, strict=True):
        if pa.types.is_date(field.type):
            column = pc.strftime(pc.cast(column, pa.timestamp("s")), format=dialect.date_format)
        elif pa.types.is_floating(field.type):
            column = pc.cast(column, pa.string())
            if dialect.decimal_separator != ".":
                column = pc.replace_substring(column, ".", dialect.decimal_separator)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


@dataclass
class FileRecord:
    entity: str
    file: str
    format: str
    rows: int
    sha256: str
    csv: dict[str, str] | None = None

    def manifest_entry(self) -> dict:
        entry = {
            "entity": self.entity,
            "file": self.file,
            "format": self.format,
            "rows": self.rows,
            "sha256": self.sha256,
        }
        if self.csv:
            entry["csv"] = self.csv
        return entry


class CsvWriter:
    """Appends chunks of string tables to one CSV file, hashing the bytes as they go."""

    def __init__(self, path: Path, entity: Entity, dialect: CsvDialect) -> None:
        self.path, self.entity, self.dialect = path, entity, dialect
        self.rows = 0
        self._hash = hashlib.sha256()
        self._file = path.open("wb")
        header = dialect.delimiter.join(entity.column_names) + dialect.line_terminator
        self._emit(header.encode(dialect.encoding))  # utf-8-sig writes the BOM here

    def _emit(self, data: bytes) -> None:
        self._hash.update(data)
        self._file.write(data)

    def write(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        buffer = io.BytesIO()
        options = pacsv.WriteOptions(
            include_header=False, delimiter=self.dialect.delimiter, quoting_style="needed"
        )
        pacsv.write_csv(table, buffer, options)
        data = buffer.getvalue()
        if self.dialect.line_terminator != "\n":
            data = data.replace(b"\n", self.dialect.line_terminator.encode())
        if self.dialect.encoding == "cp1252":
            data = data.decode("utf-8").encode("cp1252")
        self._emit(data)
        self.rows += table.num_rows

    def close(self) -> FileRecord:
        self._file.close()
        return FileRecord(
            self.entity.name, self.path.name, "csv", self.rows, self._hash.hexdigest(),
            self.dialect.manifest_entry(),
        )  # fmt: skip


class ParquetWriter:
    """Appends chunks of typed tables to one Parquet file as row groups."""

    def __init__(self, path: Path, entity: Entity) -> None:
        self.path, self.entity = path, entity
        self.rows = 0
        self._writer = pq.ParquetWriter(path, arrow_schema(entity), compression="zstd")

    def write(self, table: pa.Table) -> None:
        if table.num_rows:
            self._writer.write_table(table)
            self.rows += table.num_rows

    def close(self) -> FileRecord:
        self._writer.close()
        return FileRecord(
            self.entity.name, self.path.name, "parquet", self.rows, file_sha256(self.path)
        )
