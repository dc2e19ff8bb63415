"""The quality gate on the full data: clean builds pass; each error-level expectation catches its break."""

import dataclasses
import re
import subprocess
import sys

import duckdb
import great_expectations.expectations as gxe
import pytest

from orchestration.contract.cpr import CPR_IN_TEXT
from orchestration.quality.gate import docs_folder, rules_fingerprint, run_gate
from orchestration.quality.reports import write_area_reports, write_index
from orchestration.quality.suites import BUILD_SUITES, DELIVERY_SUITES, SUITES
from orchestration.settings import Thresholds

UNPAID = (
    "select grant_id from staging.stg_grants where grant_id not in "
    "(select grant_id from staging.stg_payments where grant_id is not null) order by grant_id"
)
UNPAID_HOURS = UNPAID.replace("where", "where rate_unit = 'hour' and", 1)
PAYMENT = "select payment_id from staging.stg_payments order by payment_id limit 1 offset"
BUDGET = "select source_row from staging.stg_budgets order by source_row limit 1 offset"
# One break per error-level expectation of the staged suites: (suite, column, SQL, failing rows).
# Each statement changes other rows than the rest, so every count is exact.
BREAKS = [
    ("stg_org_units", "row_key", "insert into staging.stg_org_units select * from staging.stg_org_units where org_level = 3 limit 1", 2),
    ("stg_org_units", "org_level", "update staging.stg_org_units set org_level = 4 where org_unit_id = (select max(org_unit_id) from staging.stg_org_units where org_level = 3 and org_role = 'provider')", 1),
    ("stg_org_units", "closed_on / opened_on", "update staging.stg_org_units set closed_on = opened_on - 1 where org_level = 2 and org_unit_id = (select min(org_unit_id) from staging.stg_org_units where org_level = 2)", 1),
    ("stg_citizens", "citizen_key", "insert into staging.stg_citizens select * from staging.stg_citizens order by citizen_key limit 1", 2),
    ("stg_citizens", "sex", "update staging.stg_citizens set sex = 'X' where citizen_key = (select citizen_key from staging.stg_citizens order by citizen_key limit 1 offset 10)", 1),
    ("stg_citizens", "birth_year", "update staging.stg_citizens set birth_year = 1850 where citizen_key = (select citizen_key from staging.stg_citizens order by citizen_key limit 1 offset 11)", 1),
    ("stg_citizens", "target_group", "update staging.stg_citizens set target_group = 'seniors' where citizen_key = (select citizen_key from staging.stg_citizens order by citizen_key limit 1 offset 12)", 1),
    ("stg_cases", "row_key", "insert into staging.stg_cases select * from staging.stg_cases order by case_id limit 1", 2),
    ("stg_cases", "citizen_exists", "update staging.stg_cases set citizen_key = 'nobody' where case_id = (select case_id from staging.stg_cases order by case_id limit 1 offset 10)", 1),
    ("stg_cases", "authority_exists", "update staging.stg_cases set authority_org_unit_id = 'ORG-none' where case_id = (select case_id from staging.stg_cases order by case_id limit 1 offset 11)", 1),
    ("stg_cases", "legal_basis", "update staging.stg_cases set legal_basis = 'SEL_999' where case_id = (select case_id from staging.stg_cases order by case_id limit 1 offset 12)", 1),
    ("stg_cases", "closed_on / opened_on", "update staging.stg_cases set closed_on = opened_on - 5 where case_id = (select case_id from staging.stg_cases order by case_id limit 1 offset 13)", 1),
    ("stg_interventions", "row_key", "insert into staging.stg_interventions select * from staging.stg_interventions order by intervention_id limit 1", 2),
    ("stg_interventions", "case_exists", "update staging.stg_interventions set case_id = -1 where intervention_id = (select intervention_id from staging.stg_interventions order by intervention_id limit 1 offset 10)", 1),
    ("stg_interventions", "provider_exists", "update staging.stg_interventions set provider_org_unit_id = 'ORG-none' where intervention_id = (select intervention_id from staging.stg_interventions where intervention_type = 'compensating' order by intervention_id limit 1 offset 20)", 1),
    ("stg_interventions", "intervention_type", "update staging.stg_interventions set intervention_type = 'rehab' where intervention_id = (select intervention_id from staging.stg_interventions where intervention_type = 'compensating' order by intervention_id limit 1 offset 21)", 1),
    ("stg_interventions", "ended_on / started_on", "update staging.stg_interventions set ended_on = started_on - 3 where intervention_id = (select intervention_id from staging.stg_interventions order by intervention_id limit 1 offset 13)", 1),
    ("stg_assessments", "row_key", "insert into staging.stg_assessments select * from staging.stg_assessments where instrument = 'DIALOG' order by assessment_id limit 1", 2),
    ("stg_assessments", "case_exists", "update staging.stg_assessments set case_id = -1 where assessment_id = (select assessment_id from staging.stg_assessments order by assessment_id limit 1 offset 10)", 1),
    ("stg_assessments", "instrument", "update staging.stg_assessments set instrument = 'VUM3' where assessment_id = (select assessment_id from staging.stg_assessments order by assessment_id limit 1 offset 11)", 1),
    ("stg_assessments", "instrument_valid_on_date", "update staging.stg_assessments set instrument = 'VUM2008' where assessment_id = (select assessment_id from staging.stg_assessments where instrument = 'VUM2' order by assessment_id limit 1 offset 3)", 1),
    ("stg_assessment_scores", "assessment_exists", "update staging.stg_assessment_scores set assessment_id = -1 where source_row = (select min(source_row) from staging.stg_assessment_scores)", 1),
    ("stg_assessment_scores", "theme", "update staging.stg_assessment_scores set theme = 'sleepiness' where source_row = (select min(source_row) + 1 from staging.stg_assessment_scores)", 1),
    ("stg_assessment_scores", "score_in_range", "update staging.stg_assessment_scores set score = 99 where source_row = (select min(source_row) + 2 from staging.stg_assessment_scores)", 1),
    ("stg_goals", "row_key", "insert into staging.stg_goals select * from staging.stg_goals order by goal_id limit 1", 2),
    ("stg_goals", "intervention_exists", "update staging.stg_goals set intervention_id = -1 where goal_id = (select goal_id from staging.stg_goals order by goal_id limit 1 offset 10)", 1),
    ("stg_goals", "not_on_compensating", "update staging.stg_goals set intervention_id = (select intervention_id from staging.stg_interventions where intervention_type = 'compensating' order by intervention_id limit 1) where goal_id = (select goal_id from staging.stg_goals order by goal_id limit 1 offset 11)", 1),
    ("stg_goals", "goal_type", "update staging.stg_goals set goal_type = 'dream' where goal_id = (select goal_id from staging.stg_goals order by goal_id limit 1 offset 12)", 1),
    ("stg_goals", "life_theme", "update staging.stg_goals set life_theme = 'happiness' where goal_id = (select goal_id from staging.stg_goals order by goal_id limit 1 offset 13)", 1),
    ("stg_goals", "due_on / set_on", "update staging.stg_goals set due_on = set_on - 1 where goal_id = (select goal_id from staging.stg_goals order by goal_id limit 1 offset 14)", 1),
    ("stg_goal_followups", "row_key", "insert into staging.stg_goal_followups select * from staging.stg_goal_followups order by followup_id limit 1", 2),
    ("stg_goal_followups", "goal_exists", "update staging.stg_goal_followups set goal_id = -1 where followup_id = (select followup_id from staging.stg_goal_followups order by followup_id limit 1 offset 10)", 1),
    ("stg_goal_followups", "gas_score", "update staging.stg_goal_followups set gas_score = 7 where followup_id = (select followup_id from staging.stg_goal_followups order by followup_id limit 1 offset 11)", 1),
    ("stg_goal_followups", "followed_up_on / goal_set_on", "update staging.stg_goal_followups set followed_up_on = date '2000-01-01' where followup_id = (select followup_id from staging.stg_goal_followups order by followup_id limit 1 offset 12)", 1),
    # Cost files: grants no payment is made under yet (the last month's), so no payment's check moves.
    ("stg_grants", "row_key", f"insert into staging.stg_grants select * from staging.stg_grants where grant_id = ({UNPAID} limit 1 offset 6)", 2),
    ("stg_grants", "intervention_exists", f"update staging.stg_grants set intervention_id = -1 where grant_id = ({UNPAID} limit 1 offset 0)", 1),
    ("stg_grants", "rate_unit", f"update staging.stg_grants set rate_unit = 'fortnight' where grant_id = ({UNPAID} limit 1 offset 1)", 1),
    ("stg_grants", "function", f"update staging.stg_grants set function = '9.99.99' where grant_id = ({UNPAID} limit 1 offset 2)", 1),
    ("stg_grants", "rate_within_unit_max", f"update staging.stg_grants set rate_dkk = 9e6 where grant_id = ({UNPAID} limit 1 offset 3)", 1),
    ("stg_grants", "hours_given", f"update staging.stg_grants set hours_per_week = null where grant_id = ({UNPAID_HOURS} desc limit 1)", 1),
    ("stg_grants", "valid_to / valid_from", f"update staging.stg_grants set valid_to = valid_from - 1 where grant_id = ({UNPAID} limit 1 offset 5)", 1),
    ("stg_payments", "row_key", "insert into staging.stg_payments select * from staging.stg_payments order by payment_id limit 1", 2),
    ("stg_payments", "intervention_exists", f"update staging.stg_payments set intervention_id = -1, grant_id = null where payment_id = ({PAYMENT} 10)", 1),
    ("stg_payments", "function", f"update staging.stg_payments set function = '9.99.99' where payment_id = ({PAYMENT} 11)", 1),
    ("stg_payments", "amount_dkk", f"update staging.stg_payments set amount_dkk = -5 where payment_id = ({PAYMENT} 12)", 1),
    ("stg_payments", "inside_grant", f"update staging.stg_payments set period_from = period_from - 400 where payment_id = ({PAYMENT} 13)", 1),
    ("stg_payments", "period_to / period_from", f"update staging.stg_payments set period_to = period_from - 1 where payment_id = ({PAYMENT} 14)", 1),
    ("stg_budgets", "row_key", "insert into staging.stg_budgets select * from staging.stg_budgets where source_row = (select min(source_row) from staging.stg_budgets)", 2),
    ("stg_budgets", "unit_exists", f"update staging.stg_budgets set org_unit_id = 'ORG-none' where source_row = ({BUDGET} 10)", 1),
    ("stg_budgets", "function", f"update staging.stg_budgets set function = '9.99.99' where source_row = ({BUDGET} 11)", 1),
    ("stg_budgets", "amount_dkk", f"update staging.stg_budgets set amount_dkk = -1 where source_row = ({BUDGET} 12)", 1),
]  # fmt: skip
STAGED = [n for n in BUILD_SUITES if n.startswith("stg_")]


