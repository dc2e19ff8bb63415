"""The `effekt` command as people use it."""

import json

from orchestration.cli import main
from orchestration.contract.cpr import CPR_IN_TEXT


def test_generate_then_validate_clean(tmp_path, capsys):
    code = main(["generate", "--citizens", "120", "--start", "2016-01-01", "--end", "2018-12-31",
                 "--seed", "3", "--format", "csv", "--out", str(tmp_path), "--quiet"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    folder = tmp_path / "effekt-synth_20181231T020000"
    assert str(folder) in out
    assert main(["validate", str(folder), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["findings"] == []
    assert summary["rows_read"]["citizens"] == 120


def test_validate_reports_defects_without_cpr_numbers(tmp_path, capsys):
    main(["generate", "--citizens", "150", "--start", "2016-01-01", "--end", "2018-12-31",
          "--seed", "3", "--out", str(tmp_path), "--defects", "0.02", "--quiet"])  # fmt: skip
    capsys.readouterr()
    assert main(["validate", str(tmp_path / "effekt-synth_20181231T020000")]) == 1
    out = capsys.readouterr().out
    assert "malformed_cpr" in out and "duplicate_key" in out
    assert not CPR_IN_TEXT.search(out)


def test_refused_delivery_exits_2_naming_the_file(tmp_path, capsys):
    main(["generate", "--citizens", "50", "--start", "2016-01-01", "--end", "2017-12-31",
          "--seed", "3", "--out", str(tmp_path), "--file-defect", "missing_column", "--quiet"])  # fmt: skip
    assert main(["validate", str(tmp_path / "effekt-synth_20171231T020000")]) == 2
    assert "cases.csv" in capsys.readouterr().err


def test_bad_arguments_get_a_clear_message(tmp_path, capsys):
    code = main(["generate", "--citizens", "10", "--start", "2019-01-01", "--end", "2018-01-01",
                 "--seed", "1", "--out", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert "--start < --end" in capsys.readouterr().err


def test_demo_creates_a_key_generates_and_runs_the_pipeline(tmp_path, capsys, monkeypatch):
    for variable in ("EFFEKT_PSEUDONYM_KEY", "EFFEKT_PSEUDONYM_KEY_FILE", "EFFEKT_DATA_DIR",
                     "EFFEKT_BAROMETER_TARGETS"):  # fmt: skip
        monkeypatch.delenv(variable, raising=False)
    assert main(["demo", "--data-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "demo pseudonymisation key" in out
    assert (tmp_path / "secrets" / "pseudonym.key").stat().st_mode & 0o777 == 0o600
    assert "Deliveries loaded: effekt-synth_20190630T020000" in out
    assert str(tmp_path / "warehouse" / "effekt.duckdb") in out
    assert (tmp_path / "warehouse" / "effekt.duckdb").exists()
    # It ends with the 2019Q2 report: a fact sheet for every level and the barometer.
    sheets = tmp_path / "reporting" / "2019Q2" / "factsheets"
    assert str(sheets / "index.html") in out
    names = {p.name for p in sheets.glob("*.html")}
    assert {"index.html", "administration.html"} <= names
    assert any(n.startswith("area-") for n in names) and any(n.startswith("unit-") for n in names)
    # Running again finds nothing new and changes nothing.
    assert main(["run", "--data-dir", str(tmp_path)]) == 0
    assert "Deliveries loaded: none new" in capsys.readouterr().out


def test_run_without_a_key_refuses_to_start(tmp_path, capsys, monkeypatch):
    for variable in ("EFFEKT_PSEUDONYM_KEY", "EFFEKT_PSEUDONYM_KEY_FILE"):
        monkeypatch.delenv(variable, raising=False)
    assert main(["run", "--data-dir", str(tmp_path)]) == 1
    assert "EFFEKT_PSEUDONYM_KEY" in capsys.readouterr().err
