"""One settings object for every component, read from the environment.

| variable | default | meaning |
|---|---|---|
| EFFEKT_DATA_DIR | ./data | root of everything the pipeline reads and writes |
| EFFEKT_LANDING_DIR | $DATA/landing | where case systems drop deliveries |
| EFFEKT_RAW_DIR | $DATA/raw | restricted raw layer: archive, quarantine, raw_layer.duckdb |
| EFFEKT_WAREHOUSE | $DATA/warehouse/effekt.duckdb | dbt's DuckDB file (staging onwards, no CPR) |
| EFFEKT_PSEUDONYM_KEY | (none) | the pseudonymisation secret itself |
| EFFEKT_PSEUDONYM_KEY_FILE | (none) | or a file holding it |
| DAGSTER_HOME | $DATA/dagster | the Dagster instance: run history, pools, run queue |
| EFFEKT_WRITER_LOCK_TIMEOUT | 21600 | seconds a writing step waits for another writer |
| EFFEKT_ALERT_WEBHOOK | (none) | also post run-failure alerts as JSON to this URL |
| EFFEKT_UI_URL | http://localhost:3000 | the Dagster UI, for links in alerts |
| EFFEKT_GATE_MAX_DROP, EFFEKT_GATE_BUNCHING, EFFEKT_GATE_GAS_JUMP | 0.3, 0.05, 0.15 | quality gate thresholds (docs/quality-gate.md) |
| EFFEKT_LANDING_WAIT_WARNING_HOURS | 6 | a landing folder without manifest.json for longer is a warning |
| EFFEKT_PROTECTION_WIDTH | min_cell_citizens (5) | narrowest range a primary cell's count may be worked out to (docs/disclosure-control.md) |
| EFFEKT_CITIZEN_PROTECTION_WIDTH | 1 | the same for a primary cell's citizens (1: never exactly) |
| EFFEKT_SECONDARY_SUPPRESSION | on | off only for a drill: the audit then fails and nothing is published |
| EFFEKT_ARCHIVE_KEEP_DAYS | (keep all) | delivered files in the archive older than this many days are deleted (never the current or published delivery's); the history keeps their rows |
| EFFEKT_PUBLISHED_KEEP | 5 | published versions kept (at least 2: a reader of the previous one keeps reading) |
| EFFEKT_INGEST_MEMORY_LIMIT | 3GB | DuckDB's memory cap while a delivery is checked and merged (it spills into the raw folder past it) |
| EFFEKT_DUCKDB_MEMORY_LIMIT | 3GB | DuckDB's memory cap in dbt's build (orchestration/warehouse) |
| EFFEKT_DBT_THREADS | one per core | dbt's threads |
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

# DuckDB's memory cap where no setting says otherwise, for the ingest and for dbt's build (and
# dbt_project/profiles.yml's fallback): it spills past it and leaves the rest of the machine to
# the BI tools (docs/performance.md).
DEFAULT_MEMORY_LIMIT = "3GB"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    landing_dir: Path | None = None
    raw_dir: Path | None = None
    warehouse: Path | None = None
    pseudonym_key: str | None = field(default=None, repr=False)
    pseudonym_key_file: Path | None = None
    archive_keep_days: int | None = None  # None: delivered files are kept for good
    published_keep: int = 5
    ingest_memory_limit: str = DEFAULT_MEMORY_LIMIT  # DuckDB's size syntax: 3GB, 512MB, 80%

    def __post_init__(self) -> None:
        root = Path(self.data_dir)
        object.__setattr__(self, "data_dir", root)
        object.__setattr__(self, "landing_dir", Path(self.landing_dir or root / "landing"))
        object.__setattr__(self, "raw_dir", Path(self.raw_dir or root / "raw"))
        object.__setattr__(
            self, "warehouse", Path(self.warehouse or root / "warehouse" / "effekt.duckdb")
        )

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        key_file = env.get("EFFEKT_PSEUDONYM_KEY_FILE")
        return cls(
            data_dir=Path(env.get("EFFEKT_DATA_DIR", "data")),
            landing_dir=_path(env.get("EFFEKT_LANDING_DIR")),
            raw_dir=_path(env.get("EFFEKT_RAW_DIR")),
            warehouse=_path(env.get("EFFEKT_WAREHOUSE")),
            pseudonym_key=env.get("EFFEKT_PSEUDONYM_KEY") or None,
            pseudonym_key_file=Path(key_file) if key_file else None,
            archive_keep_days=_count(env, "EFFEKT_ARCHIVE_KEEP_DAYS"),
            published_keep=_count(env, "EFFEKT_PUBLISHED_KEEP") or 5,
            ingest_memory_limit=(env.get("EFFEKT_INGEST_MEMORY_LIMIT") or "").strip()
            or DEFAULT_MEMORY_LIMIT,
        )

    # The raw layer's parts.
    @property
    def raw_database(self) -> Path:
        return self.raw_dir / "raw_layer.duckdb"

    @property
    def processing_dir(self) -> Path:
        return self.raw_dir / "processing"

    @property
    def archive_dir(self) -> Path:
        return self.raw_dir / "archive"

    @property
    def quarantine_dir(self) -> Path:
        return self.raw_dir / "quarantine"

    def env(self) -> dict[str, str]:
        """The settings as environment variables, for subprocesses such as dbt."""
        out = {
            "EFFEKT_DATA_DIR": str(self.data_dir.resolve()),
            "EFFEKT_LANDING_DIR": str(self.landing_dir.resolve()),
            "EFFEKT_RAW_DIR": str(self.raw_dir.resolve()),
            "EFFEKT_WAREHOUSE": str(self.warehouse.resolve()),
        }
        if self.pseudonym_key_file:
            out["EFFEKT_PSEUDONYM_KEY_FILE"] = str(self.pseudonym_key_file.resolve())
        if self.archive_keep_days is not None:
            out["EFFEKT_ARCHIVE_KEEP_DAYS"] = str(self.archive_keep_days)
        out["EFFEKT_PUBLISHED_KEEP"] = str(self.published_keep)
        out["EFFEKT_INGEST_MEMORY_LIMIT"] = self.ingest_memory_limit
        return out


@dataclass(frozen=True)
class Thresholds:
    """How much change between deliveries is plausible (see settings)."""

    max_drop: float = 0.3  # a unit's goals or follow-ups may fall by at most this share
    bunching: float = 0.05  # at most this share of a year's follow-ups on one day
    gas_jump: float = 0.15  # a GAS score's share may move by at most this much

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Thresholds:
        """EFFEKT_GATE_MAX_DROP, EFFEKT_GATE_BUNCHING and EFFEKT_GATE_GAS_JUMP, else defaults."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(**{
            name: float(env.get(f"EFFEKT_GATE_{name.upper()}", getattr(defaults, name)))
            for name in ("max_drop", "bunching", "gas_jump")
        })  # fmt: skip


