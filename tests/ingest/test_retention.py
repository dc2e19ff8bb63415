"""Bounded history on disk: delivered files leave the archive after EFFEKT_ARCHIVE_KEEP_DAYS; their
rows stay in the history, and the current and published deliveries' files are never deleted."""

from __future__ import annotations

import dataclasses
import datetime as dt

from orchestration.ingest.load import ingest_delivery, prune_archive, raw_connection
from tests.ingest.conftest import KEY, drop, next_delivery, query


def _history(settings) -> list:
    with raw_connection(settings, read_only=True) as con:
        return sorted(con.execute("select * from raw.goals").fetchall(), key=repr)


def test_old_delivered_files_go_and_their_rows_stay(settings, generated, tmp_path):
    first = generated(file_format="parquet")
    folders = [first.path] + [
        next_delivery(first.path, tmp_path / f"d{n}", f"d{n}", hours=n) for n in (1, 2, 3)
    ]
    for folder in folders:
        ingest_delivery(settings, drop(settings, folder), KEY)
    ids = [d for (d,) in query(settings, "select delivery_id from raw.deliveries order by seq")]
    history = _history(settings)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=40)

    assert prune_archive(settings, now=later) == []  # no setting: everything is kept
    keeping = dataclasses.replace(settings, archive_keep_days=30)
    assert prune_archive(keeping, keep=[ids[1]], now=dt.datetime.now(dt.UTC)) == []
    # 40 days on: all but the current (ids[3]) and the published (ids[1]) delivery's files go.
    assert prune_archive(keeping, keep=[ids[1]], now=later) == [ids[0], ids[2]]
    assert sorted(p.name for p in settings.archive_dir.iterdir()) == sorted([ids[1], ids[3]])
    pruned = dict(
        query(settings, "select delivery_id, archive_pruned_at is not null from raw.deliveries")
    )
    assert pruned == {ids[0]: True, ids[1]: False, ids[2]: True, ids[3]: False}
    assert _history(settings) == history
    assert prune_archive(keeping, keep=[ids[1]], now=later) == []  # once only

    # The first delivery again: it was loaded, so the copy is discarded, not archived again.
    again = ingest_delivery(settings, drop(settings, first.path, name="again"), KEY)
    assert again.status == "already_loaded"
    assert not (settings.archive_dir / ids[0]).exists()
    assert not (settings.landing_dir / "again").exists()
    assert _history(settings) == history
