"""Planted defects: the ground truth lists each one, and the contract checks find exactly those."""

import duckdb
import pytest

from orchestration.generate.defects import CSV_ONLY, FILE_DEFECTS, ROW_DEFECTS
from orchestration.ingest.delivery import DeliveryRefused, load_raw, read_manifest
from tests.conftest import ground_truth, load_checked


@pytest.mark.parametrize(
    ("file_format", "dialect"), [("csv", "excel-dk"), ("csv", "utf8"), ("parquet", "utf8")]
)
def test_findings_equal_the_ground_truth_exactly(make_delivery, file_format, dialect):
    delivery = make_delivery(defects=0.02, file_format=file_format, dialect=dialect, costs=True)
    truth = {(d["entity"], d["key"], d["kind"]) for d in ground_truth(delivery.ground_truth)}
    con = load_checked(delivery.path)
    found = set(con.execute("select entity, key, reason from raw.findings").fetchall())
    assert found == truth
    # Every kind that the format can carry was planted at least once.
    planted = {(e, k) for e, _, k in truth}
    expected = {
        (e, k) for e, kinds in ROW_DEFECTS.items() for k in kinds
        if file_format == "csv" or k not in CSV_ONLY
    }  # fmt: skip
    assert planted == expected
    # One finding per planted row: no row carries a second, unplanned defect.
    per_row = con.execute(
        "select entity, source_row, count(*) from raw.findings group by 1, 2 having count(*) > 1"
    ).fetchall()
    assert per_row == []


def test_ground_truth_rows_point_at_real_rows(make_delivery):
    delivery = make_delivery(defects=0.02)
    con = load_checked(delivery.path)
    for d in ground_truth(delivery.ground_truth):
        table = d["entity"]
        key = con.execute(
            f"select count(*) from chk.{table} where _key = ?", [d["key"]]
        ).fetchone()[0]
        assert key >= 1, d


EXPECTED_REFUSAL = {
    "wrong_encoding": "encoding_error",
    "missing_column": "missing_column",
    "truncated": "truncated",
    "checksum_mismatch": "checksum_mismatch",
    "row_count_mismatch": "row_count_mismatch",
}
DETAIL_MENTIONS = {
    "wrong_encoding": "line",
    "missing_column": "column",
    "truncated": "ends mid-row",
    "checksum_mismatch": "SHA-256",
    "row_count_mismatch": "rows",
}


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
@pytest.mark.parametrize("kind", list(FILE_DEFECTS))
def test_each_file_defect_refuses_the_delivery_naming_file_and_problem(
    make_delivery, kind, file_format
):
    if kind == "wrong_encoding" and file_format == "parquet":
        pytest.skip("Parquet has no text encoding to get wrong")
    delivery = make_delivery(citizens=200, file_defects=(kind,), file_format=file_format)
    file = f"{FILE_DEFECTS[kind]}.{file_format}"
    truth = ground_truth(delivery.ground_truth)
    assert [(d["kind"], d["file"]) for d in truth] == [(kind, file)]
    with pytest.raises(DeliveryRefused) as refused:
        load_raw(duckdb.connect(), delivery.path, read_manifest(delivery.path))
    assert refused.value.file == file
    assert refused.value.reason == EXPECTED_REFUSAL[kind]
    assert DETAIL_MENTIONS[kind] in refused.value.detail
