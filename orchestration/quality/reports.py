"""Validation reports for quality coordinators: one per operating area, in HTML and CSV.

A report lists everything a coordinator has to get fixed in the case system for the area's units:
every row of the current delivery the ingest quarantined and every row a Great Expectations check
failed on. Each row is named by entity, the case system's own keys (case, intervention, assessment,
goal or follow-up id, and the row it refers to), the source file and line, the reason in Danish and
English, and what to correct; never a CPR number or free text. Rows are grouped by unit, counted per
unit and reason, newest delivery first.

Everything is read from the warehouse, pseudonymised: quarantined rows from
intermediate.int_quarantined_rows, placed at their unit by the rule the data-quality indicator
counts them by, so a unit's count here is the indicator's. Rows that cannot be placed at a unit
(citizens, org units, orphan references, unknown units) go to the "unplaced" section of the
administration's report. Texts for quarantine reasons come from the extract contract.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.contract import load_contract
from orchestration.pages import page_templates
from orchestration.quality.gate import GateResult, docs_folder
from orchestration.settings import Settings

REPORT_TEMPLATES = page_templates("orchestration.quality")
ADMINISTRATION = "administration"
UNPLACED = "unplaced"
HTML_ROWS = 20_000  # rows listed per HTML report; the CSV always has every row
CSV_COLUMNS = [
    "section", "operating_area", "org_unit_id", "org_unit_name", "kind", "severity",
    "delivery_id", "entity", "key_columns", "row_key", "refers_to", "refers_to_key", "source_file",
    "source_row", "source_line", "columns", "reason", "reason_da", "reason_en", "instruction_da", "instruction_en",
    "named_org_unit_id", "suite", "expectation", "column",
]  # fmt: skip

# What to correct when a Great Expectations check fails, by the kind of check: the check's own
# explanation says what is wrong.
GX_INSTRUCTIONS = {
    "expect_column_values_to_be_unique": (
        "Fjern eller omnummerér dubletten i sagssystemet, så nøglen kun findes én gang.",
        "Remove or renumber the duplicate in the case system so the key occurs once.",
    ),
    "expect_column_values_to_be_in_set": (
        "Ret værdien eller henvisningen i sagssystemet til en gyldig kode eller en række, der findes.",
        "Correct the value or reference in the case system to a valid code or an existing row.",
    ),
    "expect_column_pair_values_a_to_be_greater_than_b": (
        "Ret datoerne (eller tallene) i sagssystemet, så de kommer i den rigtige rækkefølge.",
        "Correct the dates (or numbers) in the case system so they come in the right order.",
    ),
    "expect_column_values_to_be_between": (
        "Ret værdien i sagssystemet til en værdi i det tilladte interval.",
        "Correct the value in the case system to one in its allowed range.",
    ),
}
GX_DEFAULT_INSTRUCTION = (
    "Ret rækken i sagssystemet, så forklaringen ikke længere gælder; spørg dataansvarlig ved tvivl.",
    "Correct the row in the case system so the explanation no longer applies; ask the data team if in doubt.",
)

TEXT = {
    "da": {
        "title": "Valideringsrapport", "run": "Kørsel", "gate_passed": "Porten er bestået.",
        "gate_failed": "Porten er IKKE bestået: tallene offentliggøres ikke.",
        "intro": "Alt, der skal rettes i sagssystemet for driftsområdets enheder: rækker i karantæne "
                 "ved indlæsning og rækker, som en kvalitetskontrol fejlede på. Nyeste leverance først.",
        "nothing": "Intet at rette i dette driftsområde.", "summary": "Antal pr. enhed og årsag",
        "unit": "Enhed", "reason": "Årsag", "rows": "Rækker", "total": "I alt",
        "checks": "Fejlede kvalitetskontroller", "severity": "Alvor", "column": "Kolonne",
        "explanation": "Forklaring", "all_areas": "Rækker i alt (alle områder)", "here": "Rækker her",
        "unplaced": "Uden placering", "unplaced_intro": "Rækker, der ikke kan placeres ved en enhed "
                    "(borgere, enheder, henvisninger til rækker, der ikke findes, ukendte enheder).",
        "kind": {"quarantine": "karantæne", "check": "kontrol"},
        "head": ["Leverance", "Type", "Entitet", "Nøgle", "Henviser til", "Fil", "Linje", "Felter",
                 "Årsag", "Hvad skal rettes"],
        "not_listed": "{n} rækker mere er ikke vist her; se CSV-filen.",
        "records_cut": "Kontrollen fejlede på {n} rækker; {k} er gemt og vist.",
    },
    "en": {
        "title": "Validation report", "run": "Run", "gate_passed": "The gate passed.",
        "gate_failed": "The gate FAILED: the figures are not published.",
        "intro": "Everything to fix in the case system for the area's units: rows quarantined at "
                 "load and rows a quality check failed on. Newest delivery first.",
        "nothing": "Nothing to fix in this area.", "summary": "Counts per unit and reason",
        "unit": "Unit", "reason": "Reason", "rows": "Rows", "total": "Total",
        "checks": "Failed quality checks", "severity": "Severity", "column": "Column",
        "explanation": "Explanation", "all_areas": "Failing rows (all areas)", "here": "Rows here",
        "unplaced": "Unplaced", "unplaced_intro": "Rows that cannot be placed at a unit (citizens, "
                    "units, references to rows that do not exist, unknown units).",
        "kind": {"quarantine": "quarantine", "check": "check"},
        "head": ["Delivery", "Kind", "Entity", "Key", "Refers to", "File", "Line", "Fields",
                 "Reason", "What to correct"],
        "not_listed": "{n} more rows are not shown here; see the CSV file.",
        "records_cut": "The check failed on {n} rows; {k} are kept and shown.",
    },
}  # fmt: skip


@dataclass(frozen=True)
class Unit:
    org_unit_id: str
    name: str
    level: int
    area: str  # operating area code, or "administration" for level 1


def units(con: duckdb.DuckDBPyConnection) -> dict[str, Unit]:
    """Every unit of the warehouse with the report (operating area) it belongs to."""
    rows = con.execute(
        f"select org_unit_id, org_unit_name, org_level, coalesce(operating_area, '{ADMINISTRATION}') "
        "from marts.dim_org_unit"
    ).fetchall()
    return {u: Unit(u, name, level, area) for u, name, level, area in rows}


def area_names(con: duckdb.DuckDBPyConnection, lang: str) -> dict[str, str]:
    rows = con.execute(
        f"select operating_area, operating_area_name_{lang} from marts.dim_org_unit "
        "where org_level = 2 and operating_area is not null"
    ).fetchall()
    return dict(rows)


def _key_columns() -> dict[str, str]:
    """entity -> the names of its key columns; none for an entity keyed by a CPR number."""
    out = {}
    for name, entity in load_contract().entities.items():
        personal = any(entity.column(k).personal for k in entity.key)
        out[name] = "" if personal else "|".join(entity.key)
    return out


def quarantined_rows(con: duckdb.DuckDBPyConnection) -> list[dict]:
    """The current delivery's quarantined rows with their unit, from the pseudonymised warehouse."""
    reasons = load_contract().reasons
    keys = _key_columns()
    frame = con.execute(
        """select q.delivery_id, f.extract_time, q.entity, q.source_file, q.source_row, q.reason,
                  q.reason_columns, q.row_key, q.parent_entity, q.parent_key, q.named_org_unit_id,
                  q.org_unit_id
           from intermediate.int_quarantined_rows as q
           left join staging.stg_delivery_files as f
             on f.delivery_id = q.delivery_id and f.entity = q.entity"""
    ).fetchall()
    rows = []
    for (delivery_id, extract_time, entity, source_file, source_row, reason, columns, row_key,
         parent_entity, parent_key, named_unit, unit) in frame:  # fmt: skip
        r = reasons.get(reason)
        rows.append({
            "kind": "quarantine", "severity": "error", "delivery_id": delivery_id,
            "extract_time": extract_time, "entity": entity, "key_columns": keys.get(entity, ""),
            "row_key": row_key, "refers_to": parent_entity or "",
            "refers_to_key": parent_key if parent_entity else None, "source_file": source_file,
            "source_row": source_row, "columns": columns or "", "reason": reason,
            "reason_da": r.description_da if r else reason, "reason_en": r.description if r else reason,
            "instruction_da": r.instruction_da if r else "", "instruction_en": r.instruction_en if r else "",
            "named_org_unit_id": named_unit, "org_unit_id": unit,
        })  # fmt: skip
    return rows


