"""Reading deliveries: every dialect loads to the same values; file problems refuse the delivery."""

import json
import shutil

import duckdb
import pytest

from orchestration.contract import load_contract
from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.ingest.delivery import (
    DeliveryRefused,
    FileSpec,
    load_raw,
    read_manifest,
    record_lines,
    unlisted_files,
)
from tests.conftest import load_checked

TYPED = {
    "cases": "case_id__v, cpr, opened_on__v, closed_on__v, legal_basis",
    "goals": "goal_id__v, weight__v, set_on__v, due_on__v, life_theme",
    "citizens": "cpr, first_name, last_name",
    "goal_followups": "followup_id__v, gas_score__v, followed_up_on__v, comment",
}


def _values(con, entity):
    return con.execute(f"select {TYPED[entity]} from chk.{entity} order by source_row").fetchall()


def test_all_dialects_and_parquet_load_to_the_same_values(make_delivery):
    variants = [
        make_delivery(citizens=300, dialect="excel-dk"),  # cp1252, ';', decimal comma, DD-MM-YYYY
        make_delivery(citizens=300, dialect="utf8-bom"),  # UTF-8 with BOM, ';', decimal comma
        make_delivery(citizens=300, dialect="utf8"),  # UTF-8, ',', decimal point, ISO dates
        make_delivery(citizens=300, file_format="parquet"),
    ]
    cons = [load_checked(v.path) for v in variants]
    for entity in TYPED:
        reference = _values(cons[0], entity)
        assert reference
        for con in cons[1:]:
            assert _values(con, entity) == reference, entity
    weights = {w for (w,) in cons[0].execute("select distinct weight__v from chk.goals").fetchall()}
    assert 1.5 in weights or 2.5 in weights  # decimal comma read as a decimal
    assert any("ø" in n or "æ" in n or "å" in n for (n,) in
               cons[0].execute("select last_name from chk.citizens").fetchall())  # fmt: skip


def test_source_row_is_the_record_position_in_the_file(make_delivery):
    delivery = make_delivery(citizens=300, dialect="utf8")
    con = duckdb.connect()
    load_raw(con, delivery.path, read_manifest(delivery.path))
    lines = (delivery.path / "cases.csv").read_text(encoding="utf-8").splitlines()
    for source_row, case_id in con.execute("select source_row, case_id from raw.cases").fetchall():
        assert lines[source_row].split(",")[0] == case_id


def test_a_missing_manifest_or_file_refuses(make_delivery, tmp_path):
    copy = tmp_path / "d"
    shutil.copytree(make_delivery(citizens=50).path, copy)
    (copy / "goals.csv").unlink()
    with pytest.raises(DeliveryRefused, match=r"goals\.csv") as refused:
        load_raw(duckdb.connect(), copy, read_manifest(copy))
    assert refused.value.reason == "missing_file"
    (copy / "manifest.json").unlink()
    with pytest.raises(DeliveryRefused, match="manifest"):
        read_manifest(copy)


def test_a_manifest_of_another_contract_version_refuses(make_delivery, tmp_path):
    copy = tmp_path / "d"
    shutil.copytree(make_delivery(citizens=50).path, copy)
    manifest = json.loads((copy / "manifest.json").read_text())
    for version in (2, "1.2", "one"):
        manifest["contract_version"] = version
        (copy / "manifest.json").write_text(json.dumps(manifest))
        with pytest.raises(DeliveryRefused, match=r"contract version"):
            read_manifest(copy)
    for version in (1, "1.0", 1.1, "1.1"):  # as a number or as text
        manifest["contract_version"] = version
        (copy / "manifest.json").write_text(json.dumps(manifest))
        assert read_manifest(copy).contract_version in load_contract().accepted_versions


def test_a_v1_delivery_has_no_cost_files_and_a_v1_manifest_may_not_list_one(
    make_delivery, tmp_path
):
    delivery = make_delivery(citizens=50)
    assert delivery.manifest["contract_version"] == "1"
    manifest = read_manifest(delivery.path)
    optional = [n for n, e in load_contract().entities.items() if e.optional]
    assert optional and not any(manifest.delivered(n) for n in optional)
    # The cost entities load as entities without rows.
    con = duckdb.connect()
    rows = load_raw(con, delivery.path, manifest)
    for name in optional:
        assert rows[name] == 0
        assert con.execute(f"select count(*) from raw.{name}").fetchone() == (0,)
    # A v1 manifest that lists a cost file is refused, naming the file and the version.
    copy = tmp_path / "d"
    shutil.copytree(delivery.path, copy)
    (copy / "grants.csv").write_text("grant_id\n", encoding="utf-8")
    raw = json.loads((copy / "manifest.json").read_text())
    raw["files"].append({"entity": "grants", "file": "grants.csv", "format": "csv", "rows": 0,
                         "sha256": "0" * 64})  # fmt: skip
    (copy / "manifest.json").write_text(json.dumps(raw))
    with pytest.raises(DeliveryRefused, match=r"grants\.csv.*contract version 1\.1") as refused:
        read_manifest(copy)
    assert refused.value.reason == "unreadable_file"


