"""`effekt status` and `effekt run` as the person on call reads them."""

import json

from orchestration.cli import main


def test_status_lists_the_last_run_the_published_version_and_the_gate(operated, capsys):
    data_dir = str(operated.settings.data_dir)
    assert main(["status", "--data-dir", data_dir, "--json", "--runs", "50"]) == 0
    status = json.loads(capsys.readouterr().out)
    runs = {r["run_id"]: r for r in status["runs"]}
    assert runs[operated.run.run_id]["status"] == "SUCCESS"
    assert runs[operated.run.run_id]["job"] == "daily_refresh"
    assert status["published"]["version"] == operated.run.published_version
    assert status["published"]["deliveries"] == [operated.delivery.name]
    assert status["latest_gate"]["passed"] is True

    assert main(["status", "--data-dir", str(operated.settings.data_dir)]) == 0
    text = capsys.readouterr().out
    assert operated.run.run_id[:8] in text and operated.run.published_version in text
    assert "passed" in text


def test_status_shows_failed_checks_with_counts_and_the_report_folder(operated, tmp_path, capsys):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(operated.settings.data_dir / "reports", data / "reports")
    [gate] = sorted((data / "reports").glob("*/gate-build.json"))
    result = json.loads(gate.read_text())
    result["failures"].append(
        {"suite": "stg_goals", "expectation": "expect_column_values_to_be_unique",
         "column": "goal_id", "severity": "error", "explanation_da": "Mål-id er ikke unikt.",
         "explanation_en": "Goal id is not unique.", "unexpected_count": 3, "element_count": 10,
         "records": []}
    )  # fmt: skip
    gate.write_text(json.dumps(result))
    assert main(["status", "--data-dir", str(data)]) == 0
    text = capsys.readouterr().out
    assert "FAILED" in text and "stg_goals: goal_id (3 rows) Goal id is not unique." in text
    assert "nothing published yet" in text and "none recorded" in text


def test_run_shows_progress_per_step(operated, monkeypatch, capfd):
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY_FILE", str(operated.settings.pseudonym_key_file))
    assert main(["run", "--data-dir", str(operated.settings.data_dir)]) == 0
    out = capfd.readouterr().out
    assert "... ingest_deliveries" in out and "done ingest_deliveries" in out
    assert "skipped" in out  # nothing new landed: the build is skipped, and it says so
    assert "effekt status" in out
    assert "dbt" not in out.split("Daily refresh")[1].split("Deliveries loaded")[0].lower()


def test_status_reads_the_run_history_as_dagster_itself_does(operated):
    """status reads Dagster's SQLite run storage directly (to start fast): pinned to Dagster's API."""
    from orchestration.status import _runs_from_dagster, _runs_from_sqlite

    home = operated.settings.dagster_home
    direct = _runs_from_sqlite(home / "history" / "runs.db", limit=50)
    assert direct and direct == _runs_from_dagster(home, limit=50)
