"""The whole pipeline at a tier's scale, stage by stage, against the I/O floor and a pandas baseline.

    python benchmarks/pipeline.py --tier M   # S: 2,000 citizens, M: 100,000, L: 250,000, XL: 1,000,000
    python benchmarks/pipeline.py --tier national   # 10 municipalities, 1,000,000 citizens in all

For the tier: generate its data (cached in benchmarks/.cache/), run ingest, dbt build, quality
gate, publish and fact sheets from an empty data folder, then a second run with one new daily
delivery on top. Each stage runs in its own process, so wall time, CPU time and peak RSS are that
stage's own (dbt's subprocess included), and the machine's load meanwhile is recorded. A
national tier generates one delivery per municipality (generate_national); its ingest loads them
all before the one build, as a warehouse of several municipalities takes every delivery in
landing (docs/operations.md), and it reports the indicator rows per level and the sizes on disk.
In the same run, on the same data:

- the floor: DuckDB reading every input file once and writing the published tables once;
- the pandas baseline (benchmarks/pandas_baseline.py): goal attainment and functional ability
  from the staged tables, asserted equal to the pipeline's on every cell both produce.

Writes benchmarks/results/pipeline-<tier>.json and .md and the tier's part of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate_scale import RESULTS, machine  # noqa: E402
from benchmarks.report import replace_section  # noqa: E402

CACHE = ROOT / "benchmarks" / ".cache"
KEY = b"benchmark-only-key-not-for-real-data"
TIERS = {
    "S": {"citizens": 2_000, "start": "2016-01-01", "end": "2019-06-30"},
    "M": {"citizens": 100_000, "start": "2016-01-01", "end": "2019-06-30"},
    "L": {"citizens": 250_000, "start": "2009-07-01", "end": "2019-06-30"},
    # National scale: the full run and the floor only. The pandas baseline would need ~50 GB
    # here (10 GB at L), and a daily run adds nothing that M and L do not show.
    "XL": {
        "citizens": 1_000_000,
        "start": "2016-01-01",
        "end": "2019-06-30",
        "baseline": False,
        "daily": False,
        # Two dbt threads share DuckDB's one 3 GB cap, and at this scale two indicator models
        # side by side run out of it where each alone fits (docs/performance.md): one thread,
        # and DuckDB still spreads each model over every core.
        "env": {"EFFEKT_DBT_THREADS": "1"},
    },
    # Several municipalities in one warehouse (contract 1.2): XL's citizens and dates, split
    # skewed over ten municipalities (København first), 1% of them movers found in two. As XL:
    # no pandas baseline (nor does it compute the national level), no daily run, one dbt thread.
    "national": {
        "citizens": 1_000_000,
        "municipalities": 10,
        "start": "2016-01-01",
        "end": "2019-06-30",
        "baseline": False,
        "no_baseline": "No pandas baseline at this tier (as at XL it would not fit in memory, "
        "and it does not compute the national level).",
        "daily": False,
        "env": {"EFFEKT_DBT_THREADS": "1"},
    },
}
TARGETS = {  # issues 8 and 18: reported, never asserted in timed tests
    "M": {"run_s": 180, "gate_share": 0.25, "peak_rss_gb": 4, "daily_share": 0.25, "vs_floor": 15},
    "L": {"run_s": 600, "peak_rss_gb": 3.9, "vs_floor": 15, "same_tables_vs_baseline": 0.333},
}
FULL_STAGES = ("ingest", "dbt_build", "gate", "suppression", "audit", "publish", "fact_sheets")
DAILY_STAGES = ("ingest", "dbt_build", "gate", "suppression", "audit", "publish")


# ------------------------------------------------------------------ data


def tier_data(tier: str, cache: Path) -> tuple[list[Path], list[Path] | None]:
    """The tier's full deliveries (extract the day before the end) and the next day's, cached:
    one delivery, or one per municipality for a national tier.

    A tier without a daily run gets no next day's delivery (at XL it would take as long to
    generate as the full one)."""
    from orchestration.generate import GeneratorConfig, generate_delivery, generate_national
    from orchestration.generate.municipalities import pick_codes

    spec = TIERS[tier]
    end = dt.date.fromisoformat(spec["end"])
    municipalities = spec.get("municipalities")
    # With contract 1.1's cost files: the build includes the cost models.
    name = f"{tier}-{spec['citizens']}-{spec['start']}-{spec['end']}-costs"
    if municipalities:
        name = f"{tier}-{municipalities}x-{spec['citizens']}-{spec['start']}-{spec['end']}-costs"
    folder = cache / name
    deliveries: list[list[Path] | None] = []
    wanted = [("full", end - dt.timedelta(days=1))]
    if spec.get("daily", True):
        wanted.append(("daily", end))
    for run, extract_at in wanted:
        target = folder / run
        # A generation stopped part way has fewer manifests (each is written last): again.
        if len(list(target.glob("*/manifest.json"))) != (municipalities or 1):
            shutil.rmtree(target, ignore_errors=True)
            what = f"{municipalities} municipalities' deliveries" if municipalities else "delivery"
            print(f"generating {tier} {run} {what} ({spec['citizens']:,} citizens) ...", flush=True)
            options = dict(
                start=dt.date.fromisoformat(spec["start"]), end=end, seed=8, out=target,
                file_format="parquet", extract_at=extract_at, costs=True, progress=False,
            )  # fmt: skip
            if municipalities:
                generate_national(pick_codes(municipalities, 8), spec["citizens"], **options)
            else:
                generate_delivery(GeneratorConfig(citizens=spec["citizens"], **options))
        deliveries.append(sorted(p.parent for p in target.glob("*/manifest.json")))
    deliveries.append(None)
    return deliveries[0], deliveries[1]


# ------------------------------------------------------------------ stages (run in a child)


def _settings(data_dir: str):
    from orchestration.settings import Settings

    return Settings.from_env(data_dir=Path(data_dir))  # the tier's EFFEKT_DBT_THREADS, if any


def _count(database: Path, schemas: tuple[str, ...]) -> int:
    import duckdb

    con = duckdb.connect(str(database), read_only=True)
    try:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_schema in ({', '.join('?' * len(schemas))}) and table_type = 'BASE TABLE'",
            list(schemas),
        ).fetchall()
        return sum(
            con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables
        )
    finally:
        con.close()


def stage_ingest(data_dir: str, *deliveries: str) -> dict:
    """Land and load the deliveries one after the other, as the pipeline's ingest takes every
    delivery in landing (a national tier's: one per municipality)."""
    from orchestration.ingest.load import ingest_delivery

    settings = _settings(data_dir)
    rows_in = rows_out = 0
    each = {}
    for delivery in deliveries:
        target = settings.landing_dir / Path(delivery).name
        shutil.copytree(delivery, target)
        started = time.perf_counter()
        result = ingest_delivery(settings, target, KEY)
        if result.status != "loaded":
            raise RuntimeError(f"{target.name} was not loaded: {result.status}")
        rows_in += sum(f.rows_read for f in result.files)
        rows_out += sum(f.rows_loaded + f.rows_quarantined for f in result.files)
        each[target.name] = round(time.perf_counter() - started, 2)
    figures = {"rows_in": rows_in, "rows_out": rows_out}
    if len(deliveries) > 1:
        figures["deliveries_s"] = each
    return figures


def stage_dbt_build(data_dir: str) -> dict:
    from orchestration.warehouse import (
        BUILD_ARGS,
        planned_build,
        run_dbt,
    )

    settings = _settings(data_dir)
    with planned_build(settings) as plan:  # as the warehouse asset builds: on the last build
        output = run_dbt(settings, [*BUILD_ARGS, *plan.args])
        done = re.search(r"PASS=(\d+) WARN=(\d+) ERROR=(\d+)", output)
        if not done or int(done.group(3)):
            raise RuntimeError(f"dbt build failed: {output[-2000:]}")
    results = json.loads((settings.data_dir / "dbt" / "target" / "run_results.json").read_text())
    return {"rows_in": _count(settings.raw_database, ("raw",)),
            "rows_out": _count(settings.warehouse, ("staging", "intermediate", "marts", "indicators")),
            "dbt_passed": int(done.group(1)), "build": plan.why,
            **node_profile(results["results"]),
            "dbt_threads": str(settings.build_threads),
            "duckdb_memory_limit": settings.duckdb_memory_limit}  # fmt: skip


def node_profile(results: list[dict]) -> dict:
    """Where the build's time goes: each model's and seed's time, the data tests together, and
    the slowest nodes with their share of the summed node time (threads overlap, so the sum is
    more than the wall time)."""
    nodes: dict[str, float] = {}
    for r in results:
        kind, name = r["unique_id"].split(".")[0], r["unique_id"].split(".")[2]
        key = "data tests" if kind == "test" else name
        nodes[key] = nodes.get(key, 0.0) + r["execution_time"]
    total = sum(nodes.values())
    ranked = sorted(nodes.items(), key=lambda kv: -kv[1])
    return {
        "node_s": round(total, 1),
        "nodes": {name: round(t, 2) for name, t in ranked},
        "slowest": {
            name: {"s": round(t, 1), "share": round(t / total, 3)} for name, t in ranked[:8]
        },
    }


def stage_gate(data_dir: str) -> dict:
    from orchestration.quality.gate import run_gate
    from orchestration.quality.suites import BUILD_SUITES, DELIVERY_SUITES

    settings = _settings(data_dir)
    report = settings.data_dir / "reports" / "benchmark"
    gate = run_gate(settings, "benchmark", report, DELIVERY_SUITES + BUILD_SUITES)
    (report / "summary.json").write_text(json.dumps(gate.summary()))
    if not gate.passed:
        raise RuntimeError(f"the gate failed: {gate.summary()['failures'][:3]}")
    rows = sum(s["rows"] for s in gate.suites.values())
    return {"rows_in": rows, "rows_out": len(gate.failures)}


def stage_suppression(data_dir: str) -> dict:
    """Secondary suppression over every open table (the asset open/indicators)."""
    import duckdb

    from orchestration.disclosure import DisclosureRules
    from orchestration.disclosure.suppression import suppress

    settings = _settings(data_dir)
    con = duckdb.connect(str(settings.warehouse))
    try:
        result = suppress(con, DisclosureRules())
    finally:
        con.close()
    summary = result.summary()
    report = settings.data_dir / "reports" / "benchmark"
    report.mkdir(parents=True, exist_ok=True)
    (report / "suppression.json").write_text(json.dumps(summary))
    cells = sum(result.cells.values())
    return {"rows_in": cells, "rows_out": sum(result.secondary.values()), "rounds": result.rounds}


def stage_audit(data_dir: str) -> dict:
    """The disclosure audit on the open tables (the blocking check disclosure_audit)."""
    import duckdb

    from orchestration.disclosure import DisclosureRules
    from orchestration.disclosure.audit import audit, read_open_tables

    settings = _settings(data_dir)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        tables = read_open_tables(con, "open")
    finally:
        con.close()
    result = audit(tables, DisclosureRules())
    report = settings.data_dir / "reports" / "benchmark"
    (report / "disclosure-audit.json").write_text(json.dumps(result.summary()))
    if not result.passed:
        raise RuntimeError(f"the disclosure audit failed: {result.findings[0].describe()}")
    return {"rows_in": sum(len(t) for t in tables.values()), "rows_out": len(result.findings)}


def stage_publish(data_dir: str) -> dict:
    from orchestration.publish import publish

    settings = _settings(data_dir)
    report = settings.data_dir / "reports" / "benchmark"
    summary = json.loads((report / "summary.json").read_text())
    audit = json.loads((report / "disclosure-audit.json").read_text())
    summary["disclosure_audit"] = {
        k: v for k, v in audit.items() if k not in ("findings", "structural")
    } | {"structural_counts": len(audit.get("structural", []))}
    version = publish(settings, "benchmark", summary)
    rows = sum(version.manifest["row_counts"].values())
    return {"rows_in": rows, "rows_out": rows}


def stage_fact_sheets(data_dir: str) -> dict:
    from orchestration.publish import current_version
    from orchestration.reporting import Quarter, fact_sheet_dir, write_quarter_snapshot
    from orchestration.reporting.factsheets import write_fact_sheets

    settings = _settings(data_dir)
    version = current_version(settings)
    manifest = json.loads((version / "manifest.json").read_text())
    last = Quarter.of(dt.date.fromisoformat(manifest["deliveries"][-1]["extract_time"][:10]))
    quarter = last.previous() if last.end > dt.date.fromisoformat(
        manifest["deliveries"][-1]["extract_time"][:10]) else last  # fmt: skip
    snapshot = write_quarter_snapshot(settings, quarter)
    written = write_fact_sheets(version, quarter, fact_sheet_dir(settings, quarter))
    return {"rows_in": sum(snapshot["row_counts"].values()), "rows_out": len(written["sheets"]) + 1,
            "quarter": quarter.label}  # fmt: skip


def stage_floor(data_dir: str, *deliveries: str) -> dict:
    """The least I/O any implementation needs: read every input once, write every output once."""
    import duckdb

    from orchestration.publish import current_version

    version = current_version(_settings(data_dir))
    out = Path(data_dir) / "floor"
    out.mkdir(exist_ok=True)
    con = duckdb.connect()
    rows_in = 0
    for f in sorted(f for d in deliveries for f in Path(d).glob("*.parquet")):
        con.execute(f"create or replace table t as select * from read_parquet('{f}')")
        rows_in += con.execute("select count(*) from t").fetchone()[0]
    rows_out = 0
    for db, alias in ((version / "indicators.duckdb", "i"), (version / "marts.duckdb", "m")):
        con.execute(f"attach '{db}' as {alias} (read_only)")
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            f"where table_catalog = '{alias}' and table_type = 'BASE TABLE'").fetchall()  # fmt: skip
        for schema, table in tables:
            con.execute(
                f"copy (select * from {alias}.{schema}.{table}) to '{out}/{alias}_{schema}_{table}.parquet' (format parquet)"
            )
            rows_out += con.execute(f"select count(*) from {alias}.{schema}.{table}").fetchone()[0]
    return {"rows_in": rows_in, "rows_out": rows_out}


