"""The Dagster instance the commands and `dagster dev` share: run history, pools, run queue.

`DAGSTER_HOME` defaults to `<data folder>/dagster`. Its `dagster.yaml` is written on first use
and sets what keeps the DuckDB files safe: the `duckdb_writer` pool admits one step at a time,
and at most one run that writes the warehouse is in progress (the run queue holds the others).
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import yaml
from filelock import FileLock

from orchestration.settings import Settings

__all__ = ["WRITER_POOL", "WRITER_RUN_TAG", "ensure_dagster_home", "get_instance"]

WRITER_POOL = "duckdb_writer"
WRITER_RUN_TAG = "effekt/writes_warehouse"
INSTANCE_CONFIG = {
    "concurrency": {
        "pools": {"default_limit": 1},
        "runs": {
            "max_concurrent_runs": 4,
            "tag_concurrency_limits": [{"key": WRITER_RUN_TAG, "limit": 1}],
        },
    },
    "telemetry": {"enabled": False},
}


def ensure_dagster_home(settings: Settings) -> Path:
    """Create the instance folder and its dagster.yaml (kept if someone has edited it)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(
            "# Written by effekt (orchestration/instance.py); edit freely, it is not overwritten.\n"
            + yaml.safe_dump(INSTANCE_CONFIG, sort_keys=False)
        )
    return home


def get_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance, so `effekt status` and the UI see every run."""
    home = ensure_dagster_home(settings)
    # Two commands started together on a fresh folder would both create the SQLite tables.
    with FileLock(home / ".init.lock"):
        instance = dg.DagsterInstance.from_config(str(home))
        instance.get_run_records(limit=1)  # every storage created before the lock is let go
    return instance
