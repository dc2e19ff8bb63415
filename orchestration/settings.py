"""One settings object for every component: every setting, and where everything lives.

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
| EFFEKT_WAREHOUSE_ENGINE | duckdb | what dbt builds the warehouse on: `duckdb` (the warehouse file), `spark` (a local Spark in dbt's process, dbt-spark's session method) or `spark_cluster` (a Spark Thrift server, dbt_project/profiles.yml); docs/spark.md |
| EFFEKT_SPARK_DIR | $DATA/warehouse/spark | the local Spark's tables (`tables/`) and metastore (`metastore/`) |
| EFFEKT_SPARK_SOURCES_DIR | $RAW/spark-sources | the raw layer's tables as Parquet for Spark (restricted: they hold CPR numbers); for a cluster, a folder its nodes read too |
| EFFEKT_SPARK_DRIVER_MEMORY | 4g | the local Spark's memory (Java's size syntax) |
| EFFEKT_AMOUNT_PROTECTION_DKK | 1000 | narrowest range a primary cell's amount in DKK may be worked out to |
| EFFEKT_BAROMETER_TARGETS | orchestration/reporting/targets.yaml | the barometer's targets per indicator |
| EFFEKT_POSTGRES_DSN | (none: no PostgreSQL target) | a libpq connection string for the PostgreSQL publication target (a secret: it may hold a password) |
| EFFEKT_POSTGRES_DSN_FILE | (none) | or a file holding it |
| EFFEKT_POSTGRES_SCHEMA_PREFIX | effekt | its schemas `<prefix>_open`, `<prefix>_restricted` and reader roles `<prefix>_open_reader`, `<prefix>_restricted_reader` |
| EFFEKT_POSTGRES_SWITCH_TIMEOUT | 600 | seconds the switch to a new version waits for readers of the old one |
| EFFEKT_MUNICIPALITY_CODE | (none) | the municipality (three-digit kommunekode) of deliveries before contract 1.2, which do not name theirs; the comparison pages mark it as one's own |
| EFFEKT_COMPARISON_NAME_OTHERS | on | the comparison pages name every municipality (on) or only EFFEKT_MUNICIPALITY_CODE's, the others anonymous (off); docs/comparison.md |

This module is the only reader of the environment, and `Settings` the only owner of the data
folder's layout: every path below the data folder is a property here. Dagster's assets get the
settings as resource config (`resources.SettingsResource`; a field left unset comes from the
environment), and in-process runs pass every field as run config. Secrets (the pseudonym key,
the alert webhook's URL, which may hold a token, the PostgreSQL connection string) never go into
run config, which Dagster stores: a run reads them from the environment or, for the key and the
connection string, from the file a setting names, so a secret set on a Settings object in code
does not reach a run. Only dbt's process gets the
settings as environment variables (`scoped_environment` around the call, with
`warehouse.dbt_variables`), which its profile reads, secrets left out; `effekt ui` starts
`dagster dev` with them too (`process_environment`), so its code location reads the same.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# DuckDB's memory cap where no setting says otherwise, for the ingest and for dbt's build (and
# dbt_project/profiles.yml's fallback): it spills past it and leaves the rest of the machine to
# the BI tools (docs/performance.md).
DEFAULT_MEMORY_LIMIT = "3GB"
DEFAULT_LOCK_TIMEOUT_S = 6 * 3600.0  # a 100,000-citizen build takes minutes; hours: something hangs
DEFAULT_AMOUNT_PROTECTION_DKK = 1_000.0
# What dbt can build the warehouse on: the profile output of each (dbt_project/profiles.yml).
WAREHOUSE_ENGINES = ("duckdb", "spark", "spark_cluster")
# Never in run config or in another process's environment made from the settings.
SECRETS = ("pseudonym_key", "alert_webhook", "postgres_dsn")


@dataclass(frozen=True)
class Thresholds:
    """How much change between deliveries is plausible (see settings)."""

    max_drop: float = 0.3  # a unit's goals or follow-ups may fall by at most this share
    bunching: float = 0.05  # at most this share of a year's follow-ups on one day
    gas_jump: float = 0.15  # a GAS score's share may move by at most this much


@dataclass(frozen=True)
class Settings:
    """Every setting of the pipeline, and where everything lives below the data folder."""

    data_dir: Path = Path("data")
    landing_dir: Path | None = None
    raw_dir: Path | None = None
    warehouse: Path | None = None
    pseudonym_key: str | None = field(default=None, repr=False)
    pseudonym_key_file: Path | None = None
    dagster_home: Path | None = None
    archive_keep_days: int | None = None  # None: delivered files are kept for good
    published_keep: int = 5
    ingest_memory_limit: str = DEFAULT_MEMORY_LIMIT  # DuckDB's size syntax: 3GB, 512MB, 80%
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT  # the same, for dbt's build
    dbt_threads: int | None = None  # None: one per core
    warehouse_engine: str = "duckdb"  # one of WAREHOUSE_ENGINES: dbt's target
    spark_dir: Path | None = None  # None: the warehouse's folder, spark/
    spark_sources_dir: Path | None = None  # None: the raw folder's spark-sources/
    spark_driver_memory: str = "4g"
    writer_lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S
    alert_webhook: str | None = field(default=None, repr=False)
    ui_url: str = "http://localhost:3000"
    gate_max_drop: float = Thresholds.max_drop
    gate_bunching: float = Thresholds.bunching
    gate_gas_jump: float = Thresholds.gas_jump
    landing_wait_warning_hours: float = 6.0
    protection_width: int | None = None  # None: the dbt project's min_cell_citizens
    citizen_protection_width: int = 1
    secondary_suppression: bool = True
    amount_protection_dkk: float = DEFAULT_AMOUNT_PROTECTION_DKK
    barometer_targets: Path | None = None  # None: the packaged reporting/targets.yaml
    postgres_dsn: str | None = field(default=None, repr=False)  # may hold a password
    postgres_dsn_file: Path | None = None
    postgres_schema_prefix: str = "effekt"
    postgres_switch_timeout: float = 600.0
    municipality_code: str | None = None  # a delivery of contract 1.2 names its own
    comparison_name_others: bool = True  # off: the comparison pages name only municipality_code

    def __post_init__(self) -> None:
        root = Path(self.data_dir)
        derived = {
            "data_dir": root,
            "landing_dir": Path(self.landing_dir or root / "landing"),
            "raw_dir": Path(self.raw_dir or root / "raw"),
            "warehouse": Path(self.warehouse or root / "warehouse" / "effekt.duckdb"),
            "dagster_home": Path(self.dagster_home or (root / "dagster").resolve()),
            "pseudonym_key_file": _path(self.pseudonym_key_file),
            "barometer_targets": _path(self.barometer_targets),
            "postgres_dsn_file": _path(self.postgres_dsn_file),
        }
        derived["spark_dir"] = Path(self.spark_dir or derived["warehouse"].parent / "spark")
        derived["spark_sources_dir"] = Path(
            self.spark_sources_dir or derived["raw_dir"] / "spark-sources"
        )
        for name, value in derived.items():
            object.__setattr__(self, name, value)
        if self.warehouse_engine not in WAREHOUSE_ENGINES:
            raise ValueError(
                f"EFFEKT_WAREHOUSE_ENGINE={self.warehouse_engine!r}: expected one of "
                + ", ".join(WAREHOUSE_ENGINES)
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """The settings from the environment (`EFFEKT_<FIELD>`, and `DAGSTER_HOME`), with
        `overrides` by field name (None: not given) winning over it. A value that cannot be
        read is refused with its variable's name."""
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for f in dataclasses.fields(cls):
            raw = (env.get(variable_of(f.name)) or "").strip()
            if raw:
                values[f.name] = _parse(f, raw)
        values |= {name: value for name, value in overrides.items() if value is not None}
        return cls(**values)

    def config(self) -> dict[str, Any]:
        """The settings as plain values for resource config, secrets left out."""
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)
            if f.name not in SECRETS
        }

    def env(self) -> dict[str, str]:
        """The settings as environment variables, for a process that reads them itself (dbt's
        profile, `dagster dev`); secrets left out (the key travels by file)."""
        return {
            variable_of(name): _text(value)
            for name, value in self.config().items()
            if value is not None
        }

    def process_environment(self) -> dict[str, str]:
        """The environment for a process of our own that reads the settings again (`dagster
        dev`): this process's, with these settings in place of any it had."""
        return dict(os.environ) | self.env()

    def postgres_connection(self) -> str | None:
        """The PostgreSQL target's connection string, from the setting or its file; None: no
        PostgreSQL target."""
        if self.postgres_dsn:
            return self.postgres_dsn
        if self.postgres_dsn_file:
            try:
                return self.postgres_dsn_file.read_text(encoding="utf-8").strip() or None
            except OSError as e:
                raise ValueError(
                    f"EFFEKT_POSTGRES_DSN_FILE={self.postgres_dsn_file}: {e.strerror}"
                ) from None
        return None

    @property
    def thresholds(self) -> Thresholds:
        return Thresholds(self.gate_max_drop, self.gate_bunching, self.gate_gas_jump)

    @property
    def on_spark(self) -> bool:
        """dbt builds on Spark (locally or on a cluster), not into the DuckDB warehouse file."""
        return self.warehouse_engine != "duckdb"

    @property
    def build_threads(self) -> int:
        return self.dbt_threads or os.cpu_count() or 1

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

    @property
    def spill_dir(self) -> Path:
        """Where DuckDB spills past its memory cap while a delivery is checked (restricted)."""
        return self.raw_dir / "tmp"

    # Everything else below the data folder.
    @property
    def reports_dir(self) -> Path:
        """Every run's gate reports, and their index."""
        return self.data_dir / "reports"

    def run_reports_dir(self, run_id: str) -> Path:
        """One run's gate results, Data Docs and coordinators' reports."""
        return self.reports_dir / run_id

    @property
    def published_dir(self) -> Path:
        return self.data_dir / "published"

    @property
    def published_current(self) -> Path:
        """The link to the version BI tools read."""
        return self.published_dir / "current"

    @property
    def reporting_dir(self) -> Path:
        return self.data_dir / "reporting"

    def quarter_dir(self, quarter_label: str) -> Path:
        """A quarter's snapshot of the published indicators, and its fact sheets."""
        return self.reporting_dir / quarter_label

    @property
    def state_dir(self) -> Path:
        """Each delivery's way through the stages, and the operators' acceptances."""
        return self.data_dir / "state"

    @property
    def alerts_file(self) -> Path:
        return self.data_dir / "alerts" / "alerts.jsonl"

    @property
    def lock_file(self) -> Path:
        """Held by whichever step writes the data folder's DuckDB files."""
        return self.data_dir / ".locks" / "writer.lock"

    @property
    def log_file(self) -> Path:
        """What tools print (dbt's lines) and effekt's log lines, from in-process runs."""
        return self.data_dir / "logs" / "pipeline.log"

    @property
    def demo_key_file(self) -> Path:
        """Where `effekt demo` keeps the key it makes for a demo data folder."""
        return self.data_dir / "secrets" / "pseudonym.key"

    @property
    def dbt_target_dir(self) -> Path:
        return self.data_dir / "dbt" / "target"

    @property
    def dbt_log_dir(self) -> Path:
        return self.data_dir / "dbt" / "logs"


