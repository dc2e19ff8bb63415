"""Disclosure control as a Dagster asset and its blocking audit check.

The open copies are built after the build gate passed; the audit reads them as a BI user would,
and `published` depends on them, so a failed audit leaves the previous version current. The
audit's summary goes to publishing in its check result's metadata (AUDIT_SUMMARY); the report
file with every finding is for people (alerts point to it).
"""

import json
from pathlib import Path

import dagster as dg
import duckdb

from orchestration.disclosure import OPEN_SCHEMA, OPEN_TABLES, DisclosureRules
from orchestration.instance import WRITER_POOL
from orchestration.locking import writer_lock
from orchestration.resources import SettingsResource

OPEN_KEY = dg.AssetKey([OPEN_SCHEMA, "indicators"])
AUDIT_REPORT = "disclosure-audit.json"
AUDIT_CHECK = "disclosure_audit"
AUDIT_SUMMARY = "audit_summary"  # the metadata entry: the audit's summary without its findings
SHOWN_FINDINGS = 20


def audit_report_path(report_dir: Path) -> Path:
    return report_dir / AUDIT_REPORT


@dg.asset(
    key=OPEN_KEY,
    deps=[dg.AssetKey(["indicators", t]) for t in OPEN_TABLES],
    group_name="publish",
    kinds={"duckdb", "highs"},
    pool=WRITER_POOL,
    description=(
        "The open indicator tables with secondary suppression chosen over every table at once "
        "(docs/disclosure-control.md)."
    ),
)
def open_indicators(context: dg.AssetExecutionContext, settings: SettingsResource):
    from orchestration.disclosure.suppression import suppress

    run_settings = settings.get()
    rules = DisclosureRules.from_settings(run_settings)
    if not rules.secondary:
        context.log.warning("EFFEKT_SECONDARY_SUPPRESSION=off: only primary cells are withheld")
    with writer_lock(run_settings, context.log.info):
        con = duckdb.connect(str(run_settings.warehouse))
        try:
            result = suppress(con, rules, log=context.log.debug)
        finally:
            con.close()
    context.log.info(
        f"secondary suppression: {result.solved_periods} periods solved, {result.kept_periods} "
        "kept the last suppression's choices (their cells did not change)"
    )
    summary = result.summary()
    return dg.MaterializeResult(
        metadata={
            "cells": sum(result.cells.values()),
            "primary": sum(result.primary.values()),
            "secondary": sum(result.secondary.values()),
            "rounds": result.rounds,
            # Periods whose cells are those the last suppression saw keep its choices.
            "periods_solved": result.solved_periods,
            "periods_kept": result.kept_periods,
            "seconds": round(result.seconds, 1),
            "per_table": dg.MetadataValue.json(summary["tables"]),
        }
    )


@dg.asset_check(
    asset=OPEN_KEY,
    name=AUDIT_CHECK,
    blocking=True,
    pool=WRITER_POOL,
    description=(
        "Reads the open tables as a BI user would and fails when a primary cell's count can be "
        "worked out to within the protection interval."
    ),
)
def disclosure_audit(context: dg.AssetCheckExecutionContext, settings: SettingsResource):
    from orchestration.disclosure.audit import audit, read_open_tables

    run_settings = settings.get()
    rules = DisclosureRules.from_settings(run_settings)
    # The audit only reads, but DuckDB lets no reader in while a writer holds the file.
    with writer_lock(run_settings, context.log.info):
        con = duckdb.connect(str(run_settings.warehouse), read_only=True)
        try:
            tables = read_open_tables(con, OPEN_SCHEMA)
        finally:
            con.close()
    result = audit(tables, rules)
    report = audit_report_path(run_settings.run_reports_dir(context.run.run_id))
    report.parent.mkdir(parents=True, exist_ok=True)
    summary = result.summary()
    report.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    for finding in result.findings[:SHOWN_FINDINGS]:
        context.log.error(f"disclosure audit: {finding.describe()}")
    if result.structural:
        context.log.warning(
            f"disclosure audit: {len(result.structural)} primary counts are narrow from which rows "
            f"exist, their labels and the zeros published alone (no suppression changes that), "
            f"listed in {report}"
        )
    return dg.AssetCheckResult(
        passed=result.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=(
            "every primary cell is protected"
            if result.passed
            else f"{len(result.findings)} primary cell counts can be narrowed down: "
            + "; ".join(f.describe() for f in result.findings[:3])
        ),
        metadata={
            "primary_counts_checked": result.checked_counts,
            "findings": len(result.findings),
            "structural": len(result.structural),
            "relations": result.relations,
            "seconds": round(result.seconds, 1),
            "report": dg.MetadataValue.path(str(report)),
            AUDIT_SUMMARY: dg.MetadataValue.json(
                {k: v for k, v in summary.items() if k not in ("findings", "structural")}
                | {"structural_counts": len(result.structural)}
            ),
        },
    )
