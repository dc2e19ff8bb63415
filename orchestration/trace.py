"""What a failed run leaves behind for the person on call: one JSON line per failed run.

Kept free of Dagster so that `effekt status` reads it in a fraction of a second.
"""

from __future__ import annotations

import json
from pathlib import Path

from orchestration.settings import Settings


def read_alerts(settings: Settings, limit: int = 10) -> list[dict]:
    """The newest alerts first."""
    path = settings.alerts_file
    if not path.exists():
        return []
    lines = [line for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [json.loads(line) for line in reversed(lines[-limit:])]


def already_alerted(path: Path, run_id: str) -> bool:
    """An in-process run writes its own alert; the daemon's sensor may see the same run."""
    if not path.exists():
        return False
    return any(
        json.loads(line).get("run_id") == run_id
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    )
