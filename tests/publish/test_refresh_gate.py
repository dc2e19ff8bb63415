"""The refresh job end to end: an implausible delivery is stopped by the gate and nothing new is
published; a drop that persists stays blocked until an operator accepts it."""

import datetime as dt
import json
import shutil

import dagster as dg
import duckdb
import pytest

from orchestration.cli import main
from orchestration.generate import GeneratorConfig, generate_delivery
from orchestration.pipeline import run_pipeline
from orchestration.progress import read_progress
from orchestration.publish import current_version
from orchestration.settings import Settings
from tests.conftest import END, KEY, START
from tests.ingest.conftest import refresh_manifest, states_as_of
from tests.publish.test_publish import checksums

AREA = "children_families"


@pytest.fixture
def refresh(published_march, tmp_path, monkeypatch):
    """The daily job in-process on a copy of `published_march`, on the settings in the
    environment."""
    settings = Settings(data_dir=published_march.copy(tmp_path).data_dir)
    monkeypatch.setenv("EFFEKT_PSEUDONYM_KEY", KEY.decode())
    monkeypatch.setenv("EFFEKT_DATA_DIR", str(settings.data_dir))
    for variable in ("EFFEKT_LANDING_DIR", "EFFEKT_RAW_DIR", "EFFEKT_WAREHOUSE"):
        monkeypatch.delenv(variable, raising=False)
    from orchestration.definitions import defs

    def run(extract_at: dt.date, cut_area: str | None = None):
        _land(settings, tmp_path / "store", extract_at, cut_area)
        return defs.resolve_job_def("daily_refresh").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )

    return settings, run


def _land(settings, store, extract_at: dt.date, cut_area: str | None = None) -> str:
    """Drop a small delivery extracted on `extract_at` into landing; return its id."""
    delivery = generate_delivery(
        GeneratorConfig(
            citizens=900,
            start=START,
            end=END,
            seed=5,
            out=store,
            file_format="parquet",
            extract_at=extract_at,
            progress=False,
        )
    )
    folder = settings.landing_dir / delivery.path.name
    shutil.copytree(delivery.path, folder)
    if cut_area:
        _cut_goals_in_half(folder, cut_area)
    return delivery.manifest["delivery_id"]


def _cut_goals_in_half(folder, area, keep_every: int = 2):
    """Half of the area's goals (or all but every `keep_every`th) vanish from the extract, as
    after a botched export."""
    con = duckdb.connect()
    con.execute(f"""
        copy (select g.* from '{folder}/goals.parquet' g
              join '{folder}/interventions.parquet' i using (intervention_id)
              join '{folder}/org_units.parquet' u on u.org_unit_id = i.provider_org_unit_id
              where u.operating_area <> '{area}' or g.goal_id % {keep_every} = 0)
        to '{folder}/goals.cut.parquet' (format parquet)""")
    (rows,) = con.execute(f"select count(*) from '{folder}/goals.cut.parquet'").fetchone()
    con.close()
    (folder / "goals.cut.parquet").replace(folder / "goals.parquet")
    refresh_manifest(folder, "goals", folder / "goals.parquet", rows)


def _gate(settings, result, name):
    return json.loads(
        (settings.data_dir / "reports" / result.run_id / f"gate-{name}.json").read_text()
    )


def test_an_implausible_delivery_is_stopped_and_the_published_version_stays(refresh):
    settings, run = refresh
    published = current_version(settings)
    assert published is not None
    sums = checksums(published)
    history, marts = states_as_of(settings), _marts(settings)

    cut = run(dt.date(2019, 6, 30), cut_area=AREA)
    gate = _gate(settings, cut, "delivery")
    assert not gate["passed"]
    failures = {(f["suite"], f["column"]): f for f in gate["failures"]}
    goals = failures["delivery_units", "goals_ratio / allowed_ratio"]
    assert goals["severity"] == "error" and goals["unexpected_count"] >= 2
    con = duckdb.connect(str(settings.raw_database), read_only=True)
    area_units = {u for (u,) in con.execute(
        f"select org_unit_id from raw.org_units where operating_area = '{AREA}'").fetchall()}  # fmt: skip
    con.close()
    assert {r["org_unit_id"] for r in goals["records"]} <= area_units
    assert not cut.asset_materializations_for_node("published__current")
    assert current_version(settings) == published and checksums(published) == sums
    # The blocked delivery is in the history, and every earlier state is as it was; the
    # warehouse's marts were not rebuilt from it.
    assert states_as_of(settings, sorted({d for _, d in history})) == history
    assert _marts(settings) == marts
    report = (settings.data_dir / "reports" / cut.run_id / "areas" / f"{AREA}.csv").read_text()
    assert "goals_ratio" in report

    history, stages = states_as_of(settings), _stages(settings)
    older = run(dt.date(2019, 5, 31))
    assert not older.success
    (failure,) = older.get_step_failure_events()
    assert failure.step_key == "ingest_deliveries"
    assert (
        "older than the current delivery"
        in failure.event_specific_data.user_failure_data.description
    )
    assert current_version(settings) == published and checksums(published) == sums
    # Too late for the history: archived and recorded as superseded, nothing merged.
    con = duckdb.connect(str(settings.raw_database), read_only=True)
    late = con.execute("select delivery_id, seq from raw.deliveries where status = 'superseded'").fetchall()  # fmt: skip
    con.close()
    assert [seq for _, seq in late] == [None] and (settings.archive_dir / late[0][0]).is_dir()
    assert _stages(settings) == stages | {late[0][0]: "superseded"}  # the current one as it was
    assert states_as_of(settings) == history


