"""The gate as Dagster asset checks: one per suite, on the asset it guards, blocking on errors.

Two checks ops: the delivery gate after the ingest (an implausible delivery never reaches the
warehouse) and the build gate after dbt (a failed build is never published).

Each check result carries its suite's outcome as JSON metadata (OUTCOME): what publishing reads
from this run's check evaluations in Dagster (`gate_result`). The gate-*.json files in the run's
report folder are for people: status, alerts and the quality reports read them.
"""

from collections.abc import Iterable
from pathlib import Path

import dagster as dg

from orchestration import progress
from orchestration.instance import WRITER_POOL
from orchestration.locking import writer_lock
from orchestration.quality.gate import (
    Failure,
    GateResult,
    docs_folder,
    load_gate_results,
    run_gate,
)
from orchestration.quality.reports import write_area_reports, write_index
from orchestration.quality.suites import BUILD_SUITES, DELIVERY_SUITES, SUITES
from orchestration.resources import SettingsResource
from orchestration.settings import Settings

OUTCOME = "gate_outcome"  # the metadata entry of a gate's check with its suite's outcome


def check_name(suite: str) -> str:
    return f"gx_{suite}"


def _specs(names: list[str]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name=check_name(name),
            asset=dg.AssetKey(list(SUITES[name].guards)),
            blocking=True,
            description=f"Great Expectations suite {name}: errors block what follows, warnings are listed.",
        )
        for name in names
    ]


def _run(context, settings: Settings, names: list[str], gate_name: str):
    root = settings.reports_dir
    report_dir = settings.run_reports_dir(context.run.run_id)
    # The gate only reads, but DuckDB lets no reader in while a writer holds the file.
    with writer_lock(settings, context.log.info):
        result: GateResult = run_gate(
            settings, context.run.run_id, report_dir, names, settings.thresholds, gate_name
        )
    if settings.warehouse.exists():
        # Quarantined rows only once the warehouse holds this delivery (after the build).
        areas = write_area_reports(
            settings, load_gate_results(report_dir), with_quarantine=gate_name == "build"
        )
        area_folder = str(next(iter(areas.values())).parent)
    else:
        area_folder = str(report_dir)
    write_index(root)
    if gate_name == "build" or not result.passed:
        # The gate's verdict on the current delivery: it stands until something changes.
        progress.advance_current(
            settings, "gated" if result.passed else "blocked", context.run.run_id,
            gate=gate_name, report=str(report_dir),
        )  # fmt: skip
    summary = result.summary()
    for name in names:
        failures = result.failures_of(name)
        errors = [f for f in failures if f.severity == "error"]
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(list(SUITES[name].guards)),
            check_name=check_name(name),
            passed=not failures,
            severity=dg.AssetCheckSeverity.ERROR if errors else dg.AssetCheckSeverity.WARN,
            metadata={
                "rows_validated": result.suites[name]["rows"],
                "seconds": result.suites[name]["seconds"],
                "failed_expectations": len(failures),
                "failing_rows": sum(f.unexpected_count for f in failures),
                "failures": "; ".join(
                    f"{f.severity}: {f.column} ({f.unexpected_count})" for f in failures
                )
                or "none",
                "report_index": dg.MetadataValue.path(str(root / "index.html")),
                "data_docs": dg.MetadataValue.path(
                    str(docs_folder(report_dir, gate_name) / "index.html")
                ),
                "area_reports": dg.MetadataValue.path(area_folder),
                OUTCOME: dg.MetadataValue.json(_outcome(summary, name, gate_name)),
            },
        )


def _outcome(summary: dict, suite: str, gate_name: str) -> dict:
    """One suite's outcome with its gate's context (GateResult.summary: failures without their
    records), as plain JSON."""
    return {
        "gate": gate_name,
        "suite": suite,
        "run": summary["suites"][suite],
        "failures": [f for f in summary["failures"] if f["suite"] == suite],
    } | {k: summary[k] for k in ("baseline", "row_level", "acceptances")}


def gate_result(
    evaluations: Iterable[dg.AssetCheckEvaluation], run_id: str, report_dir: Path
) -> GateResult:
    """The gates' outcome from their checks' evaluations in one run: what load_gate_results
    reads from the run's report files, without the failing records, in the same order."""
    outcomes = [e.metadata[OUTCOME].value for e in evaluations if OUTCOME in e.metadata]
    result = GateResult(run_id, report_dir)
    gates: dict[str, dict] = {}
    for outcome in sorted(outcomes, key=lambda o: o["gate"]):
        result.suites[outcome["suite"]] = outcome["run"]
        result.failures += [Failure(**f) for f in outcome["failures"]]
        gates[outcome["gate"]] = outcome
    for outcome in gates.values():
        result.baseline = outcome["baseline"] or result.baseline
        result.row_level = outcome["row_level"] or result.row_level
        result.acceptances += outcome["acceptances"]
    return result


@dg.multi_asset_check(specs=_specs(DELIVERY_SUITES), name="delivery_gate", pool=WRITER_POOL)
def delivery_gate(context: dg.AssetCheckExecutionContext, settings: SettingsResource):
    """The delivery against the one last published: implausible changes stop the build."""
    yield from _run(context, settings.get(), DELIVERY_SUITES, "delivery")


@dg.multi_asset_check(specs=_specs(BUILD_SUITES), name="build_gate", pool=WRITER_POOL)
def build_gate(context: dg.AssetCheckExecutionContext, settings: SettingsResource):
    """Staged entities and indicator tables on the full data: errors stop publishing."""
    run_settings = settings.get()
    if run_settings.on_spark:
        # The gate, disclosure control and publishing read the DuckDB warehouse (docs/spark.md).
        raise dg.Failure(
            f"the warehouse was built on {run_settings.warehouse_engine} "
            "(EFFEKT_WAREHOUSE_ENGINE); gating and publishing read the DuckDB warehouse and are "
            "not supported from Spark yet: nothing is published (docs/spark.md)"
        )
    yield from _run(context, run_settings, BUILD_SUITES, "build")
