"""Validation reports for quality coordinators: one per operating area, in HTML and CSV.

Each failing record is identified by delivery, entity, key (case, goal, assessment or follow-up
id), unit and source row: what a coordinator needs to get it fixed in the case system, and never
a CPR number or free text. Records whose unit is unknown go to a report of their own.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

import duckdb

from orchestration.quality.gate import GateResult
from orchestration.settings import Settings

UNKNOWN_AREA = "unknown_unit"
CSV_COLUMNS = ["severity", "suite", "expectation", "column", "failing_rows", "explanation_da",
               "explanation_en", "delivery_id", "entity", "row_key", "org_unit_id", "org_unit_name",
               "source_row"]  # fmt: skip


def unit_areas(settings: Settings) -> dict[str, tuple[str, str]]:
    """org_unit_id -> (operating area code, unit name) from the warehouse."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        rows = con.execute(
            "select org_unit_id, coalesce(operating_area, 'administration'), org_unit_name from marts.dim_org_unit"
        ).fetchall()
    finally:
        con.close()
    return {unit: (area, name) for unit, area, name in rows}


def write_area_reports(settings: Settings, result: GateResult) -> dict[str, Path]:
    """Write <report_dir>/areas/<area>.csv and .html; return the HTML path per area."""
    areas = unit_areas(settings)
    rows_by_area: dict[str, list[dict]] = {}
    for failure in result.failures:
        base = {
            "severity": failure.severity, "suite": failure.suite, "expectation": failure.expectation,
            "column": failure.column, "failing_rows": failure.unexpected_count,
            "explanation_da": failure.explanation_da, "explanation_en": failure.explanation_en,
        }  # fmt: skip
        records = failure.records or [{"org_unit_id": None}]
        for record in records:
            area, name = areas.get(record.get("org_unit_id") or "", (UNKNOWN_AREA, ""))
            rows_by_area.setdefault(area, []).append({**base, **record, "org_unit_name": name})
    out_dir = result.report_dir / "areas"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for area in sorted({a for a, _ in areas.values()} | set(rows_by_area)):
        rows = rows_by_area.get(area, [])
        with (out_dir / f"{area}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(rows)
        (out_dir / f"{area}.html").write_text(_area_html(area, rows, result), encoding="utf-8")
        written[area] = out_dir / f"{area}.html"
    return written


def _area_html(area: str, rows: list[dict], result: GateResult) -> str:
    e = html.escape
    summary: dict[tuple, int] = {}
    for row in rows:
        key = (
            row["severity"],
            row["suite"],
            row["column"],
            row["explanation_da"],
            row["explanation_en"],
        )
        summary[key] = summary.get(key, 0) + 1
    head = [
        "<!doctype html><html lang='da'><head><meta charset='utf-8'>",
        f"<title>Valideringsrapport {e(area)} ({e(result.run_id)})</title>",
        "<style>body{font-family:sans-serif;margin:2em}td,th{border:1px solid #ccc;padding:4px}"
        "table{border-collapse:collapse}.error{color:#a00}.warning{color:#a60}</style></head><body>",
        f"<h1>Valideringsrapport / validation report: {e(area)}</h1>",
        f"<p>Kørsel / run {e(result.run_id)}. Porten er {'bestået' if result.passed else 'IKKE bestået'} "
        f"/ the gate {'passed' if result.passed else 'FAILED'}.</p>",
    ]
    if not rows:
        return "\n".join(
            [
                *head,
                "<p>Ingen fejl i dette driftsområde. / No failures in this area.</p></body></html>",
            ]
        )
    table = ["<h2>Fejl / failures</h2><table><tr><th>alvor / severity</th><th>suite</th><th>kolonne</th>"
             "<th>forklaring</th><th>explanation</th><th>rækker i alt / failing rows (all areas)</th>"
             "<th>rækker her / rows here</th></tr>"]  # fmt: skip
    totals = {(r["severity"], r["suite"], r["column"]): r["failing_rows"] for r in rows}
    for (severity, suite, column, da, en), n in sorted(summary.items()):
        table.append(
            f"<tr class='{e(severity)}'><td>{e(severity)}</td><td>{e(suite)}</td><td>{e(column)}</td>"
            f"<td>{e(da)}</td><td>{e(en)}</td><td>{totals[(severity, suite, column)]}</td><td>{n}</td></tr>"
        )
    table.append("</table><h2>Rækker / records</h2><table><tr>"
                 + "".join(f"<th>{c}</th>" for c in CSV_COLUMNS[7:]) + "<th>suite</th><th>kolonne</th></tr>")  # fmt: skip
    for row in rows[:5000]:
        table.append("<tr>" + "".join(f"<td>{e(str(row.get(c) if row.get(c) is not None else ''))}</td>" for c in CSV_COLUMNS[7:])
                     + f"<td>{e(row['suite'])}</td><td>{e(row['column'])}</td></tr>")  # fmt: skip
    table.append("</table>")
    return "\n".join([*head, *table, "</body></html>"])


def write_index(reports_root: Path) -> Path:
    """An index of every run's reports, newest first."""
    runs = sorted((p for p in reports_root.iterdir() if any(p.glob("gate-*.json"))),
                  key=lambda p: p.stat().st_mtime, reverse=True)  # fmt: skip
    items = []
    for run in runs:
        areas = sorted((run / "areas").glob("*.html")) if (run / "areas").exists() else []
        links = " ".join(
            f"<a href='{run.name}/areas/{a.name}'>{html.escape(a.stem)}</a>" for a in areas
        )
        docs = f"<a href='{run.name}/data_docs/index.html'>Data Docs</a>"
        items.append(f"<li>{html.escape(run.name)}: {docs} {links}</li>")
    index = reports_root / "index.html"
    index.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>effekt validation reports</title></head>"
        "<body><h1>Valideringsrapporter / validation reports</h1><ul>"
        + "".join(items)
        + "</ul></body></html>",
        encoding="utf-8",
    )
    return index
