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


def test_demo_generates_and_checks_sample_extracts(tmp_path, capsys):
    assert main(["demo", "--data-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert str(tmp_path / "landing") in out
    assert "0 break the contract" in out
