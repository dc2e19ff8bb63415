"""Daily operation for a month: does the raw layer and the daily run stay flat as history grows?

    python benchmarks/daily_history.py --days 30 --citizens 2000

Generates `--days` consecutive daily snapshots of one history (the generator's `extract_at`,
one day apart, cached in benchmarks/.cache/) and feeds them one by one into one data folder. Each
day runs the daily stages of benchmarks/pipeline.py (ingest, dbt build, gate, suppression, audit,
publish), each in its own process, and records after it the raw layer's file size, its rows
(versions), the day's change set and the day's wall time. Day 1 is the first, full load.

Writes benchmarks/results/daily-history.json and .md and its part of docs/performance.md.
Reported against issue 17's targets, never asserted in timed tests.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate_scale import RESULTS, machine  # noqa: E402
from benchmarks.pipeline import CACHE, DAILY_STAGES, measure  # noqa: E402
from benchmarks.report import replace_section  # noqa: E402

START, END = dt.date(2016, 1, 1), dt.date(2019, 6, 30)
TARGETS = {"raw_size_ratio": 1.3, "daily_time_ratio": 1.2}  # day N / day 1, day N / day 2


def snapshots(days: int, citizens: int, cache: Path) -> list[Path]:
    """`days` daily extracts of one history, ending on END, oldest first (cached)."""
    from orchestration.generate import GeneratorConfig, generate_delivery

    out = []
    for n in range(days):
        extract_at = END - dt.timedelta(days=days - 1 - n)
        target = cache / f"daily-{citizens}" / extract_at.isoformat()
        if not any(target.glob("*/manifest.json")):
            shutil.rmtree(target, ignore_errors=True)
            print(
                f"generating the snapshot of {extract_at} ({citizens:,} citizens) ...", flush=True
            )
            generate_delivery(GeneratorConfig(
                citizens=citizens, start=START, end=END, seed=8, out=target,
                file_format="parquet", extract_at=extract_at, progress=False,
            ))  # fmt: skip
        out.append(next(p.parent for p in target.glob("*/manifest.json")))
    return out


def raw_figures(data: Path, delivery_id: str) -> dict:
    import duckdb

    from orchestration.contract import load_contract

    database = data / "raw" / "raw_layer.duckdb"
    con = duckdb.connect(str(database), read_only=True)
    try:
        versions = sum(con.execute(f"select count(*) from raw.{entity}").fetchone()[0]
                       for entity in load_contract().entities)  # fmt: skip
        changes = dict(con.execute(
            "select change, count(*) from raw.changes where delivery_id = ? group by 1",
            [delivery_id],
        ).fetchall())  # fmt: skip
        delivered = con.execute(
            "select rows_loaded from raw.deliveries where delivery_id = ?", [delivery_id]
        ).fetchone()[0]
    finally:
        con.close()
    return {"raw_mb": round(database.stat().st_size / 2**20, 2), "raw_versions": versions,
            "rows_delivered": delivered, "changes": changes}  # fmt: skip


def run(days: int, citizens: int, workdir: Path, cache: Path) -> dict:
    folders = snapshots(days, citizens, cache)
    data, log = workdir / "data", workdir / "benchmark.log"
    rows = []
    for n, folder in enumerate(folders, 1):
        print(f"day {n}/{days}: {folder.name} ...", flush=True)
        stages = {}
        for stage in DAILY_STAGES:
            args = [str(data), str(folder)] if stage == "ingest" else [str(data)]
            stages[stage] = measure(stage, *args, log=log)["wall_s"]
        delivery_id = json.loads((folder / "manifest.json").read_text())["delivery_id"]
        rows.append({"day": n, "delivery": delivery_id, "wall_s": round(sum(stages.values()), 2),
                     "stages": stages, **raw_figures(data, delivery_id)})  # fmt: skip
    first, second, last = rows[0], rows[min(1, len(rows) - 1)], rows[-1]
    summary = {
        "raw_size_ratio": round(last["raw_mb"] / first["raw_mb"], 3),
        "daily_time_ratio": round(last["wall_s"] / second["wall_s"], 3),
        "daily_share_of_first": round(
            sum(r["wall_s"] for r in rows[1:]) / max(len(rows) - 1, 1) / first["wall_s"], 3
        ),
    }
    targets = {k: {"target": v, "value": summary[k], "met": summary[k] <= v}
               for k, v in TARGETS.items()}  # fmt: skip
    return {"days": days, "citizens": citizens, "rows": rows, "summary": summary,
            "targets": targets}  # fmt: skip


def markdown(report: dict, info: dict, when: str) -> str:
    s = report["summary"]
    lines = [
        f"### {report['days']} daily deliveries: {report['citizens']:,} citizens",
        "",
        f"Measured {when} on {info['cores']} cores, {info['memory_gb']} GB RAM, Python "
        f"{info['python']}: `python benchmarks/daily_history.py --days {report['days']} "
        f"--citizens {report['citizens']}`. Each day lands the next daily snapshot of one history "
        f"and runs {', '.join(DAILY_STAGES)}, each stage in its own process. Day 1 is the first "
        "load of an empty data folder.",
        "",
        "| day | wall s | ingest s | dbt build s | raw layer MB | versions stored | rows delivered "
        "| inserts | updates | deletes |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in report["rows"]:
        c = r["changes"]
        lines.append(
            f"| {r['day']} | {r['wall_s']} | {r['stages']['ingest']} | {r['stages']['dbt_build']} "
            f"| {r['raw_mb']} | {r['raw_versions']:,} | {r['rows_delivered']:,} "
            f"| {c.get('insert', 0):,} | {c.get('update', 0):,} | {c.get('delete', 0):,} |"
        )
    lines += [
        "",
        f"Raw layer after the last day: {s['raw_size_ratio']}x its size after the first "
        f"(target at most {TARGETS['raw_size_ratio']}x). Daily run on the last day: "
        f"{s['daily_time_ratio']}x the second day's (target within {TARGETS['daily_time_ratio']}x). "
        f"A daily run takes {s['daily_share_of_first']:.0%} of the first run on average: at this "
        "size a run is mostly fixed cost (each stage starts Python, dbt or Great Expectations; dbt "
        "plans the build), which an incremental build does not shrink; the share of a full run at "
        "tier M is in the pipeline benchmark above.",
        "",
        "| target | limit | measured | met |",
        "|---|---|---|---|",
    ]
    lines += [f"| {k} | {v['target']} | {v['value']} | {'yes' if v['met'] else '**no**'} |"
              for k, v in report["targets"].items()]  # fmt: skip
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--citizens", type=int, default=2_000)
    parser.add_argument("--workdir", type=Path, default=None, help="scratch space (default: /tmp)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="generated data, kept")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-docs", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args(argv)
    if args.days < 2:
        parser.error("--days must be at least 2: the first load and one daily delivery")
    workdir = Path(tempfile.mkdtemp(prefix="effekt-daily-", dir=args.workdir))
    try:
        report = run(args.days, args.citizens, workdir, args.cache)
    except BaseException:
        print(f"kept {workdir} for a look at the failed run", file=sys.stderr)
        raise
    shutil.rmtree(workdir)
    info, when = machine(), dt.date.today().isoformat()
    report |= {"machine": info, "date": when}
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "daily-history.json").write_text(json.dumps(report, indent=2))
    section = markdown(report, info, when)
    (args.results / "daily-history.md").write_text(section + "\n")
    if not args.no_docs:
        begin, end = "<!-- BEGIN daily_history -->", "<!-- END daily_history -->"
        replace_section(f"{begin}\n{section}\n{end}", begin, end, "Daily operation over a month")
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
