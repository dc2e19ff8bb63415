"""The delivery gate's baseline and accepted drops, on a real raw layer and the real gate."""

import datetime as dt
import json
import os
import shutil

import duckdb
import pytest

from orchestration import progress
from orchestration.cli import main
from orchestration.ingest.load import ingest_delivery
from orchestration.quality.acceptance import (
    AcceptanceError,
    accept,
    acceptances_file,
    read_acceptances,
)
from orchestration.quality.gate import run_gate
from orchestration.quality.suites import DELIVERY_SUITES
from orchestration.settings import Settings
from tests.conftest import KEY
from tests.publish.test_refresh_gate import AREA, _cut_goals_in_half

RATIOS = "goals_ratio / allowed_ratio"


@pytest.fixture
def raw(tmp_path, make_delivery):
    """A data folder and `load(extract_at, keep_every)`: ingest a delivery whose AREA keeps only
    every `keep_every`th goal (1: untouched); returns its id."""
    settings = Settings(data_dir=tmp_path / "data")

    def load(extract_at: dt.date, keep_every: int = 1) -> str:
        delivery = make_delivery(citizens=900, seed=5, file_format="parquet", extract_at=extract_at)
        folder = settings.landing_dir / delivery.path.name
        shutil.copytree(delivery.path, folder)
        if keep_every > 1:
            _cut_goals_in_half(folder, AREA, keep_every)
        return ingest_delivery(settings, folder, KEY).delivery_id

    return settings, load


def _gate(settings, run_id: str):
    return run_gate(settings, run_id, settings.data_dir / "reports" / run_id, DELIVERY_SUITES,
                    gate_name="delivery")  # fmt: skip


def _publish_manifest(settings, current: str, municipality_code: str | None = None,
                      others: list[tuple[str, str]] = ()) -> None:  # fmt: skip
    """What a publication leaves for the gate: published/current/manifest.json naming the
    delivery it was built from, and other municipalities' (the rest of a version is not read
    by the gate)."""
    version = settings.data_dir / "published" / "versions" / "20190401T000000000000Z"
    version.mkdir(parents=True)
    deliveries = [{"delivery_id": current, "is_current": True}]
    if municipality_code is not None:
        deliveries[0]["municipality_code"] = municipality_code
    deliveries += [
        {"delivery_id": d, "municipality_code": m, "is_current": True} for d, m in others
    ]
    (version / "manifest.json").write_text(json.dumps({"deliveries": deliveries}))
    os.symlink(version.relative_to(version.parents[1]), settings.data_dir / "published" / "current")


def _dropped_units(result) -> list[str]:
    [goals] = [f for f in result.failures_of("delivery_units") if f.column == RATIOS]
    return sorted(r["org_unit_id"] for r in goals.records)


def test_the_baseline_is_the_published_delivery_and_before_any_the_previous_loaded(raw):
    settings, load = raw
    clean = load(dt.date(2019, 3, 31))
    halved = load(dt.date(2019, 5, 31), keep_every=2)
    before = _gate(settings, "halved")
    assert before.baseline == {"delivery_id": clean, "source": "previous loaded"}
    assert _dropped_units(before)

    # The same drop again: against the previous loaded delivery (also halved) it would pass, so
    # the gate must compare with what was published.
    persisting = load(dt.date(2019, 6, 30), keep_every=2)
    assert _gate(settings, "unpublished").baseline["delivery_id"] == halved
    _publish_manifest(settings, clean)
    after = _gate(settings, "persisting")
    assert after.baseline == {"delivery_id": clean, "source": "published"}
    assert not after.passed and _dropped_units(after)
    records = after.failures_of("delivery_units")[0].records
    assert {r["delivery_id"] for r in records} == {persisting}
    written = json.loads((after.report_dir / "gate-delivery.json").read_text())
    assert written["baseline"]["delivery_id"] == clean


def test_an_accepted_drop_passes_and_a_further_drop_of_the_unit_is_blocked_again(raw):
    settings, load = raw
    clean = load(dt.date(2019, 3, 31))
    _publish_manifest(settings, clean)
    halved = load(dt.date(2019, 5, 31), keep_every=2)
    dropped = _dropped_units(_gate(settings, "blocked"))

    record = accept(settings, halved, "Driftsvagt Hansen", "Enheden lukkede", units=dropped)
    assert record["baseline_delivery_id"] == clean
    assert [u["org_unit_id"] for u in record["units"]] == dropped
    assert all(0.3 < u["level"] < 0.7 for u in record["units"])
    passed = _gate(settings, "accepted")
    assert not passed.failures_of("delivery_units")
    assert passed.passed
    [applied] = passed.acceptances
    assert applied["delivery_id"] == halved and applied["accepted_by"] == "Driftsvagt Hansen"

    # The accepted level is the unit's reference now: a quarter is a further drop of about half.
    quartered = load(dt.date(2019, 6, 30), keep_every=4)
    again = _gate(settings, "quartered")
    assert again.baseline["delivery_id"] == clean
    assert again.failures_of("delivery_units")
    assert set(_dropped_units(again)) <= set(dropped)
    assert {r["delivery_id"] for f in again.failures_of("delivery_units") for r in f.records} == {
        quartered
    }


