"""Measure `effekt generate` at scale: wall time, CPU time, peak RSS, rows and bytes written.

    python benchmarks/generate_scale.py --citizens 1000000 --format csv parquet

Each run is a separate process, so its peak RSS is its own. Results go to
benchmarks/results/generate-<citizens>.json and into the generator part of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
sys.path.insert(0, str(ROOT))

from benchmarks.report import DOC, replace_section  # noqa: E402

BEGIN, END = "<!-- BEGIN generate_scale -->", "<!-- END generate_scale -->"
PEAK_RSS_TARGET_MB = 2048


def run_once(citizens: int, file_format: str, start: str, end: str, out: Path) -> dict:
    command = [
        sys.executable, "-m", "orchestration.cli", "generate", "--citizens", str(citizens),
        "--start", start, "--end", end, "--seed", "1", "--format", file_format,
        "--out", str(out), "--quiet",
    ]  # fmt: skip
    started = time.perf_counter()
    # RUSAGE_CHILDREN's peak is the largest child so far, so each run gets its own wrapper
    # process whose only child is the generator.
    wrapper = [sys.executable, "-c", _MEASURE, *command]
    done = subprocess.run(wrapper, check=True, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - started
    child = json.loads(done.stdout.strip().splitlines()[-1])
    delivery = next(p for p in out.iterdir() if p.is_dir())
    manifest = json.loads((delivery / "manifest.json").read_text(encoding="utf-8"))
    size = sum(p.stat().st_size for p in delivery.iterdir())
    return {
        "citizens": citizens,
        "format": file_format,
        "period": f"{start}..{end}",
        "wall_s": round(wall, 1),
        "cpu_s": round(child["cpu_s"], 1),
        "peak_rss_mb": round(child["maxrss_kb"] / 1024, 1),
        "rows": {f["entity"]: f["rows"] for f in manifest["files"]},
        "total_rows": sum(f["rows"] for f in manifest["files"]),
        "bytes": size,
        "rows_per_s": round(sum(f["rows"] for f in manifest["files"]) / wall),
    }


# Runs the generator as a grandchild and reports that grandchild's own peak RSS and CPU time.
_MEASURE = """
import json, resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"maxrss_kb": u.ru_maxrss, "cpu_s": u.ru_utime + u.ru_stime}))
"""


def machine() -> dict:
    mem_kb = next(
        int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )  # fmt: skip
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def render(results: list[dict], info: dict, when: str) -> str:
    lines = [
        BEGIN,
        f"Measured {when} on {info['cores']} cores, {info['memory_gb']} GB RAM, Python "
        f"{info['python']}. Target: peak RSS under {PEAK_RSS_TARGET_MB} MB at 1,000,000 citizens.",
        "",
        "| citizens | format | period | wall s | CPU s | peak RSS MB | rows | size MB | rows/s | RSS target |",
        "|---:|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in results:
        ok = "met" if r["peak_rss_mb"] < PEAK_RSS_TARGET_MB else "MISSED"
        lines.append(
            f"| {r['citizens']:,} | {r['format']} | {r['period']} | {r['wall_s']} | {r['cpu_s']} "
            f"| {r['peak_rss_mb']} | {r['total_rows']:,} | {r['bytes'] / 1e6:,.0f} "
            f"| {r['rows_per_s']:,} | {ok} |"
        )
    biggest = max(results, key=lambda r: r["total_rows"])
    lines += ["", f"Rows per entity at {biggest['citizens']:,} citizens ({biggest['format']}):", ""]
    lines += [f"- {entity}: {rows:,}" for entity, rows in biggest["rows"].items()]
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, nargs="+", default=[1_000_000])
    parser.add_argument(
        "--format", nargs="+", default=["csv", "parquet"], choices=["csv", "parquet"]
    )
    parser.add_argument("--start", default="2016-01-01")
    parser.add_argument("--end", default="2019-06-30")
    parser.add_argument("--workdir", type=Path, default=None, help="where to write (default: temp)")
    parser.add_argument("--no-doc", action="store_true", help="do not update docs/performance.md")
    args = parser.parse_args()

    results = []
    for citizens in args.citizens:
        for file_format in args.format:
            out = Path(tempfile.mkdtemp(prefix="effekt-gen-", dir=args.workdir))
            try:
                result = run_once(citizens, file_format, args.start, args.end, out)
            finally:
                shutil.rmtree(out, ignore_errors=True)
            print(json.dumps(result), flush=True)
            results.append(result)
    info = machine()
    when = dt.date.today().isoformat()
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = "-".join(str(c) for c in args.citizens)
    (RESULTS / f"generate-{name}.json").write_text(
        json.dumps({"machine": info, "date": when, "results": results}, indent=2) + "\n"
    )
    if not args.no_doc:
        replace_section(render(results, info, when), BEGIN, END, "Generator", DOC)
    return 0


if __name__ == "__main__":
    sys.exit(main())
