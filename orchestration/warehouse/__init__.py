"""The dbt project and how the pipeline runs it against its DuckDB files."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
from filelock import FileLock

from orchestration.disclosure import SUPPRESSION_STATE_SCHEMA
from orchestration.settings import Settings, child_environment
from orchestration.warehouse.spark import export_raw_sources

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# The parsed project: models, columns and their descriptions (ensure_manifest keeps it current).
MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"
log = logging.getLogger(__name__)
# What a pipeline run builds: everything, with dbt's data tests; unit tests run in the test suite.
# No colour codes: dbt's lines go to log files.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test", "--no-use-colors"]


def dbt_variables(settings: Settings) -> dict[str, str]:
    """What dbt's profile and dbt itself read: the settings, the threads and memory cap the
    build runs with, and where its artefacts and logs go (with the data they describe, not into
    the repository)."""
    return settings.env() | {
        "EFFEKT_DBT_THREADS": str(settings.build_threads),
        "EFFEKT_DUCKDB_MEMORY_LIMIT": settings.duckdb_memory_limit,
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        "DBT_TARGET_PATH": str(settings.dbt_target_dir.resolve()),
        "DBT_LOG_PATH": str(settings.dbt_log_dir.resolve()),
        "DBT_USE_COLORS": "false",  # its lines go to files and test output, not a terminal
    }


def describe_build_resources(settings: Settings) -> str:
    """One line for the log: what the build runs with."""
    if settings.on_spark:
        return (
            f"dbt builds on {settings.warehouse_engine} with {settings.build_threads} threads "
            f"(EFFEKT_WAREHOUSE_ENGINE, EFFEKT_DBT_THREADS; the local Spark's memory "
            f"{settings.spark_driver_memory}, EFFEKT_SPARK_DRIVER_MEMORY)"
        )
    return (
        f"dbt builds with {settings.build_threads} threads and DuckDB's memory capped at "
        f"{settings.duckdb_memory_limit} (EFFEKT_DBT_THREADS, EFFEKT_DUCKDB_MEMORY_LIMIT)"
    )


class DbtError(RuntimeError):
    """dbt failed; the message carries dbt's own summary lines."""


