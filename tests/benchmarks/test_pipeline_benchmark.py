"""Tier S of the pipeline benchmark as a smoke test: every stage measured, the references agree.

No timing is asserted here: figures on shared machines drift; they are read in docs/performance.md.
"""

import json

from benchmarks.pipeline import DAILY_STAGES, FULL_STAGES, main


def test_the_benchmark_runs_tier_s_and_the_pandas_baseline_agrees(tmp_path):
    results = tmp_path / "results"
    assert main(["--tier", "S", "--workdir", str(tmp_path), "--cache", str(tmp_path / "cache"),
                 "--results", str(results), "--no-docs"]) == 0  # fmt: skip
    report = json.loads((results / "pipeline-S.json").read_text())
    assert list(report["full_run"]) == list(FULL_STAGES)
    assert list(report["daily_run"]) == list(DAILY_STAGES)
    for stage in [*report["full_run"].values(), *report["daily_run"].values()]:
        assert stage["wall_s"] > 0 and stage["cpu_s"] > 0 and stage["peak_rss_mb"] > 0
        assert stage["rows_in"] > 0
    assert report["full_run"]["ingest"]["rows_in"] == report["full_run"]["ingest"]["rows_out"]
    assert report["full_run"]["fact_sheets"]["rows_out"] > 1
    # Disclosure control is measured, and its audit let the version through.
    assert report["full_run"]["audit"]["rows_out"] == 0
    tables = report["disclosure"]["tables"]
    assert sum(t["secondary"] for t in tables.values()) > 0
    assert report["floor"]["rows_in"] == report["full_run"]["ingest"]["rows_in"]
    assert report["floor"]["rows_out"] == report["full_run"]["publish"]["rows_out"]
    # The baseline raises if any shared cell differs; here it compared a real number of them.
    assert report["pandas_baseline"]["cells_compared"] > 1000
    assert report["summary"]["daily_run_s"] > 0
    # The build's profile: every model's time, the data tests together, the slowest with shares.
    build = report["full_run"]["dbt_build"]
    assert {"ind_key_figures", "ind_functional_ability", "data tests"} <= set(build["nodes"])
    assert abs(sum(build["nodes"].values()) - build["node_s"]) < 0.5
    assert 0 < sum(v["share"] for v in build["slowest"].values()) <= 1.001
    assert int(build["dbt_threads"]) >= 1 and build["duckdb_memory_limit"]
    markdown = (results / "pipeline-S.md").read_text()
    assert "Tier S" in markdown and "pandas baseline" in markdown
    assert "The slowest, with their share of that sum" in markdown