def check_rows(con: duckdb.DuckDBPyConnection, result: GateResult) -> list[dict]:
    """One row per failing record and Great Expectations check (a check without records: one)."""
    keys = _key_columns()
    files = {
        (d, e): (f, t)
        for d, t, e, f in con.execute(
            "select delivery_id, extract_time, entity, source_file from staging.stg_delivery_files"
        ).fetchall()
    }
    rows = []
    for failure in result.failures:
        instruction = GX_INSTRUCTIONS.get(failure.expectation, GX_DEFAULT_INSTRUCTION)
        base = {
            "kind": "check", "severity": failure.severity, "suite": failure.suite,
            "expectation": failure.expectation, "column": failure.column,
            "columns": failure.column, "reason": f"{failure.suite}.{failure.column}",
            "reason_da": failure.explanation_da, "reason_en": failure.explanation_en,
            "instruction_da": instruction[0], "instruction_en": instruction[1],
            "failing_rows": failure.unexpected_count, "records_kept": len(failure.records),
        }  # fmt: skip
        for record in failure.records or [{}]:
            entity = record.get("entity")
            source_file, extract_time = files.get((record.get("delivery_id"), entity), (None, None))
            rows.append({
                **base, "delivery_id": record.get("delivery_id"), "extract_time": extract_time,
                "entity": entity, "key_columns": keys.get(entity, ""),
                "row_key": record.get("row_key"), "source_file": source_file,
                "source_row": record.get("source_row"),
                "named_org_unit_id": record.get("org_unit_id"), "org_unit_id": record.get("org_unit_id"),
            })  # fmt: skip
    return rows


