"""The disclosure audit as a blocking gate in the daily job: an exposed cell stops publishing."""

import datetime as dt
import json

import dagster as dg

from orchestration.alerts import SUMMARY_WIDTH, build_alert, step_failure
from orchestration.publish import current_version
from orchestration.settings import Settings
from tests.conftest import KEY
from tests.publish.test_publish import checksums
from tests.publish.test_refresh_gate import _land


def test_with_secondary_suppression_off_the_audit_fails_and_the_old_version_stays(
    published_march, tmp_path, monkeypatch
):
    """On a copy of a data folder that published a delivery (2019-03-31) with suppression on."""
    settings = Settings(data_dir=published_march.copy(tmp_path).data_dir)
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY", KEY.decode())
    monkeypatch.setenv("EFFEKT_DATA_DIR", str(settings.data_dir))
    for variable in ("EFFEKT_LANDING_DIR", "EFFEKT_RAW_DIR", "EFFEKT_WAREHOUSE"):
        monkeypatch.delenv(variable, raising=False)
    from orchestration.definitions import defs

    def run():
        return defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )

    published = current_version(settings)
    manifest = json.loads((published / "manifest.json").read_text())
    assert manifest["disclosure_audit"]["passed"] is True
    assert manifest["disclosure_audit"]["primary_counts_checked"] > 0
    sums = checksums(published)

    monkeypatch.setenv("EFFEKT_SECONDARY_SUPPRESSION", "off")
    later = _land(settings, tmp_path / "store", dt.date(2019, 6, 30))
    drill = run()
    assert not drill.success
    evaluations = [
        e.event_specific_data
        for e in drill.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    audit = next(e for e in evaluations if e.check_name == "disclosure_audit")
    assert not audit.passed
    report = json.loads(
        (settings.data_dir / "reports" / drill.run_id / "disclosure-audit.json").read_text()
    )
    assert not report["passed"] and report["findings"]
    first_finding = report["findings"][0]
    # The report names the table, the cell and the count, and the range it can be narrowed to.
    assert {"table", "cell", "count", "smallest", "largest"} <= set(first_finding)
    assert first_finding["cell"]["org_unit_id"] in first_finding["text"]
    # The alert an on-call engineer reads names the exposed cells and the report.
    failed = next(
        e for e in drill.all_events
        if e.event_type_value == "STEP_FAILURE" and e.step_key == "open__indicators_disclosure_audit"
    )  # fmt: skip
    alert = step_failure(settings, drill.run_id, failed)
    assert first_finding["text"] in alert["reason"]
    assert alert["file"].endswith("disclosure-audit.json") and "report" in alert["next"]
    # Its one-line summary is cut at a word and says so: the reasons run to many cells.
    summary = build_alert(settings, drill.run_id, "daily_refresh", {}, [failed])["summary"]
    assert len(summary) <= SUMMARY_WIDTH and summary.endswith("\u2026 (effekt status has the rest)")
    assert (
        summary.removesuffix(" \u2026 (effekt status has the rest)")
        in f"daily_refresh run {drill.run_id[:8]} failed in open__indicators_disclosure_audit: {alert['reason']}"
    )
    assert not drill.asset_materializations_for_node("published__current")
    assert current_version(settings) == published and checksums(published) == sums

    # Switched back on, the next run needs no new delivery: the gated one is built again,
    # suppressed, audited and published.
    monkeypatch.setenv("EFFEKT_SECONDARY_SUPPRESSION", "on")
    again = run()
    assert again.success
    republished = current_version(settings)
    assert republished != published
    manifest = json.loads((republished / "manifest.json").read_text())
    assert manifest["disclosure_audit"]["passed"] is True
    assert [d["delivery_id"] for d in manifest["deliveries"] if d["is_current"]] == [later]
