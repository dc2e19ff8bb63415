"""`effekt status`: what the person on call wants first. What failed and what to do, where each
delivery stands, what is published, what waits in landing.

Read from files only: Dagster's run history (its SQLite file, read-only), the deliveries'
progress, the alerts, the published manifest and the latest gate report. Nothing here opens a
DuckDB file or imports Dagster or Great Expectations, so it answers in well under two seconds,
also while a run is writing.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from pathlib import Path

from orchestration.ingest.landing import scan_landing
from orchestration.progress import read_progress
from orchestration.settings import Settings
from orchestration.trace import read_alerts


def _when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def _uses_default_storage(home: Path) -> bool:
    """True when dagster.yaml keeps runs in the instance folder's SQLite files (effekt's default)."""
    config = (home / "dagster.yaml").read_text(encoding="utf-8")
    return not any(
        line.split(":")[0].strip() in ("storage", "run_storage") for line in config.splitlines()
    )


def _runs_from_sqlite(database: Path, limit: int) -> list[dict]:
    """Dagster's SqliteRunStorage tables `runs` and `run_tags`, read-only (dagster is pinned;
    tests/test_status.py checks this against Dagster's own API)."""
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        rows = con.execute(
            "select run_id, pipeline_name, status, start_time, end_time from runs "
            "order by id desc limit ?",
            [limit],
        ).fetchall()
        ids = [r[0] for r in rows]
        tags: dict[str, dict[str, str]] = {i: {} for i in ids}
        if ids:
            marks = ", ".join("?" for _ in ids)
            for run_id, key, value in con.execute(
                f"select run_id, key, value from run_tags where run_id in ({marks})", ids
            ):
                tags[run_id][key] = value
    finally:
        con.close()
    return [
        _run(run_id, job, state, start, end, tags[run_id])
        for run_id, job, state, start, end in rows
    ]


def _runs_from_dagster(home: Path, limit: int) -> list[dict]:
    """Any other run storage (e.g. PostgreSQL configured in dagster.yaml): Dagster's own API."""
    import dagster as dg

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        return [
            _run(
                r.dagster_run.run_id,
                r.dagster_run.job_name,
                r.dagster_run.status.value,
                r.start_time,
                r.end_time,
                dict(r.dagster_run.tags),
            )
            for r in instance.get_run_records(limit=limit)
        ]
    finally:
        instance.dispose()


def _run(run_id, job, state, start, end, tags: dict[str, str]) -> dict:
    return {
        "run_id": run_id,
        "job": job,
        "status": state,
        "partition": tags.get("dagster/partition"),
        "delivery": tags.get("effekt/delivery"),
        "started": _when(start),
        "seconds": round(end - start, 1) if start and end else None,
    }


def _runs(settings: Settings, limit: int) -> list[dict]:
    home = settings.dagster_home
    if not (home / "dagster.yaml").exists():
        return []
    database = home / "history" / "runs.db"
    if _uses_default_storage(home):
        return _runs_from_sqlite(database, limit) if database.exists() else []
    return _runs_from_dagster(home, limit)


def _latest_gate(settings: Settings) -> dict | None:
    from orchestration.quality.gate import load_gate_results

    reports = settings.reports_dir
    gates = sorted(reports.glob("*/gate-*.json"), key=lambda p: p.stat().st_mtime)
    if not gates:
        return None
    run_dir: Path = gates[-1].parent
    result = load_gate_results(run_dir)
    return {
        "run_id": run_dir.name,
        "passed": result.passed,
        "failed_checks": [
            {
                "suite": f.suite,
                "column": f.column,
                "severity": f.severity,
                "rows": f.unexpected_count,
                "explanation": f.explanation_en,
            }
            for f in result.failures
        ],
        "reports": str(run_dir / "areas") if (run_dir / "areas").is_dir() else str(run_dir),
    }


def _published(settings: Settings) -> dict | None:
    current = settings.published_current
    if not current.exists():
        return None
    manifest = json.loads((current.resolve() / "manifest.json").read_text(encoding="utf-8"))
    return {
        "version": manifest["version"],
        "published_at": manifest["published_at"],
        "run_id": manifest["run_id"],
        "deliveries": [d["delivery_id"] for d in manifest["deliveries"]],
        "open_file": str(current / "indicators.duckdb"),
    }