def _stages(settings) -> dict[str, str]:
    return {d: r["stage"] for d, r in read_progress(settings).items()}


def _marts(settings) -> dict[str, list]:
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'marts'").fetchall()]  # fmt: skip
        return {t: sorted(map(repr, con.execute(f"select * from marts.{t}").fetchall())) for t in tables}  # fmt: skip
    finally:
        con.close()


def _manifest(settings) -> dict:
    return json.loads((current_version(settings) / "manifest.json").read_text())


def _blocked(settings) -> dict:
    """Run `effekt run`'s refresh; it must fail in the delivery gate: that gate's outcome."""
    refresh = run_pipeline(settings, progress=None)
    assert refresh.failed and not refresh.published_version
    return _gate(settings, refresh.last, "delivery")


def test_a_persisting_drop_stays_blocked_until_accepted_and_the_manifest_carries_the_acceptance(
    published_march, tmp_path, monkeypatch, capsys
):
    settings = published_march.copy(tmp_path)  # as `effekt run` sees it: own instance and key
    for variable in ("DAGSTER_HOME", "EFFEKT_LANDING_DIR", "EFFEKT_RAW_DIR", "EFFEKT_WAREHOUSE"):
        monkeypatch.delenv(variable, raising=False)
    store = tmp_path / "store"

    clean = published_march.delivery_id
    published = current_version(settings)
    sums = checksums(published)
    assert _manifest(settings)["acceptances"] == []

    halved = _land(settings, store, dt.date(2019, 5, 31), cut_area=AREA)
    assert _blocked(settings)["baseline"]["delivery_id"] == clean
    assert current_version(settings) == published

    # The next delivery shows the same halved area: compared with what was published (the clean
    # one), not with the blocked one before it, so it stays blocked.
    persisting = _land(settings, store, dt.date(2019, 6, 30), cut_area=AREA)
    gate = _blocked(settings)
    assert gate["baseline"] == {"delivery_id": clean, "source": "published"}
    [goals] = [f for f in gate["failures"] if f["column"] == "goals_ratio / allowed_ratio"]
    assert {r["delivery_id"] for r in goals["records"]} == {persisting}
    dropped = sorted({r["org_unit_id"] for r in goals["records"]})
    assert dropped and current_version(settings) == published and checksums(published) == sums

    # What an operator gets wrong is refused with a message, and nothing is recorded.
    common = ["--by", "Driftsvagt Hansen", "--data-dir", str(settings.data_dir)]
    assert (
        main(["accept", "--delivery", "no-such-delivery", "--reason", "x", "--all", *common]) == 2
    )
    assert "not loaded" in capsys.readouterr().err
    assert main(["accept", "--delivery", clean, "--reason", "x", "--all", *common]) == 2
    assert "no drop to accept" in capsys.readouterr().err
    assert not (settings.data_dir / "state" / "acceptances.jsonl").exists()

    units = [arg for unit in dropped for arg in ("--unit", unit)]
    reason = "Enheden lukkede 1. maj; tjekket med leder (borger 010190-1234 flyttet)"
    assert main(["accept", "--delivery", persisting, "--reason", reason, *units, *common]) == 0
    assert persisting in capsys.readouterr().out

    # Nothing new landed: the accepted delivery is gated again and published.
    refresh = run_pipeline(settings, progress=None)
    assert not refresh.failed and refresh.published_version
    assert current_version(settings) != published
    manifest = _manifest(settings)
    assert [d["delivery_id"] for d in manifest["deliveries"] if d["is_current"]] == [persisting]
    assert manifest["checks"]["passed"]
    assert manifest["checks"]["delivery_baseline"] == {"delivery_id": clean, "source": "published"}
    [accepted] = manifest["acceptances"]
    assert accepted["delivery_id"] == persisting and accepted["baseline_delivery_id"] == clean
    assert accepted["accepted_by"] == "Driftsvagt Hansen" and accepted["accepted_at"]
    assert [u["org_unit_id"] for u in accepted["units"]] == dropped
    assert all(u["goals_ratio"] < 0.7 for u in accepted["units"])
    assert "Enheden lukkede" in accepted["reason"] and "010190-1234" not in accepted["reason"]
    assert halved not in {a["delivery_id"] for a in manifest["acceptances"]}
