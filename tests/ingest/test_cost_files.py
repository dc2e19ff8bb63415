"""The optional cost files of contract 1.1 (grants, payments, budgets): a delivery with them
loads with reconciliation holding for every file and each planted defect quarantined with its
reason; a later delivery that leaves them out holds no cost data."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.load import ingest_delivery
from tests.conftest import KEY
from tests.ingest.conftest import drop, next_delivery, query, refresh_manifest

GHOST = 999_999_999


def _add_file(folder: Path, entity: str, header: str, rows: list[str]) -> None:
    """Write `entity`.csv (UTF-8, comma, ISO dates) and list it in the manifest as contract 1.1."""
    path = folder / f"{entity}.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["contract_version"] = "1.1"
    manifest["files"].append({
        "entity": entity, "file": path.name, "format": "csv", "rows": len(rows), "sha256": "",
        "csv": {"encoding": "utf-8", "delimiter": ",", "decimal_separator": ".",
                "date_format": "%Y-%m-%d"},
    })  # fmt: skip
    (folder / "manifest.json").write_text(json.dumps(manifest))
    refresh_manifest(folder, entity, path)


@pytest.fixture(scope="module")
def with_costs(tmp_path_factory, make_delivery) -> tuple[Path, dict[str, dict[str, str]]]:
    """A generated delivery with cost files added: good rows and one row per planted defect.
    Returns the folder and, per cost entity, the planted rows' keys and reasons."""
    base = make_delivery(citizens=300, seed=7, file_format="parquet").path
    folder = tmp_path_factory.mktemp("costs") / base.name
    shutil.copytree(base, folder)
    con = duckdb.connect()
    a, b = (r[0] for r in con.execute(
        f"select intervention_id from '{folder / 'interventions.parquet'}' "
        "order by intervention_id limit 2").fetchall())  # fmt: skip
    (unit,) = con.execute(
        f"select org_unit_id from '{folder / 'org_units.parquet'}' where level = 3 "
        "order by org_unit_id limit 1"
    ).fetchone()
    _add_file(folder, "grants",
              "grant_id,intervention_id,rate_dkk,rate_unit,hours_per_week,function,valid_from,valid_to",
              [f"1,{a},1500.00,day,,5.38.50,2018-01-01,2018-12-31",
               f"2,{b},500,hour,4,5.38.53,2018-01-01,",
               f"3,{a},90000,day,,5.38.50,2018-01-01,",  # a day's rate of 90,000: absurd
               f"4,{a},400,hour,,5.38.53,2018-01-01,",  # per hour, hours not given
               f"5,{a},100,day,,9.99.99,2018-01-01,",  # no such function
               f"6,{GHOST},100,day,,5.38.50,2018-01-01,",  # no such intervention
               f"7,{a},-5,day,,5.38.50,2018-01-01,"])  # fmt: skip
    _add_file(folder, "payments",
              "payment_id,intervention_id,grant_id,period_from,period_to,amount_dkk,function,paid_on",
              [f"1,{a},1,2018-01-01,2018-01-31,46500,5.38.50,2018-02-10",
               f"2,{b},2,2018-02-01,2018-02-28,6400,5.38.53,2018-03-10",
               f"3,{a},1,2018-12-01,2019-01-31,93000,5.38.50,2019-02-10",  # past the grant
               f"4,{a},2,2018-02-01,2018-02-28,6400,5.38.53,2018-03-10",  # b's grant
               f"5,{a},1,2018-02-01,2018-02-28,-100,5.38.50,2018-03-10",
               f"6,{a},1,2018-03-01,2018-03-31,9000000,5.38.50,2018-04-10",
               f"7,{a},1,2018-04-01,2018-04-30,45000,5.99,2018-05-10",
               f"8,{a},3,2018-05-01,2018-05-31,45000,5.38.50,2018-06-10",  # its grant is refused
               f"9,{a},,2018-06-01,2018-06-30,45000,5.38.50,2018-07-10"])  # fmt: skip
    _add_file(folder, "budgets",
              "budget_year,org_unit_id,function,target_group,amount_dkk,revised_on",
              [f"2018,{unit},5.38.50,,1000000,2017-10-01",
               f"2018,{unit},5.38.50,,1050000,2018-06-30",
               "2018,NO-SUCH-UNIT,5.38.50,,1000000,2017-10-01",
               f"2018,{unit},5.38.50,seniors,1000000,2017-10-01",
               f"2018,{unit},5.38.59,,-1,2017-10-01"])  # fmt: skip
    planted = {
        "grants": {"3": "out_of_range", "4": "missing_value", "5": "unknown_code",
                   "6": "orphan_reference", "7": "out_of_range"},
        "payments": {"3": "payment_outside_grant", "4": "payment_outside_grant",
                     "5": "out_of_range", "6": "out_of_range", "7": "unknown_code",
                     "8": "parent_quarantined"},
        "budgets": {"2018|NO-SUCH-UNIT|5.38.50||2017-10-01": "orphan_reference",
                    f"2018|{unit}|5.38.50|seniors|2017-10-01": "unknown_code",
                    f"2018|{unit}|5.38.59||2017-10-01": "out_of_range"},
    }  # fmt: skip
    return folder, planted


