"""Loading deliveries into the raw layer: nothing lost, nothing twice, all or nothing."""

import csv
import datetime as dt
import io
import json
import os
import shutil
import stat

import pytest

from orchestration.generate.defects import FILE_DEFECTS
from orchestration.ingest.delivery import DeliveryRefused
from orchestration.ingest.load import ingest_delivery, pending_deliveries, state_as_of_sql
from orchestration.settings import Settings
from tests.conftest import ground_truth
from tests.ingest.conftest import KEY, drop, query, raw_snapshot, refresh_manifest


@pytest.mark.parametrize(("file_format", "dialect"), [("csv", "excel-dk"), ("parquet", "utf8")])
def test_every_planted_defect_is_quarantined_with_its_reason_and_nothing_else(
    settings, generated, file_format, dialect
):
    delivery = generated(citizens=600, defects=0.02, file_format=file_format, dialect=dialect)
    result = ingest_delivery(settings, drop(settings, delivery.path), KEY)
    truth = {(d["entity"], d["key"], d["kind"]) for d in ground_truth(delivery.ground_truth)}
    quarantined = set(query(settings, "select entity, key, reason from raw.quarantine"))
    assert quarantined == truth
    # Reconciliation: for every file, read = loaded + quarantined, and read = the manifest's rows.
    manifest_rows = {f["entity"]: f["rows"] for f in delivery.manifest["files"]}
    log = query(
        settings, "select entity, rows_read, rows_loaded, rows_quarantined from raw.ingest_log"
    )
    assert len(log) == 8
    for entity, read, loaded, quarantined_rows in log:
        assert read == loaded + quarantined_rows == manifest_rows[entity]
        (in_table,) = query(settings, f"select count(*) from raw.{entity}")[0]
        assert in_table == loaded
    assert all(f.balances for f in result.files)
    # Each quarantined row carries file, row number and the row as delivered.
    sample = query(settings, "select source_file, source_row, record from raw.quarantine limit 5")
    for source_file, source_row, record in sample:
        assert source_file.split(".")[-1] == file_format and source_row >= 1
        assert json.loads(record)


def test_a_loaded_row_never_points_at_a_quarantined_parent(settings, generated):
    """A case whose citizen is quarantined cannot load: it goes with reason parent_quarantined."""
    folder = drop(settings, generated(citizens=200).path)
    first_case = (folder / "cases.csv").read_bytes().decode("cp1252").splitlines()[1]
    cpr = first_case.split(";")[1].strip('"')
    _break_target_group(folder, cpr)
    ingest_delivery(settings, folder, KEY)
    reasons = dict(query(settings, "select reason, count(*) from raw.quarantine group by 1"))
    assert reasons["unknown_code"] == 1
    assert reasons["parent_quarantined"] >= 1
    orphans = query(
        settings, "select count(*) from raw.cases where cpr not in (select cpr from raw.citizens)"
    )
    assert orphans == [(0,)]


def test_a_blank_reference_is_no_reference_even_beside_a_quarantined_blank_key(settings, generated):
    """A reference of spaces points at nothing, not at a quarantined row whose key is spaces:
    only the goal without an id is quarantined, a top goal whose parent is spaces loads."""
    folder = drop(settings, generated(citizens=200).path)
    path = folder / "goals.csv"
    rows = list(csv.reader(io.StringIO(path.read_bytes().decode("cp1252")), delimiter=";"))
    header = rows[0]
    goal_id, parent = header.index("goal_id"), header.index("parent_goal_id")
    top = next(r for r in rows[2:] if not r[parent].strip())
    rows[1][goal_id] = "  "
    top[parent] = " "
    _rewrite(folder, "goals", path, rows)
    ingest_delivery(settings, folder, KEY)
    goals = query(settings, "select source_row, reason from raw.quarantine where entity = 'goals'")
    assert goals == [(1, "missing_value")]
    assert query(
        settings, "select parent_goal_id from raw.goals where goal_id = ?", [int(top[goal_id])]
    ) == [(None,)]


def _rewrite(folder, entity, path, rows):
    """Write a delivered CSV file again (its dialect: cp1252, ';', all quoted) and fix up the
    manifest's checksum."""
    out = io.StringIO()
    csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\r\n").writerows(rows)
    path.write_bytes(out.getvalue().encode("cp1252"))
    refresh_manifest(folder, entity, path)


