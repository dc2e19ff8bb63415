"""The warehouse build on both engines: DuckDB and a local Spark (issue 22), from one raw layer.

    python benchmarks/engines.py --tier S

Generates the tier's full delivery (cached in benchmarks/.cache/, as benchmarks/pipeline.py
does), ingests it into an empty data folder, then builds the warehouse from it with
`dbt build` on each engine, each build in a child process of its own, as the warehouse asset
builds (`planned_build`; on Spark that includes exporting the raw layer to Parquet and starting
Spark's JVM). Then compares every indicator table of the two builds with `except all` both ways.

Writes benchmarks/results/engines-<tier>.json and its part of docs/performance.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate_scale import RESULTS, machine  # noqa: E402
from benchmarks.pipeline import CACHE, KEY, TIERS, tier_data  # noqa: E402
from benchmarks.report import replace_section  # noqa: E402

ENGINES = ("duckdb", "spark")
BEGIN, END = "<!-- BEGIN engines -->", "<!-- END engines -->"


def stage_build(data_dir: str, engine: str, out: str) -> None:
    """In a child: one warehouse build on `engine`, as the warehouse asset runs it."""
    from orchestration.settings import Settings
    from orchestration.warehouse import BUILD_ARGS, planned_build, run_dbt

    settings = Settings.from_env(data_dir=Path(data_dir), warehouse_engine=engine)
    started = time.perf_counter()
    with planned_build(settings) as plan:
        output = run_dbt(settings, [*BUILD_ARGS, *plan.args])
    done = re.search(r"PASS=(\d+) WARN=(\d+) ERROR=(\d+)", output)
    results = json.loads((settings.dbt_target_dir / "run_results.json").read_text())
    models = {
        r["unique_id"].split(".")[2]: r["execution_time"]
        for r in results["results"]
        if r["unique_id"].startswith("model.")
    }
    Path(out).write_text(json.dumps({
        "build_s": round(time.perf_counter() - started, 1),
        "dbt_passed": int(done.group(1)), "dbt_errors": int(done.group(3)),
        "threads": settings.build_threads,
        "slowest": dict(sorted(models.items(), key=lambda kv: -kv[1])[:5]),
    }))  # fmt: skip


def build(data_dir: Path, engine: str) -> dict:
    """One build in a child process: its figures, wall time, and the peak memory and CPU time
    of the child with every process under it (dbt, and Spark's JVM, which is not waited for,
    so the kernel's counts for children miss it), sampled every 0.2 s."""
    import psutil

    out = data_dir.parent / f"build-{engine}.json"
    started = time.perf_counter()
    load = os.getloadavg()[0]
    child = psutil.Popen(
        [sys.executable, __file__, "--stage", str(data_dir), engine, str(out)], cwd=ROOT
    )
    peak_rss, cpu = 0, {}
    while child.poll() is None:
        try:
            tree = [child, *child.children(recursive=True)]
            rss = 0
            for proc in tree:
                with contextlib.suppress(psutil.Error):
                    rss += proc.memory_info().rss
                    times = proc.cpu_times()
                    cpu[proc.pid] = times.user + times.system
            peak_rss = max(peak_rss, rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    if child.returncode != 0:
        raise RuntimeError(f"the {engine} build failed")
    return json.loads(out.read_text()) | {
        "wall_s": round(time.perf_counter() - started, 1),
        "cpu_s": round(sum(cpu.values()), 1),
        "peak_rss_mb": round(peak_rss / 2**20),
        "load_before": round(load, 1),
    }


def compare(data_dir: Path, schema: str) -> dict[str, list[int]]:
    """Per table of the schema: rows, rows only in DuckDB's, rows only in Spark's."""
    import duckdb

    from orchestration.settings import Settings
    from orchestration.warehouse.spark import spark_table_files

    settings = Settings(data_dir=data_dir)
    con = duckdb.connect()
    con.execute(f"attach '{settings.warehouse}' as duck (read_only)")
    out = {}
    for (table,) in con.execute(
        "select table_name from information_schema.tables where table_catalog = 'duck' "
        "and table_schema = ? order by table_name",
        [schema],
    ).fetchall():
        columns = ", ".join(
            f'"{c}"'
            for (c,) in con.execute(
                "select column_name from information_schema.columns where table_catalog = "
                "'duck' and table_schema = ? and table_name = ? "
                "order by ordinal_position",
                [schema, table],
            ).fetchall()
        )
        files = spark_table_files(settings, schema, table)
        a = f"select {columns} from duck.{schema}.{table}"
        b = f"select {columns} from read_parquet({files})"
        out[table] = list(
            con.execute(
                f"select (select count(*) from ({a})), (select count(*) from ({a} except all "
                f"{b})), (select count(*) from ({b} except all {a}))"
            ).fetchone()
        )
    return out


def markdown(report: dict, info: dict, when: str) -> str:
    d, s = report["builds"]["duckdb"], report["builds"]["spark"]
    same = all(only_d == only_s == 0 for _, only_d, only_s in report["indicators"].values())
    marts_differing = [t for t, (_, only_d, only_s) in report["marts"].items() if only_d or only_s]
    marts_same = not marts_differing
    lines = [
        BEGIN,
        f"Measured {when} on {info['cores']} cores, {info['memory_gb']} GB RAM, Python "
        f"{info['python']}: tier {report['tier']} ({report['citizens']:,} citizens, "
        f"{report['start']} to {report['end']}, with cost files), one raw layer, `dbt build` "
        f"(models, seeds, data tests) with {d['threads']} threads on each engine, each in a "
        "process of its own. Spark's includes exporting the raw layer to Parquet and starting "
        "its JVM; it builds every model in full (no incremental builds). CPU and memory are "
        "the build's processes together (dbt, Spark's JVM), sampled; the load average before "
        "each says how busy the machine was with other work (above 2, the build shared the "
        "cores and its seconds are longer than on a quiet machine).",
        "",
        "| engine | build s | CPU s | peak RSS MB | load before | dbt passed / errors | slowest models (s) |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for engine, b in (("DuckDB", d), ("Spark (local, session)", s)):
        slowest = ", ".join(f"{name} {t:.1f}" for name, t in b["slowest"].items())
        lines.append(
            f"| {engine} | {b['wall_s']} | {b['cpu_s']} | {b['peak_rss_mb']:,} | {b['load_before']} | "
            f"{b['dbt_passed']} / {b['dbt_errors']} | {slowest} |"
        )
    lines += [
        "",
        f"Spark took {s['wall_s'] / d['wall_s']:.1f}x DuckDB's time. Indicator tables "
        + ("equal row for row" if same else "DIFFERING")
        + " (`except all` both ways): "
        + ", ".join(f"{t} {rows:,}" for t, (rows, _, _) in report["indicators"].items())
        + " rows. Marts "
        + ("equal row for row too" if marts_same else "differing: " + ", ".join(marts_differing))
        + ".",
        END,
    ]
    return "\n".join(lines)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "--stage":
        stage_build(*sys.argv[2:5])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", default="S", choices=["S", "M"])
    args = parser.parse_args()
    from orchestration.ingest.load import ingest_delivery
    from orchestration.settings import Settings

    delivery, _ = tier_data(args.tier, CACHE)
    report: dict = {"tier": args.tier, **TIERS[args.tier], "builds": {}}
    with tempfile.TemporaryDirectory(prefix="effekt-engines-") as scratch:
        data_dir = Path(scratch) / "data"
        settings = Settings(data_dir=data_dir)
        settings.landing_dir.mkdir(parents=True)
        ingest_delivery(
            settings, shutil.copytree(delivery, settings.landing_dir / delivery.name), KEY
        )
        for engine in ENGINES:
            print(f"tier {args.tier}: dbt build on {engine} ...", flush=True)
            report["builds"][engine] = build(data_dir, engine)
            print(f"  {report['builds'][engine]['wall_s']} s", flush=True)
        report["indicators"] = compare(data_dir, "indicators")
        report["marts"] = compare(data_dir, "marts")
    info, when = machine(), dt.date.today().isoformat()
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"engines-{args.tier}.json").write_text(
        json.dumps(report | {"machine": info, "measured": when}, indent=2)
    )
    replace_section(markdown(report, info, when), BEGIN, END, "Warehouse build on DuckDB and Spark")
    differing = {t: v for t, v in report["indicators"].items() if v[1] or v[2]}
    print("indicator tables differing:", differing or "none")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