def dbt_executable() -> str:
    """The dbt next to this interpreter (the project's venv), else the one on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


# dbt commands that do not read the warehouse: no raw tables to export for Spark first.
OFFLINE_COMMANDS = {"parse", "compile", "deps", "clean", "debug", "list", "ls"}


def run_dbt(settings: Settings, args: list[str]) -> str:
    """Run a dbt command on the project with the pipeline's paths; return its output. On Spark
    the raw layer is exported as Parquet first (warehouse/spark.py)."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    if settings.on_spark and args[0] not in OFFLINE_COMMANDS:
        export_raw_sources(settings)
    env = child_environment(dbt_variables(settings))
    done = subprocess.run(
        [dbt_executable(), *args, "--project-dir", str(DBT_PROJECT_DIR)],
        cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        summary = [line for line in done.stdout.splitlines() if "ERROR" in line or "FAIL" in line]
        raise DbtError(
            f"dbt {' '.join(args)} failed:\n" + "\n".join(summary[-20:] or [done.stdout[-2000:]])
        )
    return done.stdout


# What the warehouse was last built from, written after each build that succeeded: the delivery
# number it was built through and the digest of the rules it was built with.
BUILD_STATE = "main.build_state"
BUILD_PLAN = "main.build_plan"  # this build's since_seq, for the models (macros/changed_keys.sql)
REPO = DBT_PROJECT_DIR.parent
RULE_SUFFIXES = {".sql", ".yml", ".yaml", ".csv", ".json", ".py"}
# What decides the warehouse's rows besides the data: models, macros, seeds, settings, and the
# contract with its code lists (the quality gate adds its suites and thresholds).
BUILD_RULE_FILES = [
    DBT_PROJECT_DIR / "models", DBT_PROJECT_DIR / "macros", DBT_PROJECT_DIR / "seeds",
    DBT_PROJECT_DIR / "dbt_project.yml", REPO / "orchestration" / "contract",
]  # fmt: skip


def digest_rule_files(roots: list[Path], seed: bytes = b"") -> str:
    """A SHA-256 of `seed` and each rule file under `roots` (a folder's files in sorted order, by
    path and content)."""
    digest = hashlib.sha256(seed)
    for root in roots:
        files = [root] if root.is_file() else sorted(root.rglob("*"))
        for path in (p for p in files if p.is_file() and p.suffix in RULE_SUFFIXES):
            digest.update(str(path.relative_to(REPO)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def rules_fingerprint() -> str:
    """A digest of the build's rules (BUILD_RULE_FILES)."""
    return digest_rule_files(BUILD_RULE_FILES)


@dataclass(frozen=True)
class BuildPlan:
    """How this build runs: incremental on the last one (`since_seq`), or everything again."""

    args: list[str]
    since_seq: int | None
    why: str


def plan_build(settings: Settings, rebuild: bool = False) -> BuildPlan:
    """Build on the last successful build when its rules are today's and the raw layer still
    holds the delivery it was built through: the incremental models then compute only the
    periods and keys that the deliveries since it changed. Everything again (`--full-refresh`)
    when asked, on a first build, when the rules changed, or when the history is not the one
    built on (a raw layer restored from an older copy)."""
    if settings.on_spark:
        return BuildPlan(
            ["--full-refresh"], None,
            f"on {settings.warehouse_engine}: everything, from the raw layer exported as Parquet",
        )  # fmt: skip
    if rebuild:
        return BuildPlan(["--full-refresh"], None, "a rebuild was asked for: everything again")
    if not settings.warehouse.exists():
        return BuildPlan([], None, "a first build: everything")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        # A record written before it named its delivery counts as none.
        known = con.execute(
            "select count(*) from information_schema.columns where table_schema = 'main' "
            "and table_name = 'build_state' and column_name = 'through_delivery_id'"
        ).fetchone()[0]
        state = (
            con.execute(
                f"select through_seq, fingerprint, through_delivery_id from {BUILD_STATE}"
            ).fetchone()
            if known
            else None
        )
    if state is None or state[0] is None:
        return BuildPlan(
            ["--full-refresh"],
            None,
            "no finished build recorded (none yet, or the last one failed): everything again",
        )
    if state[1] != rules_fingerprint():
        return BuildPlan(
            ["--full-refresh"], None, "models, code lists or the contract changed: everything again"
        )
    if _delivery_numbered(settings, state[0]) != state[2]:
        return BuildPlan(
            ["--full-refresh"], None,
            f"the raw layer no longer holds delivery number {state[0]} ({state[2]}) that the "
            "last build was built through: everything again",
        )  # fmt: skip
    return BuildPlan(
        [], state[0],
        f"on the build through delivery number {state[0]}: the periods changed since then",
    )  # fmt: skip


def _delivery_numbered(settings: Settings, seq: int) -> str | None:
    """The id of the loaded delivery with number `seq` in the raw layer's history, if any."""
    if not settings.raw_database.exists():
        return None
    with duckdb.connect(str(settings.raw_database), read_only=True) as raw:
        found = raw.execute(
            "select delivery_id from raw.deliveries where seq = ? and status = 'loaded'", [seq]
        ).fetchone()
    return found[0] if found else None


@contextmanager
def planned_build(settings: Settings, rebuild: bool = False) -> Iterator[BuildPlan]:
    """Plan a build (`plan_build`) for the caller to run with `plan.args`, and record it
    (`main.build_state`) when the block ends without an error. The record is deleted before the
    build starts, so a build that fails half way (some models already written from the new
    state) or is killed makes the next one build everything again. On Spark the raw layer is
    exported for the build, which computes everything, and nothing is recorded."""
    plan = plan_build(settings, rebuild=rebuild)
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    if settings.on_spark:  # no build state there: every build computes everything
        export_raw_sources(settings)
        yield plan
        return
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(f"drop table if exists {BUILD_STATE}")
        if plan.since_seq is None:
            # Everything again means the disclosure choices too, not those of the last build's
            # periods (orchestration/disclosure/suppression.py, which would reuse them).
            con.execute(f"drop schema if exists {SUPPRESSION_STATE_SCHEMA} cascade")
        # What the models build on (macro since_seq()): read when dbt runs, not passed as a var.
        con.execute(
            f"create or replace table {BUILD_PLAN} as select ?::integer as since_seq",
            [plan.since_seq],
        )
    yield plan
    record_build(settings)


def record_build(settings: Settings) -> None:
    """After a build that succeeded: the delivery number it was built through and its rules."""
    with duckdb.connect(str(settings.raw_database), read_only=True) as raw:
        current = raw.execute("select seq, delivery_id from raw.current_delivery").fetchone()
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute(
            f"create or replace table {BUILD_STATE} as select ?::integer as through_seq, "
            "?::varchar as through_delivery_id, ?::varchar as fingerprint, "
            "?::timestamptz as built_at",
            [*(current or (None, None)), rules_fingerprint(), dt.datetime.now(dt.UTC)],
        )


def ensure_manifest(manifest: Path | None = None, timeout: float = 600) -> Path:
    """Parse the dbt project when its manifest is missing or older than any project file.

    Processes that load the code location at once (the UI's code server, `effekt run`, test
    workers) take turns: one parses into a folder of its own and moves the manifest into place
    whole, so no process ever reads half of it. A current manifest is only read, so a checkout
    whose target folder is read-only loads too."""
    manifest = manifest or MANIFEST
    if _manifest_is_current(manifest):
        return manifest
    manifest.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(manifest.parent / ".parse.lock", timeout=timeout):
        if _manifest_is_current(manifest):  # another process parsed it while this one waited
            return manifest
        log.info("the dbt project changed since %s was written: parsing it", manifest)
        with tempfile.TemporaryDirectory(dir=manifest.parent, prefix=".parse-") as scratch:
            subprocess.run(
                [dbt_executable(), "parse", "--project-dir", str(DBT_PROJECT_DIR),
                 "--profiles-dir", str(DBT_PROJECT_DIR), "--target-path", scratch, "--quiet"],
                check=True, cwd=DBT_PROJECT_DIR,
            )  # fmt: skip
            # dbt's partial-parse state goes with the manifest it describes (dagster-dbt copies
            # it into each run's target folder), then the manifest itself, last.
            for name in ("partial_parse.msgpack", manifest.name):
                if (Path(scratch) / name).exists():
                    os.replace(Path(scratch) / name, manifest.parent / name)
    return manifest


def _manifest_is_current(manifest: Path) -> bool:
    sources = [
        p
        for folder in (DBT_PROJECT_DIR, DBT_PROJECT_DIR.parent / "orchestration" / "contract")
        for p in folder.rglob("*")
        if p.suffix in (".sql", ".yml", ".yaml", ".csv") and "target" not in p.parts
    ]
    newest = max(p.stat().st_mtime for p in sources)
    return manifest.exists() and manifest.stat().st_mtime >= newest


def docs_site(settings: Settings) -> Path:
    """dbt's documentation site for the project, as one page that opens offline: made by
    `dbt docs generate --static` against the warehouse, once per state of the project (its
    models, macros, seeds and the contract: `rules_fingerprint`), and kept beside the parsed
    manifest, since the warehouse's tables and columns follow from the project alone (DuckDB's
    catalogue has no statistics). A target folder that cannot be written is generated into
    each time."""
    page = MANIFEST.parent / f"docs-{rules_fingerprint()[:16]}.html"
    if page.exists():
        return page
    run_dbt(settings, ["docs", "generate", "--static"])
    made = settings.dbt_target_dir / "static_index.html"
    try:
        page.parent.mkdir(parents=True, exist_ok=True)
        scratch = page.with_name(f".{page.name}.{os.getpid()}")
        shutil.copyfile(made, scratch)
        os.replace(scratch, page)  # whole, for processes building side by side
        for older in page.parent.glob("docs-*.html"):
            if older != page:
                older.unlink(missing_ok=True)  # an earlier state of the project's
    except OSError:
        return made
    return page