def _break_target_group(folder, cpr):
    """Give one citizen an unknown target group and fix up the manifest's checksum."""
    path = folder / "citizens.csv"
    lines = path.read_bytes().decode("cp1252").splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith(f'"{cpr}"'):
            fields = line.rstrip("\r\n").split(";")
            fields[3] = '"pensioners"'
            lines[i] = ";".join(fields) + "\r\n"
    path.write_bytes("".join(lines).encode("cp1252"))
    refresh_manifest(folder, "citizens", path)


EXPECTED = {
    "wrong_encoding": ("encoding_error", "line"),
    "missing_column": ("missing_column", "column"),
    "truncated": ("truncated", "mid-row"),
    "checksum_mismatch": ("checksum_mismatch", "SHA-256"),
    "row_count_mismatch": ("row_count_mismatch", "rows"),
}


@pytest.mark.parametrize("kind", list(FILE_DEFECTS))
def test_a_file_failure_refuses_the_whole_delivery_and_changes_nothing(settings, generated, kind):
    ingest_delivery(settings, drop(settings, generated(extract_at=dt.date(2018, 12, 31)).path), KEY)
    before = raw_snapshot(settings)
    bad = generated(file_defects=(kind,))
    folder = drop(settings, bad.path)
    with pytest.raises(DeliveryRefused) as refused:
        ingest_delivery(settings, folder, KEY)
    reason, mention = EXPECTED[kind]
    assert refused.value.reason == reason
    assert refused.value.file == f"{FILE_DEFECTS[kind]}.csv"
    assert mention in str(refused.value)
    assert raw_snapshot(settings) == before
    assert not folder.exists()
    (quarantined,) = list(settings.quarantine_dir.iterdir())
    refusal = json.loads((quarantined / "refusal.json").read_text())
    assert refusal["reason"] == reason and refusal["file"] == f"{FILE_DEFECTS[kind]}.csv"
    assert {p.name for p in quarantined.iterdir()} >= {"manifest.json", "cases.csv", "refusal.json"}


def test_the_same_delivery_twice_changes_nothing(settings, generated):
    delivery = generated()
    first = ingest_delivery(settings, drop(settings, delivery.path), KEY)
    before = raw_snapshot(settings)
    again = ingest_delivery(settings, drop(settings, delivery.path, name="dropped-again"), KEY)
    assert (first.status, again.status) == ("loaded", "already_loaded")
    assert raw_snapshot(settings) == before
    assert not (settings.landing_dir / "dropped-again").exists()
    assert [p.name for p in settings.archive_dir.iterdir()] == [delivery.path.name]