def add_source_lines(settings: Settings, rows: list[dict]) -> None:
    """The line each row starts on in its CSV file as delivered (header: line 1), from the
    archived delivery: a record and its line differ where a quoted field holds a line break.
    Parquet rows keep their record number only (shown as #N)."""
    from orchestration.ingest.delivery import DeliveryRefused, read_manifest, record_lines

    wanted: dict[tuple[str, str], set[int]] = {}
    for row in rows:
        if row.get("delivery_id") and row.get("source_file") and row.get("source_row"):
            wanted.setdefault((row["delivery_id"], row["source_file"]), set()).add(
                row["source_row"]
            )
    lines: dict[tuple[str, str], dict[int, int]] = {}
    for (delivery_id, file), records in wanted.items():
        folder = settings.archive_dir / delivery_id
        try:
            spec = next(s for s in read_manifest(folder).files.values() if s.file == file)
        except (DeliveryRefused, StopIteration, OSError):
            continue  # no archived copy to count lines in: the record number stands
        lines[delivery_id, file] = record_lines(folder, spec, records)
    for row in rows:
        found = lines.get((row.get("delivery_id"), row.get("source_file")), {})
        row["source_line"] = found.get(row.get("source_row"))


def place(rows: list[dict], known: dict[str, Unit]) -> dict[str, list[dict]]:
    """Rows per report: the area of the row's unit, or the administration's unplaced section."""
    by_area: dict[str, list[dict]] = {}
    for row in rows:
        unit = known.get(row.get("org_unit_id") or "")
        if unit is None:
            row |= {"section": UNPLACED, "operating_area": ADMINISTRATION, "org_unit_id": None,
                    "org_unit_name": ""}  # fmt: skip
            by_area.setdefault(ADMINISTRATION, []).append(row)
        else:
            row |= {"section": "unit", "operating_area": unit.area, "org_unit_name": unit.name}
            by_area.setdefault(unit.area, []).append(row)
    for area_rows in by_area.values():
        area_rows.sort(key=_order)
    return by_area


def _order(row: dict):
    """Unplaced last; by unit name; newest delivery first; then entity, file line and reason."""
    extract = row.get("extract_time")
    newest_first = -extract.timestamp() if extract is not None else 0.0
    return (row["section"] == UNPLACED, row.get("org_unit_name") or "", newest_first,
            row.get("delivery_id") or "", row.get("entity") or "", row.get("source_row") or 0,
            row["kind"], row.get("reason") or "")  # fmt: skip


def write_area_reports(
    settings: Settings, result: GateResult, lang: str = "da", with_quarantine: bool = True
) -> dict[str, Path]:
    """Write <report_dir>/areas/<area>.csv and .html; return the HTML path per area.

    `with_quarantine` is False before the warehouse holds the gate's delivery (the delivery gate):
    its quarantined rows are then the previous delivery's, so they are left out.
    """
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        known = units(con)
        names = area_names(con, lang)
        rows = (quarantined_rows(con) if with_quarantine else []) + check_rows(con, result)
    finally:
        con.close()
    add_source_lines(settings, rows)
    by_area = place(rows, known)
    out_dir = result.report_dir / "areas"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for area in sorted({u.area for u in known.values()} | set(by_area)):
        area_rows = by_area.get(area, [])
        with (out_dir / f"{area}.csv").open("w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore")
            writer.writeheader()
            writer.writerows(area_rows)
        title = names.get(area) or ("Socialforvaltningen" if area == ADMINISTRATION else area)
        if area == ADMINISTRATION:
            title = next((u.name for u in known.values() if u.level == 1), title)
        (out_dir / f"{area}.html").write_text(
            _area_html(area, title, area_rows, result, lang), encoding="utf-8"
        )
        written[area] = out_dir / f"{area}.html"
    return written


