"""Change capture at ingest: each delivery's change set against the delivery before it."""

from __future__ import annotations

import pytest

from orchestration.contract import load_contract
from orchestration.ingest import load
from orchestration.ingest.load import (
    apply_delivery,
    ingest_delivery,
    raw_connection,
    upgrade_raw_layer,
)
from orchestration.settings import Settings
from tests.ingest.conftest import (
    KEY,
    drop,
    next_delivery,
    raw_snapshot,
    rewrite,
    states_as_of,
)


def _query(settings, sql: str) -> list[tuple]:
    with raw_connection(settings, read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture
def first(settings, generated):
    delivery = generated(file_format="parquet")
    ingest_delivery(settings, drop(settings, delivery.path), KEY)
    return delivery


def test_the_first_delivery_is_all_new(settings, first):
    changes = dict(_query(settings, "select entity, count(*) from raw.changes group by 1"))
    loaded = dict(_query(settings, "select entity, rows_loaded from raw.ingest_log"))
    assert changes == {e: n for e, n in loaded.items() if n}
    assert _query(settings, "select distinct change, previous_delivery_id from raw.changes") == [
        ("insert", None)
    ]


def test_the_change_set_lists_exactly_the_planted_inserts_updates_and_deletes(
    settings, first, tmp_path
):
    goals = [
        str(g) for (g,) in _query(settings, "select goal_id from raw.goals order by 1 limit 3")
    ]
    gone = [
        str(f)
        for (f,) in _query(
            settings, "select followup_id from raw.goal_followups order by 1 desc limit 2"
        )
    ]
    later = next_delivery(first.path, tmp_path / "later", "later", hours=1)
    rewrite(later, "goals", "select * replace (case when goal_id in ("
            + ", ".join(f"'{g}'" for g in goals)
            + ") then coalesce(weight, 1) + 1 else weight end as weight) from {t}")  # fmt: skip
    rewrite(later, "goal_followups", "select * from {t} where followup_id not in ("
            + ", ".join(f"'{f}'" for f in gone) + ") union all "
            "select * replace ('999999999' as followup_id) from {t} "
            "where followup_id = (select min(followup_id) from {t})")  # fmt: skip
    ingest_delivery(settings, drop(settings, later), KEY)
    changes = set(
        _query(
            settings,
            "select entity, key, change from raw.changes where delivery_id = "
            "(select delivery_id from raw.current_delivery)",
        )
    )
    assert changes == (
        {("goals", g, "update") for g in goals}
        | {("goal_followups", f, "delete") for f in gone}
        | {("goal_followups", "999999999", "insert")}
    )

    # The same content again, as a new delivery: nothing changed.
    again = next_delivery(later, tmp_path / "again", "again", hours=2)
    ingest_delivery(settings, drop(settings, again), KEY)
    assert _query(
        settings,
        "select count(*) from raw.changes where delivery_id = "
        "(select delivery_id from raw.current_delivery)",
    ) == [(0,)]


@pytest.fixture
def three(settings, first, tmp_path) -> list[str]:
    """The first delivery, then one with reworded goals and a deleted follow-up, then the first's
    content again (the correction undone)."""
    later = next_delivery(first.path, tmp_path / "later", "later", hours=1)
    rewrite(later, "goals", "select * replace (case when goal_id = (select min(goal_id) from {t}) "
            "then 'Reworded goal' else description end as description) from {t}")  # fmt: skip
    rewrite(later, "goal_followups", "select * from {t} where followup_id <> (select max(followup_id) from {t})")  # fmt: skip
    back = next_delivery(first.path, tmp_path / "back", "back", hours=2)
    for folder in (later, back):
        ingest_delivery(settings, drop(settings, folder), KEY)
    return [
        first.manifest["delivery_id"],
        f"{first.manifest['delivery_id']}-later",
        f"{first.manifest['delivery_id']}-back",
    ]


def test_the_state_as_of_an_earlier_delivery_equals_that_delivery_loaded_alone(
    settings, three, first, tmp_path
):
    states = states_as_of(settings, three)
    alone = Settings(data_dir=tmp_path / "alone")
    ingest_delivery(alone, drop(alone, first.path), KEY)
    assert states == states_as_of(alone, [first.manifest["delivery_id"]]) | {
        k: v for k, v in states.items() if k[1] != first.manifest["delivery_id"]
    }
    for entity in load_contract().entities:
        assert states[entity, three[0]] == states[entity, three[2]], entity
        if entity not in ("goals", "goal_followups"):
            assert states[entity, three[0]] == states[entity, three[1]], entity
    assert len(states["goal_followups", three[1]]) == len(states["goal_followups", three[0]]) - 1


def test_the_raw_layer_keeps_a_version_per_change_not_a_copy_per_delivery(settings, three):
    delivered = dict(_query(settings, f"select entity, rows_loaded from raw.ingest_log where delivery_id = '{three[0]}'"))  # fmt: skip
    stored = {e: _query(settings, f"select count(*) from raw.{e}")[0][0] for e in delivered}
    # One goal changed twice (two new versions); one follow-up left and came back (one new).
    assert stored == delivered | {
        "goals": delivered["goals"] + 2,
        "goal_followups": delivered["goal_followups"] + 1,
    }
    goal = _query(
        settings,
        "select _first_seq, _last_seq, description = 'Reworded goal' from raw.goals "
        "where goal_id = (select min(goal_id) from raw.goals) order by _first_seq",
    )
    assert goal == [(1, 1, False), (2, 2, True), (3, None, False)]


def test_a_raw_layer_with_a_copy_per_delivery_is_replayed_into_the_same_history(settings, three):
    """Raw layers written before the history kept a full copy per delivery; the first connection
    that writes turns them into the history, with the same states and change sets."""
    states, changes = (
        states_as_of(settings, three),
        _query(settings, "select * from raw.changes order by all"),
    )
    with raw_connection(settings) as con:  # the layout before: rebuilt from the states
        con.execute("delete from raw.changes")
        for name, entity in load_contract().entities.items():
            columns = ", ".join(f'"{c.name}"' for c in entity.columns)
            con.execute(
                f"create table raw.{name}_copies as select d.delivery_id as _delivery_id, "
                f"v._source_file, v._source_row, {columns} from raw.deliveries d "
                f"join raw.{name} v on v._first_seq <= d.seq and (v._last_seq is null or v._last_seq >= d.seq)"
            )  # fmt: skip
            con.execute(f"drop table raw.{name}")
            con.execute(f"alter table raw.{name}_copies rename to {name}")
        con.execute("alter table raw.deliveries drop column seq")
        con.execute("alter table raw.deliveries drop column status")
    upgrade_raw_layer(settings)
    assert states_as_of(settings, three) == states
    assert _query(settings, "select * from raw.changes order by all") == changes
    assert _query(settings, "select delivery_id from raw.current_delivery") == [(three[2],)]


def test_a_delivery_that_fails_mid_merge_leaves_the_history_as_it_was(
    settings, first, tmp_path, monkeypatch
):
    """All or nothing: a failure after four entities were merged commits none of them."""
    later = next_delivery(first.path, tmp_path / "later", "later", hours=1)
    rewrite(later, "goals", "select * replace (weight + 1 as weight) from {t}")
    before = raw_snapshot(settings)
    merged = []

    def failing(con, name, *args, **kwargs):
        if len(merged) == 4:
            raise RuntimeError("disk full")
        merged.append(name)
        return apply_delivery(con, name, *args, **kwargs)

    monkeypatch.setattr(load, "apply_delivery", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        ingest_delivery(settings, drop(settings, later), KEY)
    assert len(merged) == 4 and raw_snapshot(settings) == before
    monkeypatch.undo()
    (left,) = settings.processing_dir.iterdir()  # not refused: the next run finishes it
    assert ingest_delivery(settings, left, KEY).status == "loaded"
    assert raw_snapshot(settings) != before
