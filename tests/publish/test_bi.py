"""What a BI developer meets on Monday morning: the README's example runs with what the set-up
installs, and a run with PostgreSQL configured publishes there too and says where."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys

from orchestration.cli import main
from orchestration.publish import current_version
from tests.conftest import REPO, operated_settings
from tests.publish.test_postgres import OPEN, RESTRICTED, duckdb_rows, postgres_rows

VENV_PYTHON = ".venv/bin/python -c"


def readme_bi_example() -> str:
    [line] = [
        line for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith(VENV_PYTHON) and "published/current" in line
    ]  # fmt: skip
    return line


def test_the_readmes_bi_example_runs_with_what_the_setup_installs(operated):
    example = readme_bi_example()
    assert example in (REPO / "docs" / "bi.md").read_text(encoding="utf-8")
    command = [sys.executable, *shlex.split(example)[1:]]  # the project's own interpreter
    done = subprocess.run(
        command, cwd=operated.settings.data_dir.parent, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "period_label" in done.stdout and "avg_goal_attainment_pct" in done.stdout


def test_a_run_with_postgresql_configured_publishes_there_and_says_where(
    small_delivery, postgres_database, tmp_path, monkeypatch, capsys
):
    settings = operated_settings(tmp_path)
    shutil.copytree(small_delivery.path, settings.landing_dir / small_delivery.path.name)
    dsn_file = tmp_path / "postgres.dsn"
    dsn_file.write_text(postgres_database + "\n")
    monkeypatch.setenv("EFFEKT_POSTGRES_DSN_FILE", str(dsn_file))
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY_FILE", str(settings.pseudonym_key_file))
    assert main(["run", "--data-dir", str(settings.data_dir)]) == 0
    out = capsys.readouterr().out
    assert "Published to PostgreSQL" in out and f"{OPEN} (role effekt_open_reader)" in out
    version = current_version(settings)
    assert postgres_rows(postgres_database, RESTRICTED) == duckdb_rows(
        version / "marts.duckdb", "main"
    )
    open_rows = postgres_rows(postgres_database, OPEN)
    for table, rows in duckdb_rows(version / "indicators.duckdb", "main").items():
        assert open_rows[table] == rows, table
    assert str(dsn_file) not in out and "dbname=" not in out
