"""Each delivery's way through the stages, so a run resumes where the last one stopped.

    loaded -> built -> gated -> published      (or refused at ingest, or blocked by a gate)

(A delivery older than the current one is `superseded`: archived, never part of the history.)

One JSON file, `<data>/state/deliveries.json`, replaced atomically by the step that moves a
delivery on (steps that write hold the writer lock, so there is one writer at a time). It is
read without any lock, so `effekt status` answers while a run is writing.

The newest loaded delivery is the current state. It needs a build when it has not reached
`published` and no gate has given a verdict on it: a run killed between stages, or a dbt build
that failed, is resumed by the next run. A gate's verdict stands until a new delivery lands, an
operator reopens the delivery (after accepting a drop) or asks for `effekt run --rebuild`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import duckdb

from orchestration.settings import Settings

STAGES = ("loaded", "built", "gated", "published")
VERDICTS = ("refused", "blocked", "superseded")


def progress_file(settings: Settings) -> Path:
    return settings.state_dir / "deliveries.json"


def read_progress(settings: Settings) -> dict[str, dict[str, Any]]:
    """delivery id -> its record; empty before the first delivery."""
    path = progress_file(settings)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}


def _write(settings: Settings, records: dict[str, dict[str, Any]]) -> None:
    path = progress_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".deliveries-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(records, f, indent=2, ensure_ascii=False)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def now() -> str:
    """A moment precise enough to order two deliveries loaded in one run."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def record(settings: Settings, delivery_id: str, stage: str, run_id: str, **details: Any) -> dict:
    """Move a delivery to `stage` (one of STAGES or VERDICTS), keeping when each stage was reached."""
    if stage not in STAGES + VERDICTS:
        raise ValueError(f"unknown stage {stage!r}")
    records = read_progress(settings)
    entry = records.setdefault(delivery_id, {"delivery_id": delivery_id, "history": []})
    entry.update(details)
    entry["stage"] = stage
    entry["run_id"] = run_id
    entry["updated_at"] = _now()
    if stage in STAGES:
        entry.pop("verdict", None)
    entry["history"].append({"stage": stage, "at": entry["updated_at"], "run_id": run_id})
    _write(settings, records)
    return entry


def current_delivery(settings: Settings) -> dict | None:
    """The delivery loaded last: the one a run builds, gates and publishes. With one
    municipality it is also the newest extract (an older one is superseded); with several, a
    municipality's delivery may be older than another's and still the one just loaded.
    Records written before `loaded_at` was recorded are ordered by extract time, before any
    that has it."""
    loaded = [
        r for r in read_progress(settings).values() if r["stage"] not in ("refused", "superseded")
    ]
    if not loaded:
        return None
    return max(
        loaded,
        key=lambda r: (r.get("loaded_at") or "", r.get("extract_time") or "", r["delivery_id"]),
    )


def advance_current(settings: Settings, stage: str, run_id: str, **details: Any) -> dict | None:
    """Move the current delivery on, e.g. to `built` after dbt, `published` after the switch."""
    current = current_delivery(settings)
    if current is None:
        return None
    return record(settings, current["delivery_id"], stage, run_id, **details)


def blocked_but_current(settings: Settings) -> list[dict]:
    """Deliveries a gate blocked that are still their municipality's current delivery in the
    raw layer, other than the delivery a run works on (its own gate judged that one again).
    With several municipalities every build includes them, so a publication would publish them
    with another municipality's delivery; with one, a blocked delivery is either the one the
    run gates or superseded by a newer one."""
    own = (current_delivery(settings) or {}).get("delivery_id")
    records = read_progress(settings)
    blocked = {d: r for d, r in records.items() if r["stage"] == "blocked" and d != own}
    if not blocked or not settings.raw_database.exists():
        return []
    with duckdb.connect(str(settings.raw_database), read_only=True) as con:
        rows = con.execute("select delivery_id from raw.current_deliveries").fetchall()
    current = {d for (d,) in rows}
    return [r for d, r in sorted(blocked.items()) if d in current]


def needs_build(settings: Settings) -> dict | None:
    """The current delivery when a run stopped before publishing it and no gate has judged it."""
    current = current_delivery(settings)
    if current is None or current["stage"] in ("published", "blocked"):
        return None
    return current


def reopen(settings: Settings, delivery_id: str, why: str, run_id: str = "") -> dict:
    """Let the next run build and gate a blocked delivery again (after an accepted drop)."""
    records = read_progress(settings)
    if delivery_id not in records or records[delivery_id]["stage"] in ("refused", "superseded"):
        raise ValueError(f"delivery {delivery_id} was never loaded, so there is nothing to reopen")
    return record(settings, delivery_id, "loaded", run_id, reopened=why)
