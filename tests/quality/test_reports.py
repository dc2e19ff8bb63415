"""The coordinators' reports on a delivery with planted row defects: every quarantined and every
failing row once, in its area (or the administration's unplaced section), with keys, file and
line, no CPR number; and the data-quality indicator counts the same quarantined rows per unit."""

import csv
from collections import Counter

import duckdb
import pytest
from markupsafe import escape

from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.quality.gate import Failure, GateResult, run_gate
from orchestration.quality.reports import write_area_reports, write_index
from tests.conftest import ground_truth
from tests.quality.test_gate import BREAKS, STAGED

# A few staged rows broken after the build, so Great Expectations fails on known rows too.
PLANTED = [
    b for b in BREAKS if b[0] in ("stg_cases", "stg_goals", "stg_goal_followups") and b[3] == 1
]


@pytest.fixture
def reported(own_warehouse, tmp_path):
    con = duckdb.connect(str(own_warehouse.warehouse))
    for _, _, sql, _ in PLANTED:
        con.execute(sql)
    con.close()
    result = run_gate(own_warehouse, "reports", tmp_path / "reports", STAGED)
    written = write_area_reports(own_warehouse, result)
    rows = []
    for area, html_path in written.items():
        with html_path.with_suffix(".csv").open(encoding="utf-8", newline="") as f:
            rows += [r | {"file_area": area} for r in csv.DictReader(f)]
    return own_warehouse, result, written, rows


