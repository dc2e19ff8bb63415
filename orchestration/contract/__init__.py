"""The extract contract: one definition of a delivery for the generator, the ingest and the docs."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

CONTRACT_DIR = Path(__file__).parent
CONTRACT_FILE = CONTRACT_DIR / "extract_contract_v1.yaml"
CODELIST_DIR = CONTRACT_DIR / "codelists"

COLUMN_TYPES = frozenset({"cpr", "string", "code", "integer", "decimal", "date", "text"})


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str
    required: bool = False
    personal: bool = False
    codelist: str | None = None  # "file.column"
    references: str | None = None  # "entity.column"
    min: float | None = None
    max: float | None = None

    @property
    def is_free_text(self) -> bool:
        return self.type == "text"

    @property
    def reference(self) -> tuple[str, str] | None:
        if self.references is None:
            return None
        entity, column = self.references.split(".")
        return entity, column


@dataclass(frozen=True)
class Entity:
    name: str
    description: str
    key: tuple[str, ...]
    columns: tuple[Column, ...]
    date_order: tuple[tuple[str, str], ...] = ()
    optional: bool = False  # a delivery may leave the file out, and then holds none of its rows
    since: str = "1"  # the contract version the entity came in

    @property
    def file_stem(self) -> str:
        return self.name

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


@dataclass(frozen=True)
class Reason:
    code: str
    level: str  # "file" or "row"
    description: str
    severity: str = "error"
    # For row reasons, what the coordinators' validation reports say: the reason in Danish and
    # a plain instruction on what to correct in the case system.
    description_da: str = ""
    instruction_da: str = ""
    instruction_en: str = ""


@dataclass(frozen=True)
class Contract:
    version: str  # "1.1"; compare versions with `version_key`
    vum2_change_date: dt.date
    adult_age: int
    entities: dict[str, Entity]
    reasons: dict[str, Reason]
    csv_options: dict[str, list[str]] = field(default_factory=dict)
    accepted_versions: tuple[str, ...] = ()
    municipality_field: dict[str, str] = field(default_factory=dict)  # since, codelist

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise KeyError(f"the extract contract has no entity {name!r}") from None


def _column(name: str, spec: dict) -> Column:
    if spec["type"] not in COLUMN_TYPES:
        raise ValueError(f"column {name}: unknown type {spec['type']!r}")
    return Column(
        name=name,
        type=spec["type"],
        description=spec.get("description", ""),
        required=bool(spec.get("required", False)),
        personal=bool(spec.get("personal", False)),
        codelist=spec.get("codelist"),
        references=spec.get("references"),
        min=spec.get("min"),
        max=spec.get("max"),
    )


def contract_version(value: object) -> str:
    """A contract version as written in a manifest or the contract (1, 1.1, "1.1", "1.0"), in
    one form: "1", "1.1". Raises ValueError for anything else."""
    text = str(value).strip()
    parts = text.split(".")
    if not 1 <= len(parts) <= 2 or not all(p.isdigit() for p in parts) or isinstance(value, bool):
        raise ValueError(f"contract version {value!r} is not a number like 1 or 1.1")
    major, minor = int(parts[0]), int(parts[1]) if len(parts) == 2 else 0
    return f"{major}.{minor}" if minor else str(major)


def version_key(version: str) -> tuple[int, int]:
    """A version (as `contract_version` gives it) for comparing: "1.1" -> (1, 1)."""
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


@cache
def load_contract(path: Path = CONTRACT_FILE) -> Contract:
    """Read the contract YAML once; the result is immutable and shared."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    entities = {
        name: Entity(
            name=name,
            description=spec["description"],
            key=tuple(spec["key"]),
            columns=tuple(_column(c, s) for c, s in spec["columns"].items()),
            date_order=tuple(tuple(pair) for pair in spec.get("date_order", [])),
            optional=bool(spec.get("optional", False)),
            since=contract_version(spec.get("since", "1")),
        )
        for name, spec in raw["entities"].items()
    }
    reasons = {
        code: Reason(
            code,
            spec["level"],
            spec["description"],
            spec.get("severity", "error"),
            spec.get("description_da", ""),
            spec.get("instruction_da", ""),
            spec.get("instruction_en", ""),
        )
        for code, spec in raw["reasons"].items()
    }
    return Contract(
        version=contract_version(raw["contract_version"]),
        vum2_change_date=raw["vum2_change_date"],
        adult_age=int(raw["adult_age"]),
        entities=entities,
        reasons=reasons,
        csv_options=raw["delivery"]["csv"],
        accepted_versions=tuple(contract_version(v) for v in raw["accepted_versions"]),
        municipality_field=raw["delivery"]["municipality_code"],
    )


@cache
def codelist(name: str) -> tuple[dict[str, str], ...]:
    """Rows of a code list file (without .csv), as read."""
    with (CODELIST_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as f:
        return tuple(csv.DictReader(f))


def municipality_names() -> dict[str, str]:
    """Kommunekode -> Danish name, in the code list's order (municipalities.csv)."""
    return {row["municipality_code"]: row["name_da"] for row in codelist("municipalities")}


def codelist_values(ref: str) -> list[str]:
    """Distinct values of `file.column` in their file order."""
    file, column = ref.split(".")
    seen: dict[str, None] = {}
    for row in codelist(file):
        seen.setdefault(row[column], None)
    return list(seen)


def file_sha256(path: Path) -> str:
    """A file's checksum as the manifest gives it: the SHA-256 of its bytes, in hex."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
