"""Publishing as a Dagster asset: downstream of every mart and indicator, so the gate's blocking
checks on them keep a failed build from ever being published."""

import json

import dagster as dg

from orchestration import progress
from orchestration.disclosure.assets import OPEN_KEY, audit_report_path
from orchestration.instance import WRITER_POOL
from orchestration.locking import writer_lock
from orchestration.publish import publish
from orchestration.quality.gate import load_gate_results
from orchestration.quality.suites import SUITES
from orchestration.resources import SettingsResource
from orchestration.settings import Settings
from orchestration.tables import OPEN_TABLES, RESTRICTED_MARTS

PUBLISH_GROUP = "publish"
PUBLISHED_TABLES = [["indicators", t] for t in OPEN_TABLES] + [
    ["marts", t] for t in RESTRICTED_MARTS
]
GUARDED = sorted({suite.guards for suite in SUITES.values()})


@dg.asset(
    key=["published", "current"],
    deps=[dg.AssetKey(k) for k in PUBLISHED_TABLES]
    + [dg.AssetKey(list(g)) for g in GUARDED]
    + [OPEN_KEY],
    group_name=PUBLISH_GROUP,
    kinds={"duckdb", "parquet"},
    pool=WRITER_POOL,
    description="A new published version (open indicators, restricted marts, Parquet, manifest), switched in atomically.",
)
def published(
    context: dg.AssetExecutionContext, settings: SettingsResource
) -> dg.MaterializeResult:
    return _publish(context, settings.get())


def _publish(context: dg.AssetExecutionContext, settings: Settings) -> dg.MaterializeResult:
    report_dir = settings.run_reports_dir(context.run.run_id)
    if not (report_dir / "gate-build.json").exists():
        raise dg.Failure(f"no quality gate ran in run {context.run.run_id}; nothing is published")
    summary = load_gate_results(report_dir).summary()
    audit_report = audit_report_path(report_dir)
    if not audit_report.exists():
        raise dg.Failure(
            f"no disclosure audit ran in run {context.run.run_id}; nothing is published"
        )
    audit = json.loads(audit_report.read_text(encoding="utf-8"))
    if not audit["passed"]:
        raise dg.Failure(f"the disclosure audit failed ({audit_report}); nothing is published")
    summary["disclosure_audit"] = {k: v for k, v in audit.items() if k != "findings"}
    with writer_lock(settings, context.log.info):
        version = publish(
            settings,
            context.run.run_id,
            summary,
            on_table=lambda t: context.log.debug(f"published {t}"),
        )
    progress.advance_current(settings, "published", context.run.run_id, version=version.version)
    return dg.MaterializeResult(
        metadata={
            "version": version.version,
            "path": dg.MetadataValue.path(str(version.path)),
            "open_file": dg.MetadataValue.path(
                str(settings.published_current / "indicators.duckdb")
            ),
            "warnings": summary["warnings"],
            "rows_published": sum(version.manifest["row_counts"].values()),
        }
    )