def test_cost_files_load_reconciled_with_every_planted_defect_quarantined(settings, with_costs):
    folder, planted = with_costs
    result = ingest_delivery(settings, drop(settings, folder), KEY)
    assert result.status == "loaded"
    for entity, defects in planted.items():
        reasons = dict(query(settings, "select key, reason from raw.quarantine where entity = ?",
                             [entity]))  # fmt: skip
        assert reasons == defects, entity
        file = result.rows(entity)
        assert file is not None and file.rows_read == file.rows_loaded + file.rows_quarantined
        assert file.rows_quarantined == len(defects), entity
    (grants,) = query(settings, "select list(grant_id order by grant_id) from raw.grants "
                      "where _last_seq is null")[0]  # fmt: skip
    assert grants == [1, 2]
    log = query(settings, "select entity, rows_read, rows_loaded, rows_quarantined "
                "from raw.ingest_log where entity in ('grants', 'payments', 'budgets') order by 1")  # fmt: skip
    assert log == [("budgets", 5, 2, 3), ("grants", 7, 2, 5), ("payments", 9, 3, 6)]


def test_a_delivery_that_leaves_the_cost_files_out_holds_no_cost_data(
    settings, with_costs, tmp_path
):
    folder, _ = with_costs
    ingest_delivery(settings, drop(settings, folder), KEY)
    later = next_delivery(folder, tmp_path / "later", "nocosts", hours=1)
    manifest = json.loads((later / "manifest.json").read_text())
    manifest["files"] = [f for f in manifest["files"]
                         if f["entity"] not in ("grants", "payments", "budgets")]  # fmt: skip
    (later / "manifest.json").write_text(json.dumps(manifest))
    for entity in ("grants", "payments", "budgets"):
        (later / f"{entity}.csv").unlink()
    result = ingest_delivery(settings, drop(settings, later), KEY)
    assert result.status == "loaded" and result.rows("grants") is None
    changes = dict(query(settings, "select entity, count(*) from raw.changes where delivery_id = ? "
                         "and change = 'delete' group by 1", [result.delivery_id]))  # fmt: skip
    assert changes == {"grants": 2, "payments": 3, "budgets": 2}
    for entity in ("grants", "payments", "budgets"):
        assert query(settings, f"select count(*) from raw.{entity} where _last_seq is null") == [
            (0,)
        ]
    assert query(settings, "select count(*) from raw.ingest_log where delivery_id = ? and entity "
                 "in ('grants', 'payments', 'budgets')", [result.delivery_id]) == [(0,)]  # fmt: skip