def variable_of(name: str) -> str:
    """A settings field's environment variable."""
    return "DAGSTER_HOME" if name == "dagster_home" else f"EFFEKT_{name.upper()}"


def _parse(f: dataclasses.Field, raw: str) -> Any:
    """A variable's text as its field's type (the field's annotation is a string here)."""
    variable, kind = variable_of(f.name), str(f.type)
    if "bool" in kind:
        if raw.lower() not in ("on", "off"):
            raise ValueError(f"{variable}={raw!r}: expected on or off")
        return raw.lower() == "on"
    if "int" in kind:
        if not raw.isdigit() or int(raw) < 1:
            raise ValueError(f"{variable}={raw!r}: expected a whole number of at least 1")
        return int(raw)
    if "float" in kind:
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{variable}={raw!r}: expected a number") from None
        if not value > 0:
            raise ValueError(f"{variable}={raw!r}: expected a number above 0")
        return value
    return raw  # text, and paths


def _path(value: Path | str | None) -> Path | None:
    return Path(value) if value else None


def _plain(value: Any) -> Any:
    return str(value.resolve()) if isinstance(value, Path) else value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


SECRET_VARIABLES = tuple(variable_of(name) for name in SECRETS)


def child_environment(variables: Mapping[str, str]) -> dict[str, str]:
    """The environment for a tool's process (dbt): this process's, without the secrets, with
    `variables` added."""
    inherited = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    return inherited | dict(variables)


@contextmanager
def scoped_environment(variables: Mapping[str, str]) -> Iterator[None]:
    """This process's environment as `child_environment` makes it, for a while, restored
    afterwards: for dbt's process alone, which dagster-dbt starts with this process's
    environment and whose profile reads the settings there (warehouse.dbt_variables)."""
    saved = dict(os.environ)
    during = child_environment(variables)
    os.environ.clear()
    os.environ.update(during)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


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
