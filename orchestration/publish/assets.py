"""Publishing as a Dagster asset: downstream of every mart and indicator, so the gate's blocking
checks on them keep a failed build from ever being published.

What the manifest says about the checks comes from this run's asset check evaluations in
Dagster (their metadata), not from the report files the checks write for people.
"""

import dagster as dg

from orchestration import progress
from orchestration.disclosure.assets import AUDIT_CHECK, AUDIT_SUMMARY, OPEN_KEY
from orchestration.instance import WRITER_POOL
from orchestration.locking import writer_lock
from orchestration.publish import publish
from orchestration.quality.assets import check_name, gate_result
from orchestration.quality.suites import BUILD_SUITES, SUITES
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
    run_id = context.run.run_id
    checks = checks_of_run(context.instance, run_id)
    # A blocking check that failed stops this asset before it starts; these refuse a run in
    # which a check did not run at all (a selection without them, a check skipped).
    missing = [name for name in map(check_name, BUILD_SUITES) if name not in checks]
    if missing:
        what = (
            "no quality gate ran"
            if len(missing) == len(BUILD_SUITES)
            else f"the quality gate has no result for {', '.join(missing)}"
        )
        raise dg.Failure(f"{what} in run {run_id}; nothing is published")
    if AUDIT_CHECK not in checks:
        raise dg.Failure(f"no disclosure audit ran in run {run_id}; nothing is published")
    # The blocking checks stop this asset when they fail; said again here, so publishing never
    # rests on that alone.
    failed = [name for name, check in checks.items() if not check.passed and (
        name == AUDIT_CHECK or check.severity == dg.AssetCheckSeverity.ERROR)]  # fmt: skip
    if failed:
        raise dg.Failure(
            f"{', '.join(sorted(failed))} failed in run {run_id}; nothing is published"
        )
    held_back = progress.blocked_but_current(settings)
    if held_back:
        raise dg.Failure(
            "; ".join(
                f"delivery {r['delivery_id']} was blocked by the {r.get('gate', 'quality')} gate "
                f"(run {str(r.get('run_id', ''))[:8]}) and is still its municipality's current "
                "delivery"
                for r in held_back
            )
            + ": this build includes it, so publishing now would publish it. Check it and "
            "`effekt accept` it, or wait for that municipality's next delivery; nothing is "
            "published"
        )
    report_dir = settings.run_reports_dir(run_id)
    summary = gate_result(checks.values(), run_id, report_dir).summary()
    summary["disclosure_audit"] = checks[AUDIT_CHECK].metadata[AUDIT_SUMMARY].value
    with writer_lock(settings, context.log.info):
        version = publish(
            settings,
            run_id,
            summary,
            on_table=lambda t: context.log.debug(f"published {t}"),
        )
    progress.advance_current(settings, "published", run_id, version=version.version)
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


def checks_of_run(instance: dg.DagsterInstance, run_id: str) -> dict[str, dg.AssetCheckEvaluation]:
    """The asset check evaluations recorded in a run's event log, by check name (the last one
    of each, should a check have run twice)."""
    entries = instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
    evaluations = (e.asset_check_evaluation for e in entries)
    return {e.check_name: e for e in evaluations if e is not None}