def stage_baseline(data_dir: str) -> dict:
    """pandas: goal attainment and functional ability from the staged tables, checked cell by cell."""
    import duckdb

    from benchmarks import pandas_baseline

    settings = _settings(data_dir)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        staged = pandas_baseline.Staged(lambda sql: con.execute(sql).df())
        rows_in = sum(len(getattr(staged, n)) for n in ("goals", "followups", "assessments", "scores",
                                                        "interventions", "cases"))  # fmt: skip
        started = time.perf_counter()
        results = {t: pandas_baseline.compute(t, staged)
                   for t in ("ind_goal_attainment", "ind_functional_ability")}  # fmt: skip
        compute_s = time.perf_counter() - started
        checked, disagreeing = 0, {}
        for table, expected in results.items():
            published = con.execute(f"select * from indicators.{table}").df()
            found = pandas_baseline.disagreements(table, published, expected)
            checked += int((~published["is_suppressed"]).sum())
            disagreeing |= {f"{table}.{k}": len(v) for k, v in found.items()}
    finally:
        con.close()
    if disagreeing:
        raise AssertionError(f"the pandas baseline and the pipeline disagree: {disagreeing}")
    return {"rows_in": rows_in, "rows_out": sum(len(r) for r in results.values()),
            "cells_compared": checked, "compute_s": round(compute_s, 2)}  # fmt: skip