def test_every_expectation_is_a_gx_class_with_its_severity_and_explanations():
    thresholds = Thresholds()
    for suite in SUITES.values():
        built = suite.expectation_suite(thresholds)
        assert built.name == suite.name and len(built.expectations) == len(suite.checks)
        for expectation in built.expectations:
            assert isinstance(expectation, gxe.Expectation)
            meta = expectation.meta
            assert meta["severity"] in ("error", "warning")
            assert meta["explanation_da"] and meta["explanation_en"]


def test_thresholds_are_applied_when_a_suite_is_built():
    [bunching] = SUITES["delivery_followup_days"].checks
    built = SUITES["delivery_followup_days"].expectation_suite(Thresholds(bunching=0.2))
    assert built.expectations[0].configuration.kwargs["max_value"] == 0.2
    assert bunching.kwargs["max_value"] == 0.05  # the definition keeps its default


def _with_gas_rule_changed(update: dict) -> dict:
    """The gate's suites with the follow-ups' GAS score rule changed by `update`."""
    suite = SUITES["stg_goal_followups"]
    gas = next(c for c in suite.checks if c.kwargs.get("column") == "gas_score")
    changed = dataclasses.replace(gas, expectation=gas.expectation.copy(deep=True, update=update))
    checks = [changed if c is gas else c for c in suite.checks]
    return SUITES | {suite.name: dataclasses.replace(suite, checks=checks)}


