"""Change capture at ingest: each delivery's change set against the delivery before it."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.ingest.load import ingest_delivery, raw_connection
from tests.ingest.conftest import KEY, drop


def _query(settings, sql: str) -> list[tuple]:
    with raw_connection(settings, read_only=True) as con:
        return con.execute(sql).fetchall()


def next_delivery(source: Path, target: Path, suffix: str, hours: int) -> Path:
    """A copy of a delivery as the case system would send it `hours` later, under its own id."""
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    manifest["delivery_id"] = f"{manifest['delivery_id']}-{suffix}"
    at = manifest["extract_time"]
    manifest["extract_time"] = at[:11] + f"{int(at[11:13]) + hours:02d}" + at[13:]
    (target / "manifest.json").write_text(json.dumps(manifest))
    return target


def rewrite(folder: Path, entity: str, select: str) -> None:
    """Replace an entity's Parquet file by `select` over it (as `t`), and fix the manifest."""
    path = folder / f"{entity}.parquet"
    new = folder / f"{entity}.new.parquet"
    con = duckdb.connect()
    con.execute(f"copy ({select.format(t=repr(str(path)))}) to '{new}' (format parquet)")
    (rows,) = con.execute(f"select count(*) from '{new}'").fetchone()
    con.close()
    new.replace(path)
    manifest = json.loads((folder / "manifest.json").read_text())
    for entry in manifest["files"]:
        if entry["entity"] == entity:
            entry["rows"], entry["sha256"] = rows, hashlib.sha256(path.read_bytes()).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(manifest))


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