def stage_dbt_same_tables(data_dir: str) -> dict:
    """Like for like with the pandas baseline: dbt builds only the models the two tables need,
    from the same staged tables (no staging, seeds or tests)."""
    from orchestration.warehouse import run_dbt

    settings = _settings(data_dir)
    run_dbt(settings, ["run", "--select", "+ind_goal_attainment +ind_functional_ability",
                       "--exclude", "path:models/staging"])  # fmt: skip
    results = json.loads((settings.data_dir / "dbt" / "target" / "run_results.json").read_text())
    models = [r["unique_id"].split(".")[-1] for r in results["results"]]
    return {"rows_in": _count(settings.warehouse, ("staging",)),
            "rows_out": _count(settings.warehouse, ("indicators",)), "models": models}  # fmt: skip


def stage_levels(data_dir: str) -> dict:
    """Several municipalities: each indicator table's rows at the national level (org_level 0)
    and below it (the municipalities, level 1, and their units), `ind_case_mix`'s rows for the
    nation ('000') and for the municipalities, and the citizens the warehouse counts once."""
    import duckdb

    settings = _settings(data_dir)
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables where table_schema = 'indicators' "
            "order by table_name").fetchall()]  # fmt: skip
        levels = {}
        for table in tables:
            columns = {c for (c,) in con.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'indicators' and table_name = ?", [table]).fetchall()}  # fmt: skip
            if "org_level" in columns:
                total, national, municipal = con.execute(
                    "select count(*), count(*) filter (where org_level = 0), "
                    f"count(*) filter (where org_level = 1) from indicators.{table}"
                ).fetchone()
            elif "municipality_code" in columns:
                total, national, municipal = con.execute(
                    "select count(*), count(*) filter (where municipality_code = '000'), "
                    f"count(*) filter (where municipality_code <> '000') from indicators.{table}"
                ).fetchone()
            else:
                continue
            levels[table] = {"rows": total, "national": national, "municipality": municipal}
        citizens = con.execute("select count(*) from marts.dim_citizen").fetchone()[0]
    finally:
        con.close()
    return {"rows_in": sum(t["rows"] for t in levels.values()),
            "rows_out": sum(t["national"] for t in levels.values()),
            "tables": levels, "citizens_in_warehouse": citizens}  # fmt: skip


STAGES = {name[6:]: fn for name, fn in globals().items() if name.startswith("stage_")}


# ------------------------------------------------------------------ measuring (in the parent)


def _busy_cpu_s() -> float | None:
    """CPU seconds every process on the machine has used since boot (/proc/stat), if known."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class StageFailed(RuntimeError):
    """A stage's child failed; `figures` are what was measured of it."""

    def __init__(self, message: str, figures: dict) -> None:
        super().__init__(message)
        self.figures = figures


def measure(stage: str, *args: str, log: Path) -> dict:
    """Run one stage in a child process: its wall and CPU time, peak RSS, rows in and out, and
    the machine's load meanwhile (the CPU time other work took, the 1-minute load average)."""
    result_file = log.with_suffix(f".{stage}.json")
    with log.open("a") as out:
        busy_before, load_before = _busy_cpu_s(), os.getloadavg()[0]
        started = time.perf_counter()
        child = subprocess.Popen(
            [sys.executable, __file__, "--stage", stage, str(result_file), *args],
            stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        busy_after, load_after = _busy_cpu_s(), os.getloadavg()[0]
    cpu = usage.ru_utime + usage.ru_stime
    if os.waitstatus_to_exitcode(status) != 0:
        tail = "".join(log.read_text(errors="replace").splitlines(keepends=True)[-25:])
        raise StageFailed(f"stage {stage} failed; the end of {log}:\n{tail}", {
            "stage": stage, "wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "peak_rss_mb": round(usage.ru_maxrss / 1024), "log_tail": tail,
        })  # fmt: skip
    figures = json.loads(result_file.read_text())
    load = {"load_1m": [round(load_before, 2), round(load_after, 2)]}  # at start and end
    if busy_before is not None and busy_after is not None:
        # What the rest of the machine used while the stage ran (other work, this parent).
        load["others_cpu_s"] = round(max(0.0, busy_after - busy_before - cpu), 1)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "peak_rss_mb": round(usage.ru_maxrss / 1024),  # the stage's largest process, dbt included
        **figures,
        **load,
    }


def _mb(path: Path) -> float:
    files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


def sizes(deliveries: list[Path], data: Path) -> dict:
    """MB on disk: the deliveries as generated, the raw layer, the warehouse, the published
    version (open and restricted DuckDB files, Parquet copies, docs)."""
    from orchestration.settings import Settings

    settings = Settings(data_dir=data)
    return {
        "deliveries_mb": round(sum(_mb(d) for d in deliveries), 1),
        "raw_layer_mb": _mb(settings.raw_database),
        "warehouse_mb": _mb(settings.warehouse),
        "published_mb": _mb(settings.published_current.resolve()),
    }


def municipalities(deliveries: list[Path]) -> dict[str, int]:
    """Citizens generated per municipality code, from the deliveries' manifests."""
    out = {}
    for delivery in deliveries:
        manifest = json.loads((delivery / "manifest.json").read_text(encoding="utf-8"))
        out[manifest["municipality_code"]] = int(manifest["generator"]["citizens"])
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def run_tier(tier: str, workdir: Path, cache: Path) -> dict:
    """The tier's report; if a stage fails, what was measured up to it (and of it) is written to
    the workdir's partial-report.json before the error goes on."""
    report: dict = {"tier": tier, **TIERS[tier], "full_run": {}, "daily_run": {}}
    report.pop("municipalities", None)  # the tier's count; the report names them
    try:
        return _run_tier(tier, workdir, cache, report)
    except StageFailed as failed:
        report["failed"] = failed.figures
        (workdir / "partial-report.json").write_text(json.dumps(report, indent=2))
        raise


def _run_tier(tier: str, workdir: Path, cache: Path, report: dict) -> dict:
    full, daily = tier_data(tier, cache)
    data = workdir / "data"
    log = workdir / "benchmark.log"
    os.environ.update(TIERS[tier].get("env", {}))  # the stages' children inherit it
    for stage in FULL_STAGES:
        print(f"{tier} full run: {stage} ...", flush=True)
        args = [str(data), *map(str, full)] if stage == "ingest" else [str(data)]
        report["full_run"][stage] = measure(stage, *args, log=log)
    report["disclosure"] = json.loads(
        (data / "reports" / "benchmark" / "suppression.json").read_text(encoding="utf-8")
    )
    if TIERS[tier].get("municipalities"):  # not timed as part of the run
        report["municipalities"] = municipalities(full)
        report["levels"] = measure("levels", str(data), log=log)
        report["sizes"] = sizes(full, data)
    print(f"{tier}: the floor and the pandas baseline ...", flush=True)
    report["floor"] = measure("floor", str(data), *map(str, full), log=log)
    if TIERS[tier].get("baseline", True):
        report["pandas_baseline"] = measure("baseline", str(data), log=log)
        report["dbt_same_tables"] = measure("dbt_same_tables", str(data), log=log)
    for stage in DAILY_STAGES if TIERS[tier].get("daily", True) else ():
        print(f"{tier} daily delivery on top: {stage} ...", flush=True)
        args = [str(data), *map(str, daily)] if stage == "ingest" else [str(data)]
        report["daily_run"][stage] = measure(stage, *args, log=log)
    full_s = sum(s["wall_s"] for s in report["full_run"].values())
    report["summary"] = {
        "full_run_s": round(full_s, 1),
        "full_run_cpu_s": round(sum(s["cpu_s"] for s in report["full_run"].values()), 1),
        "others_cpu_s": round(
            sum(s.get("others_cpu_s", 0) for s in report["full_run"].values()), 1
        ),
        "peak_rss_mb": max(s["peak_rss_mb"] for s in report["full_run"].values()),
        "gate_share": round(report["full_run"]["gate"]["wall_s"] / full_s, 3),
        "vs_floor": round(full_s / report["floor"]["wall_s"], 1),
    }
    if report["daily_run"]:
        daily_s = sum(s["wall_s"] for s in report["daily_run"].values())
        report["summary"] |= {
            "daily_run_s": round(daily_s, 1),
            "daily_share": round(daily_s / full_s, 3),
        }
    if "pandas_baseline" in report:
        baseline_s = report["pandas_baseline"]["wall_s"]
        report["summary"] |= {
            "baseline_s": baseline_s,
            "dbt_vs_baseline": round(report["full_run"]["dbt_build"]["wall_s"] / baseline_s, 2),
            "same_tables_vs_baseline": round(report["dbt_same_tables"]["wall_s"] / baseline_s, 2),
            "cells_agreeing": report["pandas_baseline"]["cells_compared"],
        }
    report["targets"] = targets_met(tier, report["summary"])
    return report


def targets_met(tier: str, s: dict) -> dict:
    t = TARGETS.get(tier, {})
    checks = {
        "run_s": ("run_s", s["full_run_s"], lambda v, lim: v < lim),
        "gate_share": ("gate_share", s["gate_share"], lambda v, lim: v < lim),
        "peak_rss_gb": ("peak_rss_gb", s["peak_rss_mb"] / 1024, lambda v, lim: v < lim),
        "daily_share": ("daily_share", s.get("daily_share"), lambda v, lim: v < lim),
        "vs_floor": ("vs_floor", s["vs_floor"], lambda v, lim: v <= lim),
        # dbt at least 3x faster than pandas on the two tables both compute
        "same_tables_vs_baseline": (
            "same_tables_vs_baseline",
            s.get("same_tables_vs_baseline"),
            lambda v, lim: v <= lim,
        ),
    }
    out = {k: {"target": t[k], "value": round(v, 3), "met": ok(v, t[k])}
           for k, (_, v, ok) in checks.items() if k in t and v is not None}  # fmt: skip
    if (
        tier == "M" and "same_tables_vs_baseline" in s
    ):  # faster than the pandas baseline, like for like: the same two tables
        out["faster_than_pandas"] = {"target": "dbt (same tables) / pandas < 1",
                                     "value": s["same_tables_vs_baseline"],
                                     "met": s["same_tables_vs_baseline"] < 1}  # fmt: skip
    return out


# ------------------------------------------------------------------ reporting


def _threads(build: dict) -> str:
    threads = build.get("dbt_threads", "?")
    return f"{threads} thread" if str(threads) == "1" else f"{threads} threads"


def markdown(report: dict, info: dict, when: str) -> str:
    s = report["summary"]
    build = report["full_run"]["dbt_build"]
    title = f"{report['citizens']:,} citizens, {report['start']} to {report['end']}"
    if report.get("municipalities"):
        title = f"{len(report['municipalities'])} municipalities, {title}"
    lines = [
        f"### Tier {report['tier']}: {title}",
        "",
        f"Measured {when} on {info['cores']} cores, {info['memory_gb']} GB RAM, Python {info['python']}. "
        "Each stage in its own process; peak RSS is the stage's largest process (dbt included). "
        f"dbt ran {_threads(build)} with DuckDB's memory capped at "
        f"{build.get('duckdb_memory_limit', '?')}.",
        "",
        "| run | stage | wall s | CPU s | peak RSS MB | rows in | rows out |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for run in ("full_run", "daily_run"):
        for stage, m in report[run].items():
            lines.append(f"| {run.replace('_', ' ')} | {stage} | {m['wall_s']} | {m['cpu_s']} | "
                         f"{m['peak_rss_mb']:,} | {m['rows_in']:,} | {m['rows_out']:,} |")  # fmt: skip
    for name in ("floor", "pandas_baseline", "dbt_same_tables"):
        if (m := report.get(name)) is None:
            continue
        lines.append(f"| reference | {name.replace('_', ' ')} | {m['wall_s']} | {m['cpu_s']} | "
                     f"{m['peak_rss_mb']:,} | {m['rows_in']:,} | {m['rows_out']:,} |")  # fmt: skip
    summary = (
        f"Full run {s['full_run_s']} s ({s['vs_floor']}x the I/O floor), gate {s['gate_share']:.0%} "
        f"of it, peak RSS {s['peak_rss_mb']:,} MB"
    )
    if "daily_run_s" in s:
        summary += (f"; a new daily delivery on top {s['daily_run_s']} s ({s['daily_share']:.0%} of "
                    "the full run)")  # fmt: skip
    summary += "."
    if "baseline_s" in s:
        summary += (
            f" Like for like, dbt computing the two tables the pandas baseline computes, from the "
            f"same staged tables, takes {s['same_tables_vs_baseline']}x the baseline's time; the "
            f"whole dbt build (staging from raw, every table, the data tests) {s['dbt_vs_baseline']}x."
            f" The baseline agrees with the pipeline on all {s['cells_agreeing']:,} published cells "
            "of `ind_goal_attainment` and `ind_functional_ability`."
        )
    else:
        summary += " " + report.get(
            "no_baseline", "No pandas baseline at this tier (it would not fit in memory)."
        )
    lines += ["", summary]
    if loads := [v for m in report["full_run"].values() for v in m.get("load_1m", [])]:
        lines += ["", f"The machine is shared: other work used {s.get('others_cpu_s', 0):,} CPU s "
                  f"while the full run's stages ran (their {s['full_run_s']} s on "
                  f"{info['cores']} cores offer {s['full_run_s'] * info['cores']:,.0f}); the "
                  f"1-minute load average was {min(loads)} to {max(loads)} at the stages' "
                  "starts and ends."]  # fmt: skip
    if report.get("municipalities"):
        lines += ["", *national_lines(report)]
    disclosure = report.get("disclosure")
    if disclosure:
        full = report["full_run"]
        lines += [
            "",
            f"Disclosure control in the full run: secondary suppression "
            f"{full['suppression']['wall_s']} s ({disclosure['rounds']} rounds), the audit "
            f"{full['audit']['wall_s']} s; the audit found no exposed primary cell (else the "
            "run stops before publishing). Cells withheld:",
            "",
            "| table | cells | primary | secondary | withheld |",
            "|---|---:|---:|---:|---:|",
        ]
        for table, t in disclosure["tables"].items():
            share = (t["primary"] + t["secondary"]) / t["cells"] if t["cells"] else 0
            lines.append(f"| `{table}` | {t['cells']:,} | {t['primary']:,} | {t['secondary']:,} "
                         f"| {share:.0%} |")  # fmt: skip
    if slowest := build.get("slowest"):
        lines += ["", f"Where the full run's dbt build spends its time: {build['node_s']} s summed "
                  f"over its nodes ({_threads(build)} overlap, so more than "
                  "its wall time). The slowest, with their share of that sum: "
                  + ", ".join(f"`{k}` {v['s']} s ({v['share']:.0%})" for k, v in slowest.items())
                  + ". Every node's time is in the results JSON."]  # fmt: skip
    if report["targets"]:
        lines += ["", "| target | limit | measured | met |", "|---|---|---|---|"]
        lines += [f"| {k} | {v['target']} | {v['value']} | {'yes' if v['met'] else '**no**'} |"
                  for k, v in report["targets"].items()]  # fmt: skip
    return "\n".join(lines)


def national_lines(report: dict) -> list[str]:
    """A national tier's municipalities, sizes on disk, and indicator rows per level."""
    sizes, levels = report["sizes"], report["levels"]
    people = report["municipalities"]
    lines = [
        "Citizens generated per municipality (kommunekode): "
        + ", ".join(f"{code} {n:,}" for code, n in people.items())
        + f"; {sum(people.values()):,} in the deliveries. A mover is in two of them under the same "
        f"CPR number, so the warehouse counts {levels['citizens_in_warehouse']:,} citizens "
        "(`dim_citizen`).",
        "",
        f"Sizes on disk: the deliveries {sizes['deliveries_mb']:,} MB (Parquet), the raw layer "
        f"{sizes['raw_layer_mb']:,} MB, the warehouse {sizes['warehouse_mb']:,} MB, the "
        f"published version {sizes['published_mb']:,} MB.",
        "",
        "Indicator rows in the warehouse (schema `indicators`, before secondary suppression): "
        "the national level (`org_level` 0; for `ind_case_mix` municipality code '000'), the "
        "municipalities (level 1; for `ind_case_mix` their own rows), and every row.",
        "",
        "| table | national | municipalities | all rows |",
        "|---|---:|---:|---:|",
    ]
    for table, t in levels["tables"].items():
        lines.append(f"| `{table}` | {t['national']:,} | {t['municipality']:,} | {t['rows']:,} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tier", choices=list(TIERS))
    parser.add_argument("--workdir", type=Path, default=None, help="scratch space (default: /tmp)")
    parser.add_argument(
        "--cache", type=Path, default=CACHE, help="generated data, kept between runs"
    )
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-docs", action="store_true", help="leave docs/performance.md alone")
    parser.add_argument("--stage", nargs="+", help=argparse.SUPPRESS)  # a child's work
    args = parser.parse_args(argv)
    if args.stage:
        name, result_file, *rest = args.stage
        Path(result_file).write_text(json.dumps(STAGES[name](*rest)))
        return 0
    if not args.tier:
        parser.error("--tier is required")
    workdir = Path(tempfile.mkdtemp(prefix=f"effekt-bench-{args.tier}-", dir=args.workdir))
    try:
        report = run_tier(args.tier, workdir, args.cache)
    except BaseException:
        print(f"kept {workdir} for a look at the failed run", file=sys.stderr)
        raise
    shutil.rmtree(workdir)
    info, when = machine(), dt.date.today().isoformat()
    report |= {"machine": info, "date": when}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / f"pipeline-{args.tier}.json").write_text(json.dumps(report, indent=2))
    section = markdown(report, info, when)
    (args.results / f"pipeline-{args.tier}.md").write_text(section + "\n")
    if not args.no_docs:
        begin, end = f"<!-- BEGIN pipeline_{args.tier} -->", f"<!-- END pipeline_{args.tier} -->"
        replace_section(f"{begin}\n{section}\n{end}", begin, end, "Pipeline benchmark")
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
