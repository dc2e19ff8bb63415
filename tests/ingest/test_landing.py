"""Landing hygiene: what waits for its manifest, what is misnamed, what no manifest lists."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace

import pytest

from orchestration.cli import main
from orchestration.ingest.delivery import DeliveryRefused
from orchestration.ingest.landing import scan_landing
from orchestration.ingest.load import ingest_delivery
from tests.ingest.conftest import KEY, drop


def test_a_folder_without_its_manifest_is_listed_with_its_age_and_warned_about_when_old(
    settings,
):
    waiting = settings.landing_dir / "sagssystem_20190701"
    waiting.mkdir(parents=True)
    (waiting / "goals.csv").write_text("goal_id\n")
    hours_ago = time.time() - 3 * 3600
    os.utime(waiting / "goals.csv", (hours_ago, hours_ago))
    os.utime(waiting, (hours_ago, hours_ago))

    [folder] = scan_landing(replace(settings, landing_wait_warning_hours=6)).waiting
    assert folder.folder == "sagssystem_20190701" and 2.9 < folder.age_hours < 3.1
    assert not folder.overdue
    [line] = scan_landing(replace(settings, landing_wait_warning_hours=2)).lines()
    assert line.startswith("WARNING: sagssystem_20190701 has waited 3.0 h for its manifest.json")


def test_a_misnamed_folder_and_an_unlisted_file_are_flagged_and_the_refusal_names_the_folder(
    settings, generated, capsys
):
    delivery = generated(file_defects=("checksum_mismatch",))
    folder = drop(settings, delivery.path, name="udtraek-juni")
    (folder / "notes.txt").write_text("sent by the vendor\n")
    report = scan_landing(settings)
    assert report.name_mismatches == [{"folder": "udtraek-juni", "delivery_id": delivery.path.name}]
    assert report.unlisted_files == [{"folder": "udtraek-juni", "file": "notes.txt"}]

    settings.data_dir.mkdir(exist_ok=True)
    assert main(["status", "--data-dir", str(settings.data_dir), "--json"]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["landing"]["name_mismatches"] == report.name_mismatches
    assert any("notes.txt: not listed in the manifest" in n for n in status["landing"]["notes"])

    with pytest.raises(DeliveryRefused):
        ingest_delivery(settings, folder, KEY)
    [refusal] = settings.quarantine_dir.glob("*/refusal.json")
    recorded = json.loads(refusal.read_text())
    assert recorded["folder"] == "udtraek-juni"
    assert recorded["delivery_id"] == delivery.path.name


def test_status_lists_what_the_next_run_loads_from_landing_and_from_processing(
    settings, generated, capsys
):
    """A complete delivery in landing and one an ingest left in raw/processing (a bad setting,
    rows that did not reconcile) are both waiting: status says so, and where."""
    first = drop(settings, generated().path, name="sagssystem_20190630")
    settings.processing_dir.mkdir(parents=True)
    first.rename(settings.processing_dir / first.name)
    drop(settings, generated(seed=5).path, name="sagssystem_20190701")
    (settings.processing_dir / "no-manifest").mkdir()  # the ingest would not take it up

    assert main(["status", "--data-dir", str(settings.data_dir)]) == 0
    landing = capsys.readouterr().out.split("Landing (")[1].split("\n\n")[0]
    assert f"sagssystem_20190630 waits in {settings.processing_dir}" in landing
    assert "sagssystem_20190701: complete, the next run loads it" in landing
    assert "nothing waiting" not in landing and "no-manifest" not in landing
