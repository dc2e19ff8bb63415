"""The period-incremental warehouse: a build on the last one computes only the periods that the
changes since it touched, and gives the tables a build of everything gives."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.generate import GeneratorConfig, generate_delivery
from orchestration.settings import Settings
from orchestration.warehouse import plan_build, planned_build, rules_fingerprint
from tests.conftest import START
from tests.ingest.conftest import next_delivery, rewrite
from tests.warehouse.conftest import (
    build_on_last,
    differences,
    ingest_copy,
    rebuilt_alike,
    touched_periods,
)

DAYS = [dt.date(2019, 6, 25), dt.date(2019, 6, 26)]
CLEARED_GOAL = "(select goal_id from {t} where due_on is not null order by set_on, goal_id limit 1)"


@pytest.fixture(scope="module")
def snapshots(tmp_path_factory) -> list[Path]:
    """Two daily snapshots of one history (with cost files: payments made and corrected between
    them), then the second with the earliest follow-up's GAS
    score corrected (a change years back)."""
    store = tmp_path_factory.mktemp("incremental")
    days = []
    for day in DAYS:
        config = GeneratorConfig(citizens=300, start=START, end=DAYS[-1], seed=5, progress=False,
                                 out=store / day.isoformat(), file_format="parquet", extract_at=day,
                                 costs=True)  # fmt: skip
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


@pytest.fixture(scope="module")
def first_build(snapshots, tmp_path_factory) -> tuple[Path, str]:
    """A data folder with the first snapshot ingested and built, and why it was built so; each
    test goes on from a copy of its own."""
    settings = Settings(data_dir=tmp_path_factory.mktemp("first-build") / "data")
    ingest_copy(settings, snapshots[0])
    return settings.data_dir, build_on_last(settings)


def copy_of(first_build: tuple[Path, str], data_dir: Path) -> Settings:
    shutil.copytree(first_build[0], data_dir)
    return Settings(data_dir=data_dir)


def test_a_build_on_the_last_one_computes_the_touched_periods_and_equals_a_full_build(
    snapshots, first_build, tmp_path
):
    assert first_build[1] == "a first build: everything"
    settings = copy_of(first_build, tmp_path / "daily")
    total, touched = touched_periods(settings)
    assert touched == total

    # The next day: only the periods around the extract day (its quarter, the window ending
    # with it, its year) are computed again; the tables equal a build of everything.
    ingest_copy(settings, snapshots[1])
    assert build_on_last(settings).startswith("on the build through delivery number 1")
    assert touched_periods(settings) == (total, 3)
    assert rebuilt_alike(settings, tmp_path / "full-2") == dict.fromkeys(
        differences(settings.warehouse, settings.warehouse), (0, 0)
    )

    # A follow-up corrected years back: every period from its quarter on, and still equal.
    ingest_copy(settings, snapshots[2])
    assert build_on_last(settings).startswith("on the build through delivery number 2")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        first = con.execute(
            "select min(followed_up_on) from staging.stg_goal_followups"
        ).fetchone()[0]
        expected = con.execute(
            "select count(*) from intermediate.int_periods where period_end >= ?", [first]
        ).fetchone()[0]
    assert 3 < touched_periods(settings)[1] == expected
    diffs = rebuilt_alike(settings, tmp_path / "full-3")
    assert diffs == dict.fromkeys(diffs, (0, 0))

    # A due date cleared: it decides which periods a goal is overdue in, back to its setting.
    ingest_copy(settings, snapshots[3])
    build_on_last(settings)
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        expected = con.execute(
            "select count(*) from intermediate.int_periods where period_end >= (select set_on "
            "from staging.stg_goals where due_on is null order by set_on limit 1)"
        ).fetchone()[0]
    assert 3 < touched_periods(settings)[1] == expected
    diffs = rebuilt_alike(settings, tmp_path / "full-4")
    assert diffs == dict.fromkeys(diffs, (0, 0))

    # An assessment withdrawn and a score corrected: their assessments' rows are computed again
    # in the key-incremental staging and marts, the other rows kept; still equal.
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        withdrawn, scores_before = con.execute(
            "select assessment_id, (select count(*) from marts.fct_assessment_scores) from "
            "staging.stg_assessments order by assessed_on, assessment_id limit 1"
        ).fetchone()
    ingest_copy(settings, snapshots[4])
    assert build_on_last(settings).startswith("on the build through delivery number 4")
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        gone, scores_after = con.execute(
            "select count(*) filter (where assessment_id = ?), count(*) "
            "from marts.fct_assessment_scores",
            [withdrawn],
        ).fetchone()
    assert gone == 0 and scores_after < scores_before
    diffs = rebuilt_alike(settings, tmp_path / "full-5")
    assert diffs == dict.fromkeys(diffs, (0, 0))


def test_everything_is_built_again_when_asked_or_when_the_rules_changed(first_build, tmp_path):
    settings = copy_of(first_build, tmp_path / "data")
    assert plan_build(settings).since_seq == 1
    # A build that fails leaves no record: the next one builds everything.
    with pytest.raises(RuntimeError, match="dbt stopped"), planned_build(settings):
        raise RuntimeError("dbt stopped half way")
    assert plan_build(settings).args == ["--full-refresh"]
    build_on_last(settings)
    assert plan_build(settings).since_seq == 1
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        (built_through,) = con.execute(
            "select through_delivery_id from main.build_state"
        ).fetchone()
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
    with duckdb.connect(str(settings.warehouse)) as con:  # back to the record the build wrote
        con.execute(
            "update main.build_state set through_seq = 1, through_delivery_id = ?", [built_through]
        )
    assert plan_build(settings).since_seq == 1
    with duckdb.connect(str(settings.warehouse)) as con:  # a record that names no delivery
        con.execute("alter table main.build_state drop column through_delivery_id")
    assert plan_build(settings).args == ["--full-refresh"]
    with duckdb.connect(str(settings.warehouse)) as con:
        con.execute("drop table main.build_state")  # a warehouse built before the record
    assert plan_build(settings).args == ["--full-refresh"]
