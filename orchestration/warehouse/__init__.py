"""The dbt project and how the pipeline runs it against its DuckDB files."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from orchestration.settings import DEFAULT_MEMORY_LIMIT, Settings

DBT_PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
# What a pipeline run builds: everything, with dbt's data tests; unit tests run in the test suite.
# No colour codes: dbt's lines go to log files.
BUILD_ARGS = ["build", "--exclude-resource-type", "unit_test", "--no-use-colors"]


def build_resources() -> dict[str, str]:
    """The threads and memory dbt builds with: EFFEKT_DBT_THREADS, by default one per core the
    machine has, and EFFEKT_DUCKDB_MEMORY_LIMIT, by default DEFAULT_MEMORY_LIMIT."""
    return {
        "EFFEKT_DBT_THREADS": os.environ.get("EFFEKT_DBT_THREADS") or str(os.cpu_count() or 1),
        "EFFEKT_DUCKDB_MEMORY_LIMIT": os.environ.get("EFFEKT_DUCKDB_MEMORY_LIMIT")
        or DEFAULT_MEMORY_LIMIT,
    }


def describe_build_resources() -> str:
    """One line for the log: what the build runs with."""
    resources = build_resources()
    return (
        f"dbt builds with {resources['EFFEKT_DBT_THREADS']} threads and DuckDB's memory capped "
        f"at {resources['EFFEKT_DUCKDB_MEMORY_LIMIT']} (EFFEKT_DBT_THREADS, EFFEKT_DUCKDB_MEMORY_LIMIT)"
    )


class DbtError(RuntimeError):
    """dbt failed; the message carries dbt's own summary lines."""


def dbt_executable() -> str:
    """The dbt next to this interpreter (the project's venv), else the one on PATH."""
    local = Path(sys.executable).parent / "dbt"
    return str(local) if local.exists() else (shutil.which("dbt") or "dbt")


def run_dbt(settings: Settings, args: list[str]) -> str:
    """Run a dbt command on the project with the pipeline's paths; return its output."""
    settings.warehouse.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        **settings.env(),
        **build_resources(),
        "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
        # dbt's artefacts and logs go with the data they describe, not into the repository.
        "DBT_TARGET_PATH": str((settings.data_dir / "dbt" / "target").resolve()),
        "DBT_LOG_PATH": str((settings.data_dir / "dbt" / "logs").resolve()),
        "DBT_USE_COLORS": "false",  # its lines go to files and test output, not a terminal
    }
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
