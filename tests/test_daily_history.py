"""Daily operation on a history: snapshots loaded one by one, day after day, publish exactly what a
fresh data folder publishes from the last snapshot alone, also after deletions and corrections."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.generate import GeneratorConfig, generate_delivery
from orchestration.ingest.load import ingest_delivery
from orchestration.pipeline import run_pipeline
from orchestration.publish import current_version
from orchestration.quality.gate import row_scope
from orchestration.settings import Thresholds
from tests.conftest import KEY, START, operated_settings
from tests.ingest.conftest import next_delivery, rewrite

DAYS = [dt.date(2019, 6, 25) + dt.timedelta(days=n) for n in range(5)]
CORRECTED_GOAL = "(select max(goal_id) from {t} where weight is null or weight between 0.25 and 5)"


def _snapshot(store: Path, day: dt.date) -> Path:
    config = GeneratorConfig(citizens=300, start=START, end=DAYS[-1], seed=11, out=store,
                             file_format="parquet", extract_at=day, progress=False)  # fmt: skip
    return generate_delivery(config).path


def _delivery_id(folder: Path) -> str:
    return json.loads((folder / "manifest.json").read_text())["delivery_id"]


def _run(settings, folder: Path) -> tuple[Path, dict]:
    """Land one delivery and run the daily refresh; it must publish. The published version and
    the build gate's outcome."""
    shutil.copytree(folder, settings.landing_dir / folder.name)
    refresh = run_pipeline(settings, progress=None)
    assert not refresh.failed, refresh.failed
    report = settings.data_dir / "reports" / refresh.last.run_id / "gate-build.json"
    return current_version(settings), json.loads(report.read_text())


def _differences(ours: Path, theirs: Path) -> dict[str, tuple[int, int]]:
    """Per published table (open and restricted), rows only in ours and rows only in theirs."""
    con = duckdb.connect()
    out = {}
    for file in ("indicators.duckdb", "marts.duckdb"):
        con.execute(f"attach '{ours / file}' as ours (read_only)")
        con.execute(f"attach '{theirs / file}' as theirs (read_only)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_catalog = 'ours' order by 1, 2"
        ).fetchall()
        assert tables, file
        for schema, table in tables:
            a, b = f"ours.{schema}.{table}", f"theirs.{schema}.{table}"
            out[f"{file}:{schema}.{table}"] = con.execute(
                f"select (select count(*) from (select * from {a} except all select * from {b})), "
                f"(select count(*) from (select * from {b} except all select * from {a}))"
            ).fetchone()
        con.execute("detach ours")
        con.execute("detach theirs")
    con.close()
    return out


@pytest.fixture(scope="module")
def deliveries(tmp_path_factory) -> list[Path]:
    """Five daily snapshots of one history, then the fifth with records deleted, then that one
    with follow-ups corrected."""
    store = tmp_path_factory.mktemp("snapshots")
    days = [_snapshot(store, day) for day in DAYS]
    deleted = next_delivery(days[-1], store / "deleted", "deleted", hours=1)
    rewrite(deleted, "goal_followups", "select * from {t} where followup_id not in "
            "(select followup_id from {t} order by followup_id desc limit 5)")  # fmt: skip
    rewrite(deleted, "interventions", "select * from {t} where intervention_id <> "
            "(select max(intervention_id) from {t} where intervention_id not in "
            "(select intervention_id from '" + str(deleted / "goals.parquet") + "'))")  # fmt: skip
    corrected = next_delivery(deleted, store / "corrected", "corrected", hours=2)
    rewrite(corrected, "goal_followups", "select * replace (case when followup_id in "
            "(select followup_id from {t} order by followup_id limit 5) then "
            "case when gas_score < 2 then gas_score + 1 else gas_score - 1 end "
            "else gas_score end as gas_score) from {t}")  # fmt: skip
    # ... and one goal's weight corrected to an unusual one (a warning of the build gate).
    rewrite(corrected, "goals", f"select * replace (case when goal_id = {CORRECTED_GOAL} "
            "then 9.0 else weight end as weight) from {t}")  # fmt: skip
    return [*days, deleted, corrected]


