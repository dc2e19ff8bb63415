"""The period-incremental warehouse: a build on the last one computes only the periods that the
changes since it touched, and gives the tables a build of everything gives."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.generate import GeneratorConfig, generate_delivery
from orchestration.ingest.load import ingest_delivery
from orchestration.settings import Settings
from orchestration.warehouse import (
    BUILD_ARGS,
    plan_build,
    planned_build,
    rules_fingerprint,
    run_dbt,
)
from tests.conftest import KEY, START
from tests.ingest.conftest import next_delivery, rewrite

DAYS = [dt.date(2019, 6, 25), dt.date(2019, 6, 26)]
CLEARED_GOAL = "(select goal_id from {t} where due_on is not null order by set_on, goal_id limit 1)"
SCHEMAS = ("staging", "intermediate", "marts", "indicators")
# Rows per citizen number: numbers are made per build (int_citizen_numbers), so compare the
# rows without them.
NUMBERED = {"int_intervention_cell_citizens", "int_goal_event_cell_citizens", "int_citizen_numbers"}


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> list[Path]:
    """Two daily snapshots of one history, then the second with the earliest follow-up's GAS
    score corrected (a change years back)."""
    store = tmp_path_factory.mktemp("incremental")
    days = []
    for day in DAYS:
        config = GeneratorConfig(citizens=300, start=START, end=DAYS[-1], seed=5, progress=False,
                                 out=store / day.isoformat(), file_format="parquet", extract_at=day)  # fmt: skip
        days.append(generate_delivery(config).path)
    corrected = next_delivery(days[-1], store / "corrected", "corrected", hours=1)
    rewrite(corrected, "goal_followups", "select * replace (case when followup_id = (select "
            "followup_id from {t} order by followed_up_on, followup_id limit 1) then case when "
            "gas_score < 2 then gas_score + 1 else gas_score - 1 end else gas_score end "
            "as gas_score) from {t}")  # fmt: skip
    # ... and the earliest goal with a due date delivered without one (a date cleared).
    cleared = next_delivery(corrected, store / "cleared", "cleared", hours=2)
    rewrite(cleared, "goals", f"select * replace (case when goal_id = {CLEARED_GOAL} then null "
            "else due_on end as due_on) from {t}")  # fmt: skip
    # ... and the earliest assessment withdrawn with its scores, a score of the latest corrected.
    withdrawn = next_delivery(cleared, store / "withdrawn", "withdrawn", hours=3)
    assessments = repr(str(withdrawn / "assessments.parquet"))
    first, latest = (f"(select assessment_id from {assessments} order by assessed_on {way}, "
                     f"assessment_id limit 1)" for way in ("", "desc"))  # fmt: skip
    rewrite(withdrawn, "assessment_scores", f"select * replace (case when assessment_id = {latest} "
            "and theme = (select min(theme) from {t} where assessment_id = " + latest + ") then "
            "case when score < 2 then score + 1 else score - 1 end else score end as score) "
            f"from {{t}} where assessment_id <> {first}")  # fmt: skip
    rewrite(withdrawn, "assessments", f"select * from {{t}} where assessment_id <> {first}")
    return [*days, corrected, cleared, withdrawn]


def _ingest(settings: Settings, folder: Path) -> None:
    settings.landing_dir.mkdir(parents=True, exist_ok=True)
    ingest_delivery(settings, shutil.copytree(folder, settings.landing_dir / folder.name), KEY)


def _build(settings: Settings) -> str:
    with planned_build(settings) as plan:
        run_dbt(settings, [*BUILD_ARGS, *plan.args])
    return plan.why


def _touched(settings: Settings) -> tuple[int, int]:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(
            "select count(*), count(*) filter (where is_touched) "
            "from intermediate.int_touched_periods"
        ).fetchone()


def _differences(ours: Path, theirs: Path) -> dict[str, tuple[int, int]]:
    """Per table of the intermediate, mart and indicator schemas, rows only in ours and only in
    theirs (`except all` both ways)."""
    con = duckdb.connect()
    con.execute(f"attach '{ours}' as ours (read_only)")
    con.execute(f"attach '{theirs}' as theirs (read_only)")
    tables = con.execute(
        "select table_schema, table_name from information_schema.tables where table_catalog = "
        f"'ours' and table_schema in {SCHEMAS} and table_name <> 'int_touched_periods'"
    ).fetchall()
    out = {}
    for schema, table in tables:
        columns = "* exclude (citizen_number)" if table in NUMBERED else "*"
        a = f"select {columns} from ours.{schema}.{table}"
        b = f"select {columns} from theirs.{schema}.{table}"
        out[table] = con.execute(
            f"select (select count(*) from ({a} except all {b})), "
            f"(select count(*) from ({b} except all {a}))"
        ).fetchone()
    con.close()
    assert len(out) > 20
    return out


def _rebuilt_alike(settings: Settings, root: Path) -> dict[str, tuple[int, int]]:
    """The tables of a copy of the data folder built with everything again."""
    copy = Settings(data_dir=root)
    shutil.copytree(settings.data_dir, copy.data_dir)
    plan = plan_build(copy, rebuild=True)
    assert plan.args == ["--full-refresh"]
    run_dbt(copy, [*BUILD_ARGS, *plan.args])
    return _differences(settings.warehouse, copy.warehouse)


def test_a_build_on_the_last_one_computes_the_touched_periods_and_equals_a_full_build(
    snapshots, tmp_path
):
    settings = Settings(data_dir=tmp_path / "daily")
    _ingest(settings, snapshots[0])
    assert _build(settings) == "a first build: everything"
    total, touched = _touched(settings)
    assert touched == total

    # The next day: only the periods around the extract day (its quarter, the window ending
    # with it, its year) are computed again; the tables equal a build of everything.
    _ingest(settings, snapshots[1])
    assert _build(settings).startswith("on the build through delivery number 1")
    assert _touched(settings) == (total, 3)
    assert _rebuilt_alike(settings, tmp_path / "full-2") == dict.fromkeys(
        _differences(settings.warehouse, settings.warehouse), (0, 0)
    )

    # A follow-up corrected years back: every period from its quarter on, and still equal.
    _ingest(settings, snapshots[2])
    assert _build(settings).startswith("on the build through delivery number 2")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        first = con.execute(
            "select min(followed_up_on) from staging.stg_goal_followups"
        ).fetchone()[0]
        expected = con.execute(
            "select count(*) from intermediate.int_periods where period_end >= ?", [first]
        ).fetchone()[0]
    assert 3 < _touched(settings)[1] == expected
    differences = _rebuilt_alike(settings, tmp_path / "full-3")
    assert differences == dict.fromkeys(differences, (0, 0))

    # A due date cleared: it decides which periods a goal is overdue in, back to its setting.
    _ingest(settings, snapshots[3])
    _build(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        expected = con.execute(
            "select count(*) from intermediate.int_periods where period_end >= (select set_on "
            "from staging.stg_goals where due_on is null order by set_on limit 1)"
        ).fetchone()[0]
    assert 3 < _touched(settings)[1] == expected
    differences = _rebuilt_alike(settings, tmp_path / "full-4")
    assert differences == dict.fromkeys(differences, (0, 0))

    # An assessment withdrawn and a score corrected: their assessments' rows are computed again
    # in the key-incremental staging and marts, the other rows kept; still equal.
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        withdrawn, scores_before = con.execute(
            "select assessment_id, (select count(*) from marts.fct_assessment_scores) from "
            "staging.stg_assessments order by assessed_on, assessment_id limit 1"
        ).fetchone()
    _ingest(settings, snapshots[4])
    assert _build(settings).startswith("on the build through delivery number 4")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        gone, scores_after = con.execute(
            "select count(*) filter (where assessment_id = ?), count(*) "
            "from marts.fct_assessment_scores",
            [withdrawn],
        ).fetchone()
    assert gone == 0 and scores_after < scores_before
    differences = _rebuilt_alike(settings, tmp_path / "full-5")
    assert differences == dict.fromkeys(differences, (0, 0))


def test_everything_is_built_again_when_asked_or_when_the_rules_changed(snapshots, tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    _ingest(settings, snapshots[0])
    _build(settings)
    assert plan_build(settings).since_seq == 1
    # A build that fails leaves no record: the next one builds everything.
    with pytest.raises(RuntimeError, match="dbt stopped"), planned_build(settings):
        raise RuntimeError("dbt stopped half way")
    assert plan_build(settings).args == ["--full-refresh"]
    _build(settings)
    assert plan_build(settings).since_seq == 1
    assert plan_build(settings, rebuild=True).args == ["--full-refresh"]
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update main.build_state set fingerprint = 'rules of an older release'")
    changed = plan_build(settings)
    assert changed.args == ["--full-refresh"] and "changed" in changed.why
    # A raw layer whose delivery number 1 is another delivery (restored from another copy), or
    # that holds no delivery number 1 at all: the history is not the one built on.
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update main.build_state set fingerprint = ?", [rules_fingerprint()])
        con.execute("update main.build_state set through_delivery_id = 'another delivery'")
    restored = plan_build(settings)
    assert (
        restored.args == ["--full-refresh"] and "no longer holds delivery number 1" in restored.why
    )
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("update main.build_state set through_seq = 7")
    assert plan_build(settings).args == ["--full-refresh"]
    _build(settings)
    assert plan_build(settings).since_seq == 1
    with duckdb.connect(str(settings.warehouse)) as con:  # a record that names no delivery
        con.execute("alter table main.build_state drop column through_delivery_id")
    assert plan_build(settings).args == ["--full-refresh"]
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("drop table main.build_state")  # a warehouse built before the record
    assert plan_build(settings).args == ["--full-refresh"]