def test_what_cannot_be_accepted_is_refused_with_a_message_and_nothing_is_recorded(raw, capsys):
    settings, load = raw
    first = load(dt.date(2019, 3, 31))
    common = ["--by", "Hansen", "--reason", "tjekket", "--data-dir", str(settings.data_dir)]

    assert main(["accept", "--delivery", first, "--all", *common]) == 2
    assert "no other delivery to compare" in capsys.readouterr().err
    second = load(dt.date(2019, 5, 31))
    assert main(["accept", "--delivery", second, "--all", *common]) == 2
    assert "no drop to accept" in capsys.readouterr().err
    assert main(["accept", "--delivery", "2019-13-01", "--all", *common]) == 2
    err = capsys.readouterr().err
    assert "2019-13-01 is not loaded" in err and first in err

    halved = load(dt.date(2019, 6, 30), keep_every=2)
    assert main(["accept", "--delivery", halved, "--unit", "ORG-none", *common]) == 2
    assert "no drop to accept for unit(s) ORG-none" in capsys.readouterr().err
    with pytest.raises(AcceptanceError, match="--unit"):
        accept(settings, halved, "Hansen", "tjekket")
    with pytest.raises(AcceptanceError, match="--reason"):
        accept(settings, halved, "Hansen", "  ", all_units=True)
    assert not acceptances_file(settings).exists()

    # Accepting every drop: the reason is the operator's text, with anything CPR-like masked.
    reason = "Borger 010190-1234 flyttet; enheden lukket"
    assert main(["accept", "--delivery", halved, "--all", *common[:2], "--reason", reason,
                 "--data-dir", str(settings.data_dir)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    [record] = read_acceptances(settings)
    assert record["delivery_id"] == halved and record["baseline_delivery_id"] == second
    assert record["baseline_source"] == "previous loaded"
    assert record["units"] and all(u["org_unit_id"] in out for u in record["units"])
    assert "010190-1234" not in acceptances_file(settings).read_text()
    assert record["reason"].endswith("flyttet; enheden lukket")


@pytest.fixture
def named(tmp_path, make_delivery):
    """A data folder and `load(code, citizens, seed, extract_at, keep_every)`: ingest a delivery
    of municipality `code` (contract 1.2) and record it loaded, as the ingest asset does."""
    settings = Settings(data_dir=tmp_path / "data")

    def load(code: str, citizens: int, seed: int, extract_at: dt.date, keep_every: int = 1) -> str:
        delivery = make_delivery(citizens=citizens, seed=seed, file_format="parquet",
                                 extract_at=extract_at, municipality_code=code)  # fmt: skip
        folder = settings.landing_dir / delivery.path.name
        shutil.copytree(delivery.path, folder)
        if keep_every > 1:
            _cut_goals_in_half(folder, AREA, keep_every)
        delivery_id = ingest_delivery(settings, folder, KEY).delivery_id
        progress.record(settings, delivery_id, "loaded", "test", loaded_at=progress.now())
        return delivery_id

    return settings, load


def test_each_municipality_is_compared_with_its_own_deliveries(named):
    """Two municipalities whose case systems name their units alike (ORG-...): a delivery is
    compared with its own municipality's published or previous delivery, never the other's,
    and its units' counts with its own units' only."""
    from orchestration.quality.acceptance import unit_drops

    settings, load = named
    big = load("101", 900, 5, dt.date(2019, 3, 31))
    small = load("751", 300, 6, dt.date(2019, 4, 30))
    first_of_751 = _gate(settings, "751")
    assert first_of_751.baseline == {"delivery_id": None, "source": "none"}
    assert first_of_751.passed  # before: 751's units against 101's, the same names, far fewer goals

    halved = load("101", 900, 5, dt.date(2019, 5, 31), keep_every=2)
    result = _gate(settings, "halved")
    assert result.baseline == {"delivery_id": big, "source": "previous loaded"}
    assert _dropped_units(result)

    # Published: each municipality's current delivery is its baseline.
    _publish_manifest(settings, big, municipality_code="101", others=[(small, "751")])
    again = load("751", 300, 6, dt.date(2019, 6, 30))
    assert _gate(settings, "751 again").baseline == {"delivery_id": small, "source": "published"}
    with duckdb.connect() as con:
        con.execute(f"attach '{settings.raw_database}' as raw_layer (read_only)")
        # Not one of 751's units fell or rose against its own earlier delivery; counted with
        # 101's rows (as every version row of the raw layer up to the delivery), they would.
        assert unit_drops(con, again, small, max_drop=0.0) == []
        assert unit_drops(con, halved, big, max_drop=0.3) != []


def test_a_blocked_municipality_holds_back_publishing_until_accepted(named):
    """101's delivery is blocked; 751's next delivery passes its own gate, but the build holds
    101's blocked rows too, so nothing may be published until 101's drop is accepted (against
    101's own baseline) or 101 delivers again."""
    settings, load = named
    big = load("101", 900, 5, dt.date(2019, 3, 31))
    load("751", 300, 6, dt.date(2019, 4, 30))
    halved = load("101", 900, 5, dt.date(2019, 5, 31), keep_every=2)
    progress.record(settings, halved, "blocked", "run-of-halved", gate="delivery")
    assert progress.blocked_but_current(settings) == []  # the run's own delivery: its gate's
    load("751", 300, 6, dt.date(2019, 6, 30))
    [held] = progress.blocked_but_current(settings)
    assert held["delivery_id"] == halved

    record = accept(settings, halved, by="kvalitet", reason="omlagt afdeling", all_units=True)
    assert record["baseline_delivery_id"] == big  # 101's own, not 751's loaded since
    assert progress.read_progress(settings)[halved]["stage"] == "loaded"
    assert progress.blocked_but_current(settings) == []

    # Blocked again, then superseded by 101's next delivery: no longer held back.
    progress.record(settings, halved, "blocked", "run-of-halved", gate="delivery")
    load("101", 900, 5, dt.date(2019, 6, 30))
    assert progress.blocked_but_current(settings) == []