def _quarter_label(partition: str | None) -> str | None:
    if not partition:
        return None
    try:
        day = dt.date.fromisoformat(partition)
    except ValueError:
        return partition
    return f"{day.year}Q{(day.month - 1) // 3 + 1}"


FAILURE_FIELDS = ("failed_step", "reason", "file", "next", "report", "run_url")


def collect_status(settings: Settings, runs: int = 5) -> dict:
    alerts = read_alerts(settings, limit=max(runs, 3))
    by_run = {a["run_id"]: a for a in alerts}
    listed = _runs(settings, runs)
    for run in listed:
        alert = by_run.get(run["run_id"])
        if run["status"] == "FAILURE" or alert:
            run |= {k: (alert or {}).get(k) for k in FAILURE_FIELDS}
    landing = scan_landing(settings)
    deliveries = sorted(
        read_progress(settings).values(), key=lambda d: d.get("updated_at", ""), reverse=True
    )
    return {
        "data_dir": str(settings.data_dir.resolve()),
        "runs": listed,
        "last_failure": (
            {k: alerts[0].get(k) for k in ("run_id", "job", "at", *FAILURE_FIELDS)}
            if alerts
            else None
        ),
        "deliveries": [{k: v for k, v in d.items() if k != "history"} for d in deliveries[:runs]],
        "landing": landing.as_dict()
        | {"notes": landing.lines(), "pending_notes": landing.pending_lines()},
        "published": _published(settings),
        "latest_gate": _latest_gate(settings),
        "alerts": alerts[:3],
    }


def format_status(status: dict) -> str:
    lines = [f"effekt status for {status['data_dir']}", "", "Last runs:"]
    if not status["runs"]:
        lines.append("  none recorded (run `effekt run` or start the daemon)")
    for r in status["runs"]:
        extra = _quarter_label(r["partition"]) or r["delivery"] or ""
        took = f"{r['seconds']:.1f} s" if r["seconds"] is not None else "running"
        lines.append(
            f"  {r['started'] or '-':<26} {r['job']:<20} {r['status']:<10} {took:>7}  "
            f"{r['run_id'][:8]} {extra}".rstrip()
        )
        if r.get("failed_step"):
            lines.append(f"      failed in {r['failed_step']}: {r['reason']}")
    failure = status["last_failure"]
    if failure:
        lines += [
            "",
            f"Last failure: {failure['job']} run {failure['run_id'][:8]} at {failure['at']}",
        ]
        lines.append(f"  step:   {failure['failed_step'] or 'before any step ran'}")
        lines.append(f"  reason: {failure['reason']}")
        if failure.get("file"):
            lines.append(f"  file:   {failure['file']}")
        if failure.get("next"):
            lines.append(f"  next:   {failure['next']}")
        lines.append(f"  run:    {failure['run_url']}")
    if status["deliveries"]:
        lines += ["", "Deliveries (newest activity first):"]
        for d in status["deliveries"]:
            detail = d.get("version") or d.get("reason") or d.get("gate") or ""
            lines.append(
                f"  {d['delivery_id']:<40} {d['stage']:<10} {d['updated_at']}  {detail}".rstrip()
            )
    notes = status["landing"]["pending_notes"] + status["landing"]["notes"]
    lines += ["", f"Landing ({status['landing']['landing_dir']}):"]
    lines += [f"  {n}" for n in notes] or ["  nothing waiting, nothing odd"]
    p = status["published"]
    lines += ["", "Published:"]
    if p:
        lines.append(f"  version {p['version']} at {p['published_at']} (run {p['run_id'][:8]})")
        lines.append(f"  deliveries: {', '.join(p['deliveries'])}")
        lines.append(f"  BI tools read: {p['open_file']}")
    else:
        lines.append("  nothing published yet")
    g = status["latest_gate"]
    lines += ["", "Latest quality gate:"]
    if g is None:
        lines.append("  no gate has run yet")
    else:
        state = "passed" if g["passed"] else "FAILED"
        lines.append(f"  run {g['run_id'][:8]}: {state}; reports in {g['reports']}")
        for f in g["failed_checks"]:
            lines.append(
                f"  {f['severity']:<8} {f['suite']}: {f['column']} ({f['rows']:,} rows) "
                f"{f['explanation']}"
            )
    if status["alerts"]:
        lines += ["", "Recent alerts:"]
        lines += [f"  {a['at']}  {a['summary']}  {a['run_url']}" for a in status["alerts"]]
    return "\n".join(lines)