@contextmanager
def environment(settings: Settings) -> Iterator[None]:
    """The settings as environment variables for a while (Dagster resources and dbt's profile
    read them there), restored afterwards so that nothing leaks into the next run in this process."""
    saved = dict(os.environ)
    os.environ.update(settings.env())
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def dagster_home(settings: Settings) -> Path:
    """`$DAGSTER_HOME` when set, else the data folder's own instance folder."""
    home = os.environ.get("DAGSTER_HOME")
    return Path(home) if home else (settings.data_dir / "dagster").resolve()


class DataFolderMissing(ValueError):
    """The data folder does not exist: a mistyped path must not grow a new, empty tree."""


def require_data_dir(settings: Settings) -> None:
    """Only `effekt demo` creates a data folder; every other command needs it to exist."""
    if not settings.data_dir.is_dir():
        raise DataFolderMissing(
            f"data folder {settings.data_dir} does not exist (nothing was created). Check "
            "--data-dir or EFFEKT_DATA_DIR; to start a new one, create it with a landing/ "
            "folder inside, or run `effekt demo` for sample data."
        )


def _count(env, name: str) -> int | None:
    """A whole number of at least 1 from the environment, or None when unset."""
    value = (env.get(name) or "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise ValueError(f"{name}={value!r}: expected a whole number of at least 1")
    return int(value)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None