def _data_folder(root: Path):
    root.mkdir()
    return operated_settings(root)


def test_daily_snapshots_publish_what_the_last_one_alone_publishes(deliveries, tmp_path):
    """Every delivery goes into the history one by one; day 5 and the last (after the deletions
    and the corrections) get a daily run and are compared with a fresh folder each. The others
    go in by the ingest alone (the asset's own function): the warehouse is built from the
    current state, so building on those days would only cost test time."""
    daily = _data_folder(tmp_path / "daily")
    gates = {}
    for n, folder in enumerate(deliveries, 1):
        if n not in (5, 7):  # into the history by the ingest alone
            ingest_delivery(daily, shutil.copytree(folder, daily.landing_dir / folder.name), KEY)
            continue
        published, gates[n] = _run(daily, folder)
        alone, gates[f"fresh-{n}"] = _run(_data_folder(tmp_path / f"fresh-{n}"), folder)
        assert _differences(published, alone) == dict.fromkeys(
            _differences(alone, alone), (0, 0)
        ), folder.name
    _row_level_suites_validate_what_changed(daily, gates)

    con = duckdb.connect(str(daily.raw_database), read_only=True)
    changes = dict(con.execute(
        "select delivery_id || ':' || entity || ':' || change, count(*) from raw.changes "
        "where delivery_id like '%-deleted' or delivery_id like '%-corrected' group by 1"
    ).fetchall())  # fmt: skip
    con.close()
    deleted, corrected = (_delivery_id(f) for f in deliveries[-2:])
    assert changes == {
        f"{deleted}:goal_followups:delete": 5,
        f"{deleted}:interventions:delete": 1,
        f"{corrected}:goal_followups:update": 5,
        f"{corrected}:goals:update": 1,
    }


def _rows(gate: dict) -> dict[str, int]:
    return {
        name: suite["rows"] for name, suite in gate["suites"].items() if name.startswith("stg_")
    }


def _row_level_suites_validate_what_changed(settings, gates: dict) -> None:
    """The first publication and every fresh folder validate every row; a daily run only the rows
    changed since the published delivery and their children, so it catches what changed."""
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    staged = {f"stg_{e}": con.execute(f"select count(*) from staging.stg_{e}").fetchone()[0]
              for e in ("org_units", "citizens", "cases", "interventions", "goals", "goal_followups")}  # fmt: skip
    goal, weight = con.execute("select goal_id, weight from staging.stg_goals where weight = 9").fetchone()  # fmt: skip
    expected_followups = con.execute(
        "select count(*) from staging.stg_goal_followups where goal_id = ? or followup_id in "
        "(select followup_id from staging.stg_goal_followups order by followup_id limit 5)",
        [goal],
    ).fetchone()[0]
    con.close()
    assert gates[5]["row_level"]["why"] == "nothing is published yet: every row"
    assert {k: v for k, v in _rows(gates["fresh-7"]).items() if k in staged} == staged
    assert _rows(gates[5]) == _rows(gates["fresh-5"])
    assert _rows(gates[7]) == dict.fromkeys(_rows(gates[7]), 0) | {
        "stg_goals": 1,
        "stg_goal_followups": expected_followups,
    }
    warned = [
        f for f in gates[7]["failures"] if f["suite"] == "stg_goals" and f["column"] == "weight"
    ]
    assert weight == 9 and [f["unexpected_count"] for f in warned] == [1]
    # Days 1 to 5 are deliveries 1 to 5 of the history; "deleted" is 6 (only deletions: nothing
    # of it is left to validate), "corrected" 7.
    assert (gates[7]["row_level"]["since_seq"], gates[7]["row_level"]["through_seq"]) == (5, 7)

    # Other rules (here a threshold) than the published version's: every row again.
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        con.execute(f"attach '{settings.raw_database}' as raw_layer (read_only)")
        assert row_scope(settings, con, Thresholds()).since_seq > 0
        changed = row_scope(settings, con, Thresholds(max_drop=0.5))
    assert changed.since_seq == 0 and "changed since the published version" in changed.why