def _area_html(area: str, title: str, rows: list[dict], result: GateResult, lang: str) -> str:
    """The area's page from templates/area-report.html, which escapes every text: counts per
    unit and reason, the failed checks, then the rows unit by unit (the first HTML_ROWS)."""
    t = TEXT[lang]
    reason_text = f"reason_{lang}"
    counts = Counter(
        (r.get("org_unit_name") or t["unplaced"], r[reason_text] or r["reason"]) for r in rows
    )
    summary = [
        (unit, reason, n)
        for (unit, reason), n in sorted(
            counts.items(), key=lambda x: (x[0][0] == t["unplaced"], x[0][0], -x[1])
        )
    ]
    per_check = Counter(
        (r["severity"], r["suite"], r["column"], r["reason_da"], r["reason_en"],
         r["failing_rows"], r["records_kept"]) for r in rows if r["kind"] == "check"
    )  # fmt: skip
    checks = []
    for (severity, suite, column, da, en, total, kept), n in sorted(per_check.items()):
        cut = f" {t['records_cut'].format(n=total, k=kept)}" if kept < total else ""
        checks.append({
            "severity": severity, "suite": suite, "column": column,
            "explanation": f"{da if lang == 'da' else en}{cut}", "failing_rows": total,
            "rows_here": n,
        })  # fmt: skip
    listed = 0
    sections: dict[tuple, dict] = {}
    for row in rows:
        key = (row["section"], row.get("org_unit_id"), row.get("org_unit_name"))
        section = sections.setdefault(key, {
            "unplaced": row["section"] == UNPLACED, "unit_id": key[1], "unit_name": key[2],
            "count": 0, "rows": [],
        })  # fmt: skip
        section["count"] += 1
        if listed < HTML_ROWS:
            listed += 1
            cells = [_text(v) for v in _cells(row, lang, t)]
            section["rows"].append({"severity": row["severity"], "cells": cells})
    return REPORT_TEMPLATES.get_template("area-report.html").render(
        lang=lang,
        t=t,
        title=title,
        run_id=result.run_id,
        passed=result.passed,
        total=len(rows),
        summary=summary,
        checks=checks,
        sections=list(sections.values()),
        not_listed=t["not_listed"].format(n=len(rows) - listed) if listed < len(rows) else "",
    )


def _cells(row: dict, lang: str, t: dict) -> list:
    key = row.get("row_key")
    key_text = f"{row['key_columns']} {key}" if key is not None and row.get("key_columns") else key
    refers = f"{row['refers_to']} {row['refers_to_key']}" if row.get("refers_to") else ""
    named = row.get("named_org_unit_id")
    reason = row[f"reason_{lang}"] or row.get("reason")
    if row["section"] == UNPLACED and named:
        reason = f"{reason} ({t['unit']} {named})"
    return [
        row.get("delivery_id"),
        t["kind"][row["kind"]],
        row.get("entity"),
        key_text,
        refers,
        row.get("source_file"),
        row.get("source_line") or (f"#{row['source_row']}" if row.get("source_row") else None),
        row.get("columns"),
        reason,
        row[f"instruction_{lang}"],
    ]


def _text(value) -> str:
    return "" if value is None else str(value)


def write_index(reports_root: Path) -> Path:
    """An index of every run's reports, newest first."""
    runs = sorted((p for p in reports_root.iterdir() if any(p.glob("gate-*.json"))),
                  key=lambda p: p.stat().st_mtime, reverse=True)  # fmt: skip
    listed = []
    for run in runs:
        areas = sorted((run / "areas").glob("*.html")) if (run / "areas").exists() else []
        gates = sorted(p.stem.removeprefix("gate-") for p in run.glob("gate-*.json"))
        listed.append({
            "name": run.name,
            "docs": [(gate, f"{docs_folder(Path(run.name), gate).as_posix()}/index.html")
                     for gate in gates],
            "areas": [(a.stem, f"{run.name}/areas/{a.name}") for a in areas],
        })  # fmt: skip
    index = reports_root / "index.html"
    index.write_text(
        REPORT_TEMPLATES.get_template("index.html").render(runs=listed), encoding="utf-8"
    )
    return index
