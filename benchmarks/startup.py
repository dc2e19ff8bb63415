"""Measure how long the everyday `effekt` commands take to start and answer, in fresh processes.

    python benchmarks/startup.py [--data-dir data] [--repeat 7]

`effekt --help`, `effekt validate --help` and `effekt status` should answer in under 2 s: they
import the heavy libraries (Dagster, dbt, Great Expectations, pandas) only where they are used.
Each command runs `--repeat` times in a new process; the median, min and max wall times go to
benchmarks/results/startup.json and the start-up part of docs/performance.md, with the modules
each command imported (a heavy import slipping in shows there first).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import replace_section  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"
BEGIN, END = "<!-- BEGIN startup -->", "<!-- END startup -->"
TARGET_S = 2.0
HEAVY = ("dagster", "dbt", "great_expectations", "pandas", "plotly", "numpy")


def commands(data_dir: Path) -> dict[str, list[str]]:
    return {
        "effekt --help": ["--help"],
        "effekt validate --help": ["validate", "--help"],
        "effekt status": ["status", "--data-dir", str(data_dir)],
        "effekt status --json": ["status", "--data-dir", str(data_dir), "--json"],
    }


def _heavy_imports(args: list[str]) -> list[str]:
    """The heavy top-level packages a command imports, from `python -X importtime`."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "orchestration.cli", *args],
        cwd=ROOT, capture_output=True, text=True, check=False,
    )  # fmt: skip
    names = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if "|" in line}
    return sorted(n for n in names if n in HEAVY)


def measure(data_dir: Path, repeat: int) -> dict:
    out = {}
    for label, args in commands(data_dir).items():
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "orchestration.cli", *args],
                cwd=ROOT, capture_output=True, check=False,
            )  # fmt: skip
            times.append(time.perf_counter() - started)
            if done.returncode != 0:
                raise SystemExit(f"{label} failed: {done.stderr.decode()[-500:]}")
        out[label] = {
            "median_s": round(statistics.median(times), 3),
            "min_s": round(min(times), 3),
            "max_s": round(max(times), 3),
            "runs": repeat,
            "heavy_imports": _heavy_imports(args),
        }
    return out


def section(results: dict, data_dir_note: str) -> str:
    lines = [
        BEGIN,
        "",
        f"Measured {results['measured_at']} on {results['machine']} by `python benchmarks/startup.py`"
        f" ({results['repeat']} fresh processes per command; status on {data_dir_note}). "
        f"Target: under {TARGET_S:.0f} s each.",
        "",
        "| command | median | min | max | heavy packages imported | target |",
        "|---|---:|---:|---:|---|---|",
    ]
    for label, r in results["commands"].items():
        met = "met" if r["median_s"] < TARGET_S else "**missed**"
        heavy = ", ".join(r["heavy_imports"]) or "none"
        lines.append(
            f"| `{label}` | {r['median_s']:.2f} s | {r['min_s']:.2f} s | {r['max_s']:.2f} s "
            f"| {heavy} | {met} |"
        )
    lines += ["", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, help="a data folder for `effekt status`")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-doc", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="effekt-startup-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        results = {
            "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.machine()}, Python {platform.python_version()}",
            "repeat": args.repeat,
            "commands": measure(data_dir, args.repeat),
        }
    args.results.mkdir(parents=True, exist_ok=True)
    (args.results / "startup.json").write_text(json.dumps(results, indent=2) + "\n")
    note = "an empty data folder" if args.data_dir is None else f"`{args.data_dir}`"
    if not args.no_doc:
        replace_section(section(results, note), BEGIN, END, "Command start-up")
    for label, r in results["commands"].items():
        print(
            f"{label:<26} {r['median_s']:.2f} s  (heavy imports: {', '.join(r['heavy_imports']) or 'none'})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
