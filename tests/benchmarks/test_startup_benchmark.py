"""The start-up benchmark runs and names what each command imports; no timing is asserted here."""

import json

from benchmarks.startup import commands, main


def test_the_startup_benchmark_measures_every_command_without_heavy_imports(tmp_path):
    assert main(["--repeat", "1", "--results", str(tmp_path), "--no-doc"]) == 0
    report = json.loads((tmp_path / "startup.json").read_text())
    assert list(report["commands"]) == list(commands(tmp_path))
    for figures in report["commands"].values():
        assert figures["median_s"] > 0
        # What keeps them fast: no Dagster, dbt, GX or pandas at start-up.
        assert figures["heavy_imports"] == [], figures