def test_refusal_messages_never_carry_row_content(make_delivery):
    delivery = make_delivery(citizens=200, file_defects=("truncated",))
    with pytest.raises(DeliveryRefused) as refused:
        load_raw(duckdb.connect(), delivery.path, read_manifest(delivery.path))
    assert refused.value.reason == "truncated"
    assert not CPR_IN_TEXT.search(str(refused.value))


def test_every_broken_file_is_named_in_one_refusal(make_delivery):
    kinds = ("missing_column", "truncated", "checksum_mismatch", "row_count_mismatch")
    delivery = make_delivery(citizens=60, file_defects=kinds)
    with pytest.raises(DeliveryRefused) as refused:
        load_raw(duckdb.connect(), delivery.path, read_manifest(delivery.path))
    problems = refused.value.problems
    # One problem per file, in the contract's entity order; the first is also the refusal's own.
    assert [(p["file"], p["reason"]) for p in problems] == [
        ("cases.csv", "missing_column"),
        ("interventions.csv", "row_count_mismatch"),
        ("goals.csv", "checksum_mismatch"),
        ("goal_followups.csv", "truncated"),
    ]
    assert (refused.value.reason, refused.value.file) == ("missing_column", "cases.csv")
    assert refused.value.detail == problems[0]["detail"]
    assert refused.value.as_dict()["problems"] == problems  # what refusal.json records
    for p in problems:
        assert f"{p['file']}: {p['detail']} [{p['reason']}]" in str(refused.value)
    assert not CPR_IN_TEXT.search(json.dumps(refused.value.as_dict()))


def test_an_empty_file_is_refused_as_empty_not_as_cut_off(make_delivery, tmp_path):
    copy = tmp_path / "d"
    shutil.copytree(make_delivery(citizens=50).path, copy)
    (copy / "citizens.csv").write_bytes(b"")
    with pytest.raises(DeliveryRefused) as refused:
        load_raw(duckdb.connect(), copy, read_manifest(copy))
    assert refused.value.problems == [
        {
            "reason": "unreadable_file",
            "file": "citizens.csv",
            "detail": "file is empty (0 bytes); the manifest says 50 rows",
        }
    ]


def test_unlisted_files_are_the_folders_files_the_manifest_does_not_name(make_delivery, tmp_path):
    copy = tmp_path / "d"
    shutil.copytree(make_delivery(citizens=50).path, copy)
    manifest = read_manifest(copy)
    assert unlisted_files(copy, manifest) == []
    (copy / "checksums.sha256").write_text("", encoding="utf-8")
    (copy / "notes.txt").write_text("", encoding="utf-8")
    (copy / "old").mkdir()
    (copy / "old" / "cases.csv").write_text("", encoding="utf-8")
    (copy / "goals.csv").unlink()  # absent, not unlisted: load_raw refuses that
    assert unlisted_files(copy, manifest) == ["notes.txt", "old/cases.csv"]


def test_record_lines_follow_line_breaks_inside_quoted_fields(tmp_path):
    (tmp_path / "goals.csv").write_bytes(
        b'goal_id;description\r\n1;"two\r\nlines"\r\n2;plain\r\n3;"a ""quoted""\nand\nmore"\r\n4;x'
    )
    spec = FileSpec("goals", "goals.csv", "csv", rows=4, sha256="")
    assert record_lines(tmp_path, spec, [1, 2, 3, 4]) == {1: 2, 2: 4, 3: 5, 4: 8}
    (tmp_path / "goals.csv").write_bytes(b"goal_id;description\n1;a\n2;b\n")
    assert record_lines(tmp_path, FileSpec("goals", "goals.csv", "csv", 2, ""), [2]) == {2: 3}
    parquet = FileSpec("goals", "goals.parquet", "parquet", 2, "")
    assert record_lines(tmp_path, parquet, [1]) == {}
