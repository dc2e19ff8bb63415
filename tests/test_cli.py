"""The `effekt` command as people use it."""

import json
import shutil

import pytest

from orchestration.cli import main
from orchestration.contract import load_contract
from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.generate.defects import FILE_DEFECTS
from tests.conftest import ground_truth

THREE_BROKEN = ("missing_column", "truncated", "checksum_mismatch")


def _validate_json(capsys, *args) -> tuple[int, dict]:
    code = main(["validate", *map(str, args), "--json"])
    out = capsys.readouterr().out
    assert not CPR_IN_TEXT.search(out)
    return code, json.loads(out)


def test_generate_then_validate_clean(tmp_path, capsys):
    code = main(["generate", "--citizens", "120", "--start", "2016-01-01", "--end", "2018-12-31",
                 "--seed", "3", "--format", "csv", "--out", str(tmp_path), "--quiet"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    folder = tmp_path / "effekt-synth_20181231T020000"
    assert str(folder) in out
    code, result = _validate_json(capsys, folder)
    assert (code, result["outcome"], result["exit_code"]) == (0, "clean", 0)
    assert result["findings"] == [] and result["file_problems"] == []
    assert result["rows_read"]["citizens"] == 120
    assert [w["reason"] for w in result["warnings"]] == ["cpr_modulus11"] * 3  # no file warnings


def test_generate_with_costs_writes_a_version_1_1_delivery_that_validates(tmp_path, capsys):
    code = main(["generate", "--citizens", "120", "--start", "2016-01-01", "--end", "2018-12-31",
                 "--seed", "3", "--out", str(tmp_path), "--costs", "--quiet"])  # fmt: skip
    assert code == 0
    capsys.readouterr()
    folder = tmp_path / "effekt-synth_20181231T020000"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["contract_version"] == "1.1"
    assert {"grants", "payments", "budgets"} <= {f["entity"] for f in manifest["files"]}
    code, result = _validate_json(capsys, folder)
    assert (code, result["outcome"]) == (0, "clean")
    assert min(result["rows_read"][e] for e in ("grants", "payments", "budgets")) > 0


def test_validate_lists_every_defective_row_with_file_line_and_key(make_delivery, capsys):
    delivery = make_delivery(citizens=150, defects=0.02, dialect="utf8")
    code, result = _validate_json(capsys, delivery.path)
    assert (code, result["outcome"]) == (1, "rows_break_rules")
    findings = result["findings"]
    assert len(findings) == sum(s["rows"] for s in result["summary"])
    # Every planted defect is listed under its key, except the citizens', whose key is the CPR.
    listed = {(f["entity"], f["key"], f["reason"]) for f in findings}
    contract = load_contract()
    for d in ground_truth(delivery.ground_truth):
        if d["entity"] == "citizens":
            continue
        key = "|".join(d["key"].split("|")[: len(contract.entity(d["entity"]).key)])
        assert (d["entity"], key, d["kind"]) in listed, d
    assert {f["key"] for f in findings if f["entity"] == "citizens"} == {None}
    assert {f["entity"] for f in findings if f["entity"] == "citizens"}  # citizens are listed
    # `line` is the file line of the row: there the key is the first field.
    for f in findings:
        lines = (delivery.path / f["file"]).read_text(encoding="utf-8").splitlines()
        assert f["line"] == f["source_row"] + 1
        if f["key"] is not None:
            first_key_column = contract.entity(f["entity"]).key[0]
            header = lines[0].split(",")
            fields = lines[f["line"] - 1].split(",")
            assert fields[header.index(first_key_column)] == f["key"].split("|")[0], f


def test_validate_text_output_summarises_then_lists_rows_without_cpr_numbers(make_delivery, capsys):
    delivery = make_delivery(citizens=150, defects=0.02)
    _, result = _validate_json(capsys, delivery.path)
    assert main(["validate", str(delivery.path), "--limit", "10"]) == 1
    out = capsys.readouterr().out
    assert "malformed_cpr" in out and "duplicate_key" in out
    assert not CPR_IN_TEXT.search(out)
    first = result["findings"][0]
    assert f"{first['file']}:{first['line']}" in out
    last = result["findings"][-1]
    assert last["entity"] == "goal_followups" and len(result["findings"]) > 10
    assert f"{last['file']}:{last['line']} " not in out  # beyond the first 10
    assert f"... {len(result['findings']) - 10:,} more" in out
    assert main(["validate", str(delivery.path), "--limit", "0"]) == 1
    out = capsys.readouterr().out
    assert f"{last['file']}:{last['line']} " in out and last["key"] in out
    assert "more;" not in out


def test_validate_refused_delivery_exits_2_naming_the_file(tmp_path, capsys):
    main(["generate", "--citizens", "50", "--start", "2016-01-01", "--end", "2017-12-31",
          "--seed", "3", "--out", str(tmp_path), "--file-defect", "missing_column", "--quiet"])  # fmt: skip
    assert main(["validate", str(tmp_path / "effekt-synth_20171231T020000")]) == 2
    assert "cases.csv" in capsys.readouterr().err


def test_validate_names_all_three_broken_files(make_delivery, capsys):
    delivery = make_delivery(citizens=60, file_defects=THREE_BROKEN)
    assert main(["validate", str(delivery.path)]) == 2
    err = capsys.readouterr().err
    for kind in THREE_BROKEN:
        assert f"{FILE_DEFECTS[kind]}.csv" in err and f"[{kind}]" in err
    assert "3 file problems" in err
    assert not CPR_IN_TEXT.search(err)
    code, result = _validate_json(capsys, delivery.path)
    assert (code, result["outcome"], result["exit_code"]) == (2, "refused", 2)
    assert [(p["file"], p["reason"]) for p in result["file_problems"]] == [
        (f"{FILE_DEFECTS[k]}.csv", k) for k in ("missing_column", "checksum_mismatch", "truncated")
    ]  # in the contract's entity order


def test_validate_without_a_manifest_refuses_and_still_prints_json(tmp_path, capsys):
    code, result = _validate_json(capsys, tmp_path)
    assert (code, result["outcome"]) == (2, "refused")
    assert result["file_problems"] == [
        {"reason": "missing_file", "file": "manifest.json", "detail": "no manifest in delivery"}
    ]


@pytest.mark.parametrize("target", ["missing", "file"])
def test_validate_on_a_path_that_is_not_a_folder_is_a_usage_error(
    make_delivery, tmp_path, capsys, target
):
    if target == "missing":
        path, expected = tmp_path / "nowhere", "does not exist"
    else:
        path = make_delivery(citizens=50).path / "manifest.json"
        expected = "is a file, not a delivery folder"
    assert main(["validate", str(path)]) == 2
    captured = capsys.readouterr()
    assert f"{path} {expected}" in captured.err and "Traceback" not in captured.err
    assert captured.out == ""
    assert main(["validate", str(path), "--json"]) == 2
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert (result["outcome"], result["exit_code"]) == ("usage_error", 2)
    assert f"{path} {expected}" in result["error"]
    assert f"{path} {expected}" in captured.err  # the message goes to stderr as well


def test_validate_reports_an_empty_file_as_empty(make_delivery, tmp_path, capsys):
    copy = tmp_path / "d"
    shutil.copytree(make_delivery(citizens=50).path, copy)
    (copy / "goals.csv").write_bytes(b"")
    assert main(["validate", str(copy)]) == 2
    err = capsys.readouterr().err
    assert "goals.csv: file is empty (0 bytes)" in err
    assert "mid-row" not in err


def test_validate_warns_of_unlisted_files_and_a_renamed_folder(make_delivery, tmp_path, capsys):
    delivery = make_delivery(citizens=50)
    copy = tmp_path / "renamed"
    shutil.copytree(delivery.path, copy)
    (copy / "notes.txt").write_text("extra", encoding="utf-8")
    (copy / "checksums.sha256").write_text("", encoding="utf-8")
    code, result = _validate_json(capsys, copy)
    assert (code, result["outcome"]) == (0, "clean")
    file_warnings = [(w["reason"], w["file"]) for w in result["warnings"] if "rows" not in w]
    assert file_warnings == [
        ("unlisted_file", "notes.txt"),
        ("delivery_id_mismatch", "manifest.json"),
    ]
    assert main(["validate", str(copy)]) == 0
    out = capsys.readouterr().out
    assert "notes.txt" in out and f"{delivery.path.name!r}" in out and "'renamed'" in out


def test_bad_arguments_get_a_clear_message(tmp_path, capsys):
    code = main(["generate", "--citizens", "10", "--start", "2019-01-01", "--end", "2018-01-01",
                 "--seed", "1", "--out", str(tmp_path)])  # fmt: skip
    assert code == 2
    assert "--start < --end" in capsys.readouterr().err


def test_demo_creates_a_key_generates_and_runs_the_pipeline(tmp_path, capsys, monkeypatch):
    for variable in ("EFFEKT_PSEUDONYM_KEY", "EFFEKT_PSEUDONYM_KEY_FILE", "EFFEKT_DATA_DIR",
                     "EFFEKT_BAROMETER_TARGETS", "EFFEKT_POSTGRES_DSN", "EFFEKT_POSTGRES_DSN_FILE"):  # fmt: skip
        monkeypatch.delenv(variable, raising=False)
    assert main(["demo", "--data-dir", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    # No PostgreSQL target set: it says so, and where to read how (docs/bi.md).
    assert "PostgreSQL target: not configured" in out and "docs/bi.md" in out
    assert str(tmp_path / "published" / "current" / "docs" / "index.html") in out
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


def test_commands_on_a_missing_data_folder_fail_and_create_nothing(tmp_path, capsys):
    missing = tmp_path / "dta"  # a typo of data
    for command in (["run"], ["status"], ["backfill", "--from", "2019Q1", "--to", "2019Q2"]):
        assert main([*command, "--data-dir", str(missing)]) == 2
        assert f"data folder {missing} does not exist" in capsys.readouterr().err
    assert not missing.exists()


def test_the_demo_folder_s_key_is_found_and_a_missing_key_says_where_it_looked(
    tmp_path, monkeypatch
):
    from orchestration.ingest.pseudonyms import (
        MissingPseudonymKey,
        create_demo_key,
        load_key,
    )
    from orchestration.settings import Settings

    for variable in ("EFFEKT_PSEUDONYM_KEY", "EFFEKT_PSEUDONYM_KEY_FILE"):
        monkeypatch.delenv(variable, raising=False)
    settings = Settings.from_env({"EFFEKT_DATA_DIR": str(tmp_path)})
    with pytest.raises(MissingPseudonymKey) as missing:
        load_key(settings)
    assert str(settings.demo_key_file) in str(missing.value)
    assert "EFFEKT_PSEUDONYM_KEY_FILE (not set)" in str(missing.value)
    assert create_demo_key(settings.demo_key_file)
    assert load_key(settings) == settings.demo_key_file.read_bytes().strip()