def test_a_changed_rule_changes_the_rules_fingerprint():
    """The fingerprint decides whether a daily run may validate only the changed rows: a rule
    changed in code must change it, so that every row is validated under the new rule."""
    thresholds = Thresholds()
    fingerprint = rules_fingerprint(thresholds)
    assert rules_fingerprint(Thresholds()) == fingerprint  # the same rules, the same digest
    # ... also in another process: a daily run compares it with the published version's.
    other = subprocess.run(
        [sys.executable, "-c", "from orchestration.quality.gate import rules_fingerprint; "
         "from orchestration.settings import Thresholds; print(rules_fingerprint(Thresholds()))"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert other.stdout.strip() == fingerprint
    assert rules_fingerprint(thresholds, _with_gas_rule_changed({"max_value": 3})) != fingerprint
    warning = {"severity": "warning", "explanation_da": "-", "explanation_en": "-"}
    assert rules_fingerprint(thresholds, _with_gas_rule_changed({"meta": warning})) != fingerprint
    assert rules_fingerprint(Thresholds(bunching=0.06)) != fingerprint


def test_every_error_level_staged_expectation_has_a_break_here():
    covered = {(s, c) for s, c, _, _ in BREAKS}
    for name in STAGED:
        for check in SUITES[name].checks:
            if check.severity == "error":
                column = (
                    check.kwargs.get("column")
                    or f"{check.kwargs['column_A']} / {check.kwargs['column_B']}"
                )
                assert (name, column) in covered, (name, column)


def test_a_clean_build_passes_every_suite_on_every_row(warehouse, tmp_path):
    # Both gates of a run, into one report folder, as the Dagster checks run them.
    report = tmp_path / "clean"
    results = {
        gate: run_gate(warehouse.settings, "clean", report, suites, gate_name=gate)
        for gate, suites in (("delivery", DELIVERY_SUITES), ("build", BUILD_SUITES))
    }
    for result in results.values():
        assert result.passed, [f.__dict__ for f in result.errors]
    rows = {name: info["rows"] for name, info in results["build"].suites.items()}
    staged_rows = warehouse.query("select count(*) as n from staging.stg_assessment_scores")["n"][0]
    assert rows["stg_assessment_scores"] == staged_rows  # the full data, not a sample
    # Data Docs, built once after a gate's suites: a page per suite's result, each in the index;
    # the build gate's docs leave the delivery gate's in place.
    for gate, result in results.items():
        docs = docs_folder(report, gate)
        index = (docs / "index.html").read_text(encoding="utf-8")
        for name in result.suites:
            pages = list((docs / "validations" / name).rglob("*.html"))
            assert len(pages) == result.suites[name]["batches"], (gate, name)
            assert all(str(page.relative_to(docs)) in index for page in pages), (gate, name)
    # The run index links each gate's Data Docs.
    runs = write_index(tmp_path).read_text(encoding="utf-8")
    for gate in results:
        assert f"clean/data_docs/{gate}/index.html" in runs, gate


def test_each_broken_expectation_fails_with_its_count_and_the_reports_name_it(
    own_warehouse, tmp_path
):
    con = duckdb.connect(str(own_warehouse.warehouse))
    for _, _, sql, _ in BREAKS:
        con.execute(sql)
    con.close()
    result = run_gate(own_warehouse, "broken", tmp_path / "broken", STAGED)
    assert not result.passed
    found = {(f.suite, f.column): f for f in result.errors}
    for suite, column, _, count in BREAKS:
        assert (suite, column) in found, (suite, column)
        assert found[suite, column].unexpected_count == count, (suite, column)
    assert set(found) == {(s, c) for s, c, _, _ in BREAKS}  # and nothing else fails
    failure = found["stg_goal_followups", "gas_score"]
    assert failure.records[0]["entity"] == "goal_followups" and failure.records[0]["source_row"]
    # The reports name each failing expectation, per operating area, without CPR numbers.
    areas = write_area_reports(own_warehouse, result)
    index = write_index(tmp_path)
    text = "".join(p.read_text() for p in areas.values())
    for suite, column, _, _ in BREAKS:
        assert f"<td>{suite}</td><td>{column}</td>" in text.replace("&#x27;", "'"), (suite, column)
    assert "broken" in index.read_text()
    for path in (tmp_path / "broken").rglob("*"):
        if path.is_file() and path.suffix in (".html", ".csv", ".json"):
            assert not CPR_IN_TEXT.search(path.read_text(encoding="utf-8", errors="replace")), path


def test_row_wise_suites_are_validated_in_batches_and_their_failures_added_up(
    own_warehouse, tmp_path
):
    """Memory that does not grow with the data: the assessment scores (row-wise expectations
    only) in batches of 1,000 rows, with the failures of every batch counted and listed; the
    follow-ups (a unique key) whole, so a duplicate far from its original is still caught."""
    con = duckdb.connect(str(own_warehouse.warehouse))
    total = con.execute("select count(*) from staging.stg_assessment_scores").fetchone()[0]
    con.execute("update staging.stg_assessment_scores set score = 99 where source_row in ("
                "select source_row from staging.stg_assessment_scores order by source_row "
                f"limit 3 offset {total // 2}) or source_row = (select min(source_row) "
                "from staging.stg_assessment_scores) or source_row = (select max(source_row) "
                "from staging.stg_assessment_scores)")  # fmt: skip
    con.execute("insert into staging.stg_goal_followups select * from staging.stg_goal_followups "
                "order by followup_id limit 1")  # fmt: skip
    con.close()
    suites = ["stg_assessment_scores", "stg_goal_followups"]
    result = run_gate(own_warehouse, "batched", tmp_path / "batched", suites, batch_rows=1_000)
    scores, followups = (result.suites[name] for name in suites)
    assert scores["rows"] == total and scores["batches"] >= 3 and not scores["success"]
    assert followups["batches"] == 1
    found = {(f.suite, f.column): f for f in result.errors}
    assert set(found) == {
        ("stg_assessment_scores", "score_in_range"),
        ("stg_goal_followups", "row_key"),
    }
    score = found["stg_assessment_scores", "score_in_range"]
    assert score.unexpected_count == 5 and score.element_count == total
    assert len(score.records) == 5 and len({r["source_row"] for r in score.records}) == 5
    assert found["stg_goal_followups", "row_key"].unexpected_count == 2
    # The same gate in one batch finds the same.
    whole = run_gate(own_warehouse, "whole", tmp_path / "whole", suites, batch_rows=total)
    assert whole.suites["stg_assessment_scores"]["batches"] < scores["batches"]
    assert [(f.column, f.unexpected_count) for f in whole.errors] == [
        (f.column, f.unexpected_count) for f in result.errors
    ]


def test_an_area_report_lists_only_that_area_s_units(own_warehouse, tmp_path):
    con = duckdb.connect(str(own_warehouse.warehouse))
    for _, _, sql, _ in BREAKS:
        con.execute(sql)
    units = dict(
        con.execute(
            "select org_unit_id, coalesce(operating_area, 'administration') from marts.dim_org_unit"
        ).fetchall()
    )
    con.close()
    result = run_gate(own_warehouse, "areas", tmp_path / "areas", STAGED)
    write_area_reports(own_warehouse, result)
    for csv_file in (tmp_path / "areas" / "areas").glob("*.csv"):
        listed = set(re.findall(r"\bORG-\d+\b", csv_file.read_text()))
        assert all(units.get(u) == csv_file.stem for u in listed), csv_file.stem
    children = (tmp_path / "areas" / "areas" / "children_families.csv").read_text()
    assert "stg_goal_followups" in children or "stg_goals" in children


@pytest.mark.parametrize(
    "suite",
    ["ind_goal_attainment", "ind_goal_type_achievement", "ind_cost_forecast"],
)
def test_indicator_suites_catch_unsuppressed_small_cells_and_cpr_like_text(
    own_warehouse, tmp_path, suite
):
    con = duckdb.connect(str(own_warehouse.warehouse))
    con.execute(f"update indicators.{suite} set n_citizens = 3 where not is_suppressed and org_level = 3 "
                f"and rowid = (select min(rowid) from indicators.{suite} where not is_suppressed and org_level = 3)")  # fmt: skip
    con.execute(
        f"update indicators.{suite} set org_unit_name = 'Enhed 010203-1234' where rowid = 1"
    )
    con.close()
    result = run_gate(own_warehouse, "ind", tmp_path / "ind", [suite])
    failed = {f.column: f.unexpected_count for f in result.errors}
    assert failed == {"n_citizens": 1, "org_unit_name": 1}