def _query(database, sql: str) -> list[tuple]:
    con = duckdb.connect(str(database), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _raw(settings, sql: str) -> list[tuple]:
    return _query(settings.raw_database, sql)


def _warehouse(settings, sql: str) -> list[tuple]:
    return _query(settings.warehouse, sql)


def test_the_reports_list_every_quarantined_row_once_in_its_place(reported, warehouse):
    settings, _, _, rows = reported
    quarantined = [r for r in rows if r["kind"] == "quarantine"]
    listed = Counter((r["entity"], r["source_file"], int(r["source_row"])) for r in quarantined)
    assert max(listed.values()) == 1  # each once
    raw = _raw(settings, "select entity, source_file, source_row, key, reason from raw.quarantine "
                         "where delivery_id = (select delivery_id from raw.current_delivery)")  # fmt: skip
    assert set(listed) == {(e, f, r) for e, f, r, _, _ in raw}  # exactly the quarantined rows
    # ... which are the planted defects: keys as the case system has them, citizens without one.
    [truth_file] = warehouse.settings.landing_dir.glob("*.ground-truth.json")
    truth = ground_truth(truth_file)
    assert Counter(
        (r["entity"], r["row_key"]) for r in quarantined if r["entity"] != "citizens"
    ) == Counter(
        (d["entity"], d["key"])
        for d in truth
        if d["entity"] != "citizens" and d.get("file") is None
    )
    assert sum(r["entity"] == "citizens" for r in quarantined) == sum(
        d["entity"] == "citizens" for d in truth
    )
    reasons = {(e, f, r): reason for e, f, r, _, reason in raw}
    units = dict(_warehouse(settings, "select org_unit_id, coalesce(operating_area, 'administration') "
                                      "from marts.dim_org_unit"))  # fmt: skip
    for r in quarantined:
        assert r["reason"] == reasons[r["entity"], r["source_file"], int(r["source_row"])]
        assert r["reason_da"] and r["reason_en"] and r["instruction_da"] and r["instruction_en"]
        assert r["source_file"] and r["source_row"]
        if r["entity"] != "citizens":
            assert r["row_key"] and r["key_columns"], r
        if r["section"] == "unplaced":
            assert r["file_area"] == "administration" and not r["org_unit_id"]
        else:
            assert units[r["org_unit_id"]] == r["file_area"], r
    unplaced = {(r["entity"], r["reason"]) for r in quarantined if r["section"] == "unplaced"}
    assert any(entity == "citizens" for entity, _ in unplaced)
    assert any(reason == "orphan_reference" for _, reason in unplaced)
    # Placement follows the rows themselves: a goal at its intervention's provider, a case at
    # its authority (read here from the raw records, independently of the model).
    placed = {
        (r["entity"], r["row_key"]): r["org_unit_id"] for r in quarantined if r["section"] == "unit"
    }
    for entity, key, unit in _raw(
        settings,
        "select q.entity, q.key, coalesce(i.provider_org_unit_id, q.record->>'authority_org_unit_id') "
        "from raw.quarantine q left join raw.interventions i on q.entity = 'goals' "
        "and cast(i.intervention_id as varchar) = q.record->>'intervention_id' "
        "and i._delivery_id = q.delivery_id where q.entity in ('goals', 'cases') "
        "and q.delivery_id = (select delivery_id from raw.current_delivery)",
    ):
        if (entity, key) in placed:
            assert placed[entity, key] == unit, (entity, key)


def test_the_reports_list_every_failing_check_row_once_in_its_place(reported):
    settings, result, _, rows = reported
    units = dict(_warehouse(settings, "select org_unit_id, coalesce(operating_area, 'administration') "
                                      "from marts.dim_org_unit"))  # fmt: skip
    checks = Counter(
        (
            r["suite"],
            r["column"],
            r["entity"],
            r["row_key"],
            r["source_row"],
            r["file_area"],
            r["section"],
        )
        for r in rows
        if r["kind"] == "check"
    )
    expected = Counter()
    for failure in result.failures:
        for record in failure.records:
            area = units.get(record["org_unit_id"] or "")
            expected[failure.suite, failure.column, record["entity"], str(record["row_key"]),
                     str(record["source_row"]), area or "administration", "unit" if area else "unplaced"] += 1  # fmt: skip
    assert {(s, c) for s, c, *_ in expected} == {(s, c) for s, c, _, _ in PLANTED}
    assert checks == expected
    for r in rows:
        if r["kind"] == "check":
            assert r["source_file"] == f"{r['entity']}.csv" and r["row_key"] and r["instruction_da"]


def test_no_report_holds_a_cpr_number(reported):
    settings, _, written, _ = reported
    cprs = {cpr for (cpr,) in _raw(settings, "select distinct cpr from raw.citizens")}
    cprs |= {
        key for (key,) in _raw(settings, "select key from raw.quarantine where entity = 'citizens'")
    }
    folder = next(iter(written.values())).parent
    for path in folder.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not CPR_IN_TEXT.search(text), path
        assert not any(cpr and cpr in text for cpr in cprs), path


def test_the_data_quality_indicator_counts_the_reports_quarantined_rows_per_unit(reported):
    settings, _, _, rows = reported
    # The indicator counts the case system's rows; the cost files' are in the reports only.
    in_reports = Counter(
        r["org_unit_id"] for r in rows if r["kind"] == "quarantine" and r["section"] == "unit"
        and r["entity"] not in ("grants", "payments", "budgets")
    )  # fmt: skip
    costs = [
        r for r in rows if r["kind"] == "quarantine" and r["entity"] in ("budgets", "payments")
    ]
    assert costs and all(r["section"] == "unit" for r in costs if r["reason"] != "orphan_reference")
    cells = _warehouse(
        settings,
        "select org_level, org_unit_id, sum(rows_quarantined), bool_or(is_suppressed) "
        "from indicators.ind_data_quality where period_type = 'year' group by all",
    )
    compared = 0
    for level, unit, n, any_suppressed in cells:
        if level == 3 and not any_suppressed:
            assert n == in_reports.get(unit, 0), unit
            compared += 1
    assert compared >= 10
    # The administration (both roles) counts every placed row, suppression or not at level 3.
    top = sum(n for level, _, n, suppressed in cells if level == 1 and not suppressed)
    assert top == sum(in_reports.values()) > 0


def test_each_row_s_line_is_where_it_stands_in_the_delivered_file(reported):
    from orchestration.ingest.delivery import read_manifest

    settings, _, _, rows = reported
    files: dict[tuple[str, str], list[str]] = {}
    checked = 0
    for r in rows:
        if r["entity"] == "citizens" or not r["row_key"] or not r["source_line"]:
            continue
        folder = settings.archive_dir / r["delivery_id"]
        if (r["delivery_id"], r["source_file"]) not in files:
            spec = next(
                s for s in read_manifest(folder).files.values() if s.file == r["source_file"]
            )
            text = (folder / spec.file).read_text(encoding=spec.encoding)
            files[r["delivery_id"], r["source_file"]] = text.split("\n")
        line = files[r["delivery_id"], r["source_file"]][int(r["source_line"]) - 1]
        assert r["row_key"].split("|")[0] in line, (r["source_file"], r["source_line"])
        checked += 1
    assert checked > 10


MARKUP = "<script>alert(1)</script>"


def test_texts_from_the_warehouse_and_the_checks_are_escaped_in_the_reports(
    own_warehouse, tmp_path
):
    """A unit's name, a failing row's key and a check's explanation holding markup are shown
    as text in the report, and a run's folder name in the index: the templates escape them."""
    con = duckdb.connect(str(own_warehouse.warehouse))
    try:
        (unit,) = con.execute(
            "select q.org_unit_id from intermediate.int_quarantined_rows as q "
            "inner join marts.dim_org_unit as u using (org_unit_id) "
            "where u.org_level = 3 order by all limit 1"
        ).fetchone()
        con.execute(
            "update marts.dim_org_unit set org_unit_name = org_unit_name || ? "
            "where org_unit_id = ?",
            [MARKUP, unit],
        )
        (name,) = con.execute(
            "select org_unit_name from marts.dim_org_unit where org_unit_id = ?", [unit]
        ).fetchone()
    finally:
        con.close()
    failure = Failure(
        "stg_goals", "expect_column_values_to_be_in_set", "goal_type", "error",
        f"Måltypen {MARKUP} findes ikke.", f"The goal type {MARKUP} is unknown.", 1, 100,
        [{"entity": "goals", "row_key": f"7{MARKUP}", "source_row": 1, "org_unit_id": unit}],
    )  # fmt: skip
    run = tmp_path / "run <b>1"
    run.mkdir()
    (run / "gate-build.json").write_text("{}")
    written = write_area_reports(own_warehouse, GateResult(run.name, run, failures=[failure]))
    pages = {area: page.read_text(encoding="utf-8") for area, page in written.items()}
    assert all(MARKUP not in text for text in pages.values())
    [report] = [text for text in pages.values() if escape(name) in text]
    shown = escape(MARKUP)
    assert f"<td>{escape(name)}</td>" in report  # counted per unit
    assert f"<h2>{escape(name)} ({unit}): " in report  # the unit's rows
    assert f"<td>Måltypen {shown} findes ikke.</td>" in report  # the check's explanation
    assert f"goal_id 7{shown}</td>" in report  # the failing row's key
    assert "<p>Kørsel run &lt;b&gt;1. " in report  # the run id
    index = write_index(tmp_path).read_text(encoding="utf-8")
    assert "<b>1" not in index and "run &lt;b&gt;1: " in index
