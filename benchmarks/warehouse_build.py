"""Generate N citizens, ingest, `dbt build`, run the quality gate and publish: cost per stage.

    python benchmarks/warehouse_build.py --citizens 100000

Reports each stage's wall time and the dbt result (models, tests passed) into
benchmarks/results/warehouse-<N>.json and the warehouse part of docs/performance.md. The full
benchmark with its references (I/O floor, pandas baseline) is benchmarks/ for the benchmark issue.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate_scale import DOC, RESULTS, machine  # noqa: E402
from benchmarks.report import replace_section  # noqa: E402
from orchestration.generate import GeneratorConfig, generate_delivery  # noqa: E402
from orchestration.ingest.load import ingest_delivery  # noqa: E402
from orchestration.publish import publish  # noqa: E402
from orchestration.quality.gate import run_gate  # noqa: E402
from orchestration.quality.suites import BUILD_SUITES, DELIVERY_SUITES  # noqa: E402
from orchestration.settings import Settings  # noqa: E402
from orchestration.warehouse import BUILD_ARGS, run_dbt  # noqa: E402

BEGIN, END = "<!-- BEGIN warehouse_build -->", "<!-- END warehouse_build -->"
BENCH_KEY = b"benchmark-only-key-not-for-real-data"


def run(citizens: int, workdir: Path) -> dict:
    settings = Settings(data_dir=workdir / "data")
    stages = {}
    started = time.perf_counter()
    delivery = generate_delivery(
        GeneratorConfig(
            citizens=citizens,
            start=dt.date(2016, 1, 1),
            end=dt.date(2019, 6, 30),
            seed=1,
            out=settings.landing_dir,
            file_format="parquet",
            progress=False,
        )
    )
    stages["generate_s"] = round(time.perf_counter() - started, 1)
    t = time.perf_counter()
    result = ingest_delivery(settings, delivery.path, BENCH_KEY)
    stages["ingest_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    output = run_dbt(settings, BUILD_ARGS)
    stages["dbt_build_s"] = round(time.perf_counter() - t, 1)
    done = re.search(r"PASS=(\d+) WARN=(\d+) ERROR=(\d+) SKIP=(\d+)", output)
    t = time.perf_counter()
    gate = run_gate(settings, "benchmark", workdir / "report", DELIVERY_SUITES + BUILD_SUITES)
    stages["gate_s"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    publish(settings, "benchmark", gate.summary())
    stages["publish_s"] = round(time.perf_counter() - t, 1)
    total = sum(v for k, v in stages.items() if k != "generate_s")
    stages["gate_share_of_run"] = round(stages["gate_s"] / total, 3)
    return {
        "gate_passed": gate.passed,
        "rows_validated": sum(s["rows"] for s in gate.suites.values()),
        "citizens": citizens,
        "rows_loaded": sum(f.rows_loaded for f in result.files),
        "dbt": dict(zip(("pass", "warn", "error", "skip"), map(int, done.groups()), strict=True)),
        **stages,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, nargs="+", default=[100_000])
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    results = []
    for n in args.citizens:
        with tempfile.TemporaryDirectory(prefix="effekt-wh-", dir=args.workdir) as tmp:
            results.append(run(n, Path(tmp)))
        print(json.dumps(results[-1]), flush=True)
    info, when = machine(), dt.date.today().isoformat()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "-".join(map(str, args.citizens))
    (RESULTS / f"warehouse-{name}.json").write_text(
        json.dumps({"machine": info, "date": when, "results": results}, indent=2)
    )
    lines = [
        BEGIN,
        f"Measured {when} on {info['cores']} cores, {info['memory_gb']} GB RAM: generate (Parquet), "
        "ingest, `dbt build` (models, seeds and data tests; unit tests run in the test suite), the "
        "quality gate on every row (all suites, Great Expectations on pandas batches from DuckDB), "
        "publish. The gate's share is of ingest + build + gate + publish.",
        "",
        "| citizens | rows loaded | ingest s | dbt build s | dbt passed / errors | gate s | rows validated | gate share | publish s |",
        "|---:|---:|---:|---:|---|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {r['citizens']:,} | {r['rows_loaded']:,} | {r['ingest_s']} | {r['dbt_build_s']} "
        f"| {r['dbt']['pass']} / {r['dbt']['error']} | {r['gate_s']} | {r['rows_validated']:,} "
        f"| {r['gate_share_of_run']:.0%} | {r['publish_s']} |"
        for r in results
    ]
    lines.append(END)
    replace_section("\n".join(lines), BEGIN, END, "Warehouse build", DOC)
    return 0 if all(r["dbt"]["error"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
