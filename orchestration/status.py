"""`effekt status`: what the person on call wants first. Last runs, what is published, what failed.

Read from the Dagster instance (runs), the published manifest, the latest gate reports and the
alerts file; nothing here opens the warehouse, so it answers while a run is writing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import dagster as dg

from orchestration.alerts import read_alerts
from orchestration.instance import dagster_home
from orchestration.publish import current_version
from orchestration.quality.gate import load_gate_results
from orchestration.reporting import Quarter
from orchestration.settings import Settings


def _when(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return dt.datetime.fromtimestamp(timestamp, dt.UTC).isoformat(timespec="seconds")


def _runs(settings: Settings, limit: int) -> list[dict]:
    home = dagster_home(settings)
    if not (home / "dagster.yaml").exists():
        return []
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        records = instance.get_run_records(limit=limit)
        return [
            {
                "run_id": r.dagster_run.run_id,
                "job": r.dagster_run.job_name,
                "status": r.dagster_run.status.value,
                "partition": r.dagster_run.tags.get("dagster/partition"),
                "delivery": r.dagster_run.tags.get("effekt/delivery"),
                "started": _when(r.start_time),
                "seconds": round(r.end_time - r.start_time, 1)
                if r.start_time and r.end_time
                else None,
            }
            for r in records
        ]
    finally:
        instance.dispose()


def _latest_gate(settings: Settings) -> dict | None:
    reports = settings.data_dir / "reports"
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


def _quarter_label(partition: str | None) -> str | None:
    try:
        return Quarter.of(dt.date.fromisoformat(partition)).label if partition else None
    except ValueError:
        return partition


def collect_status(settings: Settings, runs: int = 5) -> dict:
    version = current_version(settings)
    published = None
    if version is not None:
        manifest = json.loads((version / "manifest.json").read_text())
        published = {
            "version": manifest["version"],
            "published_at": manifest["published_at"],
            "run_id": manifest["run_id"],
            "deliveries": [d["delivery_id"] for d in manifest["deliveries"]],
            "open_file": str(settings.data_dir / "published" / "current" / "indicators.duckdb"),
        }
    return {
        "data_dir": str(settings.data_dir.resolve()),
        "runs": _runs(settings, runs),
        "published": published,
        "latest_gate": _latest_gate(settings),
        "alerts": read_alerts(settings, limit=3),
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
