"""The gate as Dagster asset checks: one per suite, on the asset it guards, blocking on errors.

Two checks ops: the delivery gate after the ingest (an implausible delivery never reaches the
warehouse) and the build gate after dbt (a failed build is never published).
"""

import dagster as dg

from orchestration import progress
from orchestration.instance import WRITER_POOL
from orchestration.locking import writer_lock
from orchestration.quality.gate import (
    GateResult,
    docs_folder,
    load_gate_results,
    run_gate,
)
from orchestration.quality.reports import write_area_reports, write_index
from orchestration.quality.suites import BUILD_SUITES, DELIVERY_SUITES, SUITES
from orchestration.resources import SettingsResource
from orchestration.settings import Settings


def _specs(names: list[str]) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name=f"gx_{name}",
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
    for name in names:
        failures = result.failures_of(name)
        errors = [f for f in failures if f.severity == "error"]
        yield dg.AssetCheckResult(
            asset_key=dg.AssetKey(list(SUITES[name].guards)),
            check_name=f"gx_{name}",
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
            },
        )


@dg.multi_asset_check(specs=_specs(DELIVERY_SUITES), name="delivery_gate", pool=WRITER_POOL)
def delivery_gate(context: dg.AssetCheckExecutionContext, settings: SettingsResource):
    """The delivery against the one last published: implausible changes stop the build."""
    yield from _run(context, settings.get(), DELIVERY_SUITES, "delivery")


@dg.multi_asset_check(specs=_specs(BUILD_SUITES), name="build_gate", pool=WRITER_POOL)
def build_gate(context: dg.AssetCheckExecutionContext, settings: SettingsResource):
    """Staged entities and indicator tables on the full data: errors stop publishing."""
    yield from _run(context, settings.get(), BUILD_SUITES, "build")
