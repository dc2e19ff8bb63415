"""The `published` asset learns the gate's verdict from this run's check results in Dagster: a run
in which the gate did not run, or failed, publishes nothing."""

import json

import dagster as dg
import duckdb

from orchestration.disclosure.assets import disclosure_audit
from orchestration.publish import current_version
from orchestration.publish.assets import published
from orchestration.quality.assets import build_gate, gate_result
from orchestration.quality.gate import load_gate_results
from orchestration.resources import SettingsResource


def _run(settings, selection: dg.AssetSelection) -> dg.ExecuteInProcessResult:
    """One run of the selection, the way the daily job runs the gate and publishing."""
    resource = SettingsResource(**settings.config())
    defs = dg.Definitions(
        assets=[published], asset_checks=[build_gate, disclosure_audit],
        resources={"settings": resource},
        jobs=[dg.define_asset_job("publish_after_gate", selection=selection)],
    )  # fmt: skip
    return defs.resolve_job_def("publish_after_gate").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {
        e.event_specific_data.check_name: e.event_specific_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }


def test_the_manifest_says_what_the_checks_recorded_as_the_reports_do(own_warehouse):
    """Publishing reads the checks' results in Dagster, not the report files; both say the same."""
    checks = dg.AssetSelection.checks(build_gate, disclosure_audit)
    result = _run(own_warehouse, checks | dg.AssetSelection.assets(published))
    assert result.success
    manifest = json.loads((current_version(own_warehouse) / "manifest.json").read_text())
    report_dir = own_warehouse.data_dir / "reports" / result.run_id
    files = load_gate_results(report_dir).summary()
    assert gate_result(_evaluations(result).values(), result.run_id, report_dir).summary() == files
    assert manifest["checks"]["passed"] and manifest["checks"]["errors"] == files["errors"] == 0
    assert manifest["checks"]["row_level"] == files["row_level"] and files["row_level"]["why"]
    audit = json.loads((report_dir / "disclosure-audit.json").read_text())
    # The manifest carries the audit's summary, with the structural counts counted, not listed.
    expected = {k: v for k, v in audit.items() if k not in ("findings", "structural")}
    assert manifest["disclosure_audit"] == expected | {
        "structural_counts": len(audit["structural"])
    }


def test_a_run_without_the_gate_publishes_nothing(own_warehouse):
    result = _run(own_warehouse, dg.AssetSelection.assets(published))
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    assert message.strip().endswith(
        f"no quality gate ran in run {result.run_id}; nothing is published"
    )
    assert current_version(own_warehouse) is None


def test_a_run_whose_gate_failed_publishes_nothing(own_warehouse):
    con = duckdb.connect(str(own_warehouse.warehouse))
    con.execute("update staging.stg_goal_followups set gas_score = 9 where followup_id = "
                "(select min(followup_id) from staging.stg_goal_followups)")  # fmt: skip
    con.close()
    result = _run(
        own_warehouse, dg.AssetSelection.checks(build_gate) | dg.AssetSelection.assets(published)
    )
    assert not result.success
    evaluations = _evaluations(result)
    gas = evaluations["gx_stg_goal_followups"]
    assert not gas.passed and gas.severity == dg.AssetCheckSeverity.ERROR
    outcome = gas.metadata["gate_outcome"].value
    assert [(f["column"], f["unexpected_count"]) for f in outcome["failures"]] == [("gas_score", 1)]
    report_dir = own_warehouse.data_dir / "reports" / result.run_id
    from_checks = gate_result(evaluations.values(), result.run_id, report_dir)
    assert from_checks.summary() == load_gate_results(report_dir).summary()
    assert not from_checks.passed
    assert not result.asset_materializations_for_node("published__current")
    assert current_version(own_warehouse) is None