def test_a_different_delivery_under_a_loaded_id_is_refused(settings, generated):
    delivery = generated()
    ingest_delivery(settings, drop(settings, delivery.path), KEY)
    copy = drop(settings, delivery.path, name="edited")
    manifest = json.loads((copy / "manifest.json").read_text())
    manifest["source_system"] = "other"
    (copy / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(DeliveryRefused) as refused:
        ingest_delivery(settings, copy, KEY)
    assert refused.value.reason == "delivery_conflict"


@pytest.mark.parametrize("order", ["oldest_first", "newest_first"])
def test_two_deliveries_in_either_order_leave_the_newest_current(
    settings, generated, order, tmp_path
):
    """In order, both are part of the history; an older extract arriving after a newer one is
    archived and recorded as superseded, and changes nothing else."""
    older = generated(extract_at=dt.date(2018, 12, 31))
    newer = generated()
    pair = [older, newer] if order == "oldest_first" else [newer, older]
    for d in pair:
        ingest_delivery(settings, drop(settings, d.path), KEY)
    current = query(settings, "select delivery_id from raw.current_delivery")
    assert current == [(newer.path.name,)]
    status = dict(query(settings, "select delivery_id, status from raw.deliveries"))
    late = "loaded" if order == "oldest_first" else "superseded"
    assert status == {older.path.name: late, newer.path.name: "loaded"}
    assert (settings.archive_dir / older.path.name / "manifest.json").is_file()
    newest_goals = query(
        settings, f"select goal_id, set_on from ({state_as_of_sql('goals', repr(newer.path.name))})"
    )
    alone = Settings(data_dir=tmp_path / "alone")
    ingest_delivery(alone, drop(alone, newer.path), KEY)
    assert sorted(newest_goals) == sorted(query(alone, "select goal_id, set_on from raw.goals"))
    if order == "newest_first":
        assert query(settings, f"select count(*) from raw.changes where delivery_id = '{older.path.name}'") == [(0,)]  # fmt: skip


def test_pending_deliveries_are_taken_oldest_first(settings, generated):
    drop(settings, generated().path, name="b")
    drop(settings, generated(extract_at=dt.date(2018, 12, 31)).path, name="a-but-newer-name")
    names = [p.name for p in pending_deliveries(settings)]
    assert names == ["a-but-newer-name", "b"]


def test_the_archive_is_read_only_and_carries_checksums(settings, generated):
    delivery = generated()
    ingest_delivery(settings, drop(settings, delivery.path), KEY)
    archived = settings.archive_dir / delivery.path.name
    sums = dict(
        reversed(line.split("  "))
        for line in (archived / "checksums.sha256").read_text().splitlines()
    )
    for entry in delivery.manifest["files"]:
        assert sums[entry["file"]] == entry["sha256"]
        mode = (archived / entry["file"]).stat().st_mode
        assert not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
        assert (archived / entry["file"]).read_bytes() == (
            delivery.path / entry["file"]
        ).read_bytes()
    assert stat.S_IMODE(os.stat(settings.raw_database).st_mode) == 0o600


def test_a_delivery_left_in_processing_by_a_crash_is_finished_next_time(settings, generated):
    delivery = generated()
    settings.processing_dir.mkdir(parents=True)
    shutil.copytree(delivery.path, settings.processing_dir / delivery.path.name)
    (folder,) = pending_deliveries(settings)
    assert ingest_delivery(settings, folder, KEY).status == "loaded"
    assert not any(settings.processing_dir.iterdir())


def test_all_dialects_load_to_the_same_raw_values(tmp_path, generated):
    from orchestration.settings import Settings

    values = []
    for i, variant in enumerate([dict(dialect="excel-dk"), dict(dialect="utf8-bom"),
                                 dict(dialect="utf8"), dict(file_format="parquet")]):  # fmt: skip
        s = Settings(data_dir=tmp_path / str(i))
        ingest_delivery(s, drop(s, generated(**variant).path), KEY)
        values.append(
            {
                entity: query(
                    s, f"select * exclude (_source_file) from raw.{entity} order by _source_row"
                )
                for entity in ("citizens", "cases", "goals", "goal_followups", "assessment_scores")
            }
        )
    for other in values[1:]:
        assert other == values[0]


def test_two_keys_that_are_one_once_typed_refuse_the_delivery(settings, generated):
    """'7' and '07' pass the check on the key as written; as one integer key they would make two
    current versions of one record, so the delivery is refused, naming the file and rows."""
    delivery = generated(file_format="csv", dialect="utf8")
    folder = drop(settings, delivery.path)
    path = folder / "cases.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[-1]]))
    row[header.index("case_id")] = "0" + row[header.index("case_id")]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    path.write_text("\n".join(lines) + "\n" + buffer.getvalue(), encoding="utf-8")
    cases = next(f["rows"] for f in delivery.manifest["files"] if f["entity"] == "cases")
    refresh_manifest(folder, "cases", path, rows=cases + 1)
    with pytest.raises(DeliveryRefused) as refused:
        ingest_delivery(settings, folder, KEY)
    assert (refused.value.reason, refused.value.file) == ("ambiguous_key", "cases.csv")
    assert "case_id" in str(refused.value)
    assert raw_snapshot(settings) == {} or query(settings, "select count(*) from raw.cases") == [
        (0,)
    ]


def test_the_ingest_memory_cap_is_checked_and_a_bad_one_loses_nothing(tmp_path, generated):
    """EFFEKT_INGEST_MEMORY_LIMIT reaches DuckDB: a value it cannot read stops the ingest with
    the variable's name, the delivery waits in processing, and the next run with a good cap
    loads it."""
    delivery = generated()
    bad = Settings.from_env(
        {"EFFEKT_DATA_DIR": str(tmp_path), "EFFEKT_INGEST_MEMORY_LIMIT": "lots"}
    )
    with pytest.raises(ValueError, match="EFFEKT_INGEST_MEMORY_LIMIT='lots'"):
        ingest_delivery(bad, drop(bad, delivery.path), KEY)
    (waiting,) = pending_deliveries(bad)
    assert waiting.parent == bad.processing_dir
    good = Settings.from_env(
        {"EFFEKT_DATA_DIR": str(tmp_path), "EFFEKT_INGEST_MEMORY_LIMIT": "256MB"}
    )
    result = ingest_delivery(good, waiting, KEY)
    assert result.status == "loaded"
    loaded = query(good, "select count(*) from raw.citizens where _last_seq is null")[0][0]
    assert loaded == result.rows("citizens").rows_loaded > 0
