"""What disclosure control costs users: the share of cells withheld per table, before and after.

    python benchmarks/disclosure_cost.py --tier S M [--before 5de460f]

For each tier, the benchmark's cached full delivery is ingested and built twice: with this
checkout (primary suppression in dbt, secondary over every open table at once) and with the
`--before` commit (dbt's per-table sibling passes), checked out in a temporary git worktree.
Counts of primary and secondary cells per table go to docs/disclosure-control.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.pipeline import CACHE, TIERS, tier_data  # noqa: E402
from benchmarks.report import replace_section  # noqa: E402

DOC = ROOT / "docs" / "disclosure-control.md"
TABLES = ("ind_goal_attainment", "ind_goal_type_achievement", "ind_functional_ability",
          "ind_key_figures", "ind_data_quality")  # fmt: skip
KEY = "disclosure-cost-benchmark-key"

# Run in a child process with the code of `root` first on the path: ingest, dbt build and,
# where that code has it, secondary suppression; then count withheld cells per table.
CHILD = r"""
import json, sys
from pathlib import Path
import duckdb
from orchestration.ingest.load import ingest_delivery
from orchestration.settings import Settings
from orchestration.warehouse import BUILD_ARGS, run_dbt

data, delivery, out, key = sys.argv[1:5]
settings = Settings(data_dir=Path(data))
ingest_delivery(settings, Path(delivery), key.encode())
run_dbt(settings, BUILD_ARGS)
schema = "indicators"
import orchestration
if (Path(orchestration.__file__).parent / "disclosure").is_dir():
    from orchestration.disclosure import DisclosureRules
    from orchestration.disclosure.suppression import suppress
    con = duckdb.connect(str(settings.warehouse))
    suppress(con, DisclosureRules())
    con.close()
    schema = "open"
con = duckdb.connect(str(settings.warehouse), read_only=True)
counts = {}
for table in sys.argv[5].split(","):
    columns = {c for (c,) in con.execute(
        "select column_name from information_schema.columns where table_schema = ? and table_name = ?",
        [schema, table]).fetchall()}
    if "suppression" in columns:
        cells, primary, secondary = con.execute(
            f"select count(*), count(*) filter (suppression = 'primary'), "
            f"count(*) filter (suppression = 'secondary') from {schema}.{table}").fetchone()
        counts[table] = {"cells": cells, "primary": primary, "withheld": primary + secondary}
    else:  # before: one flag for both kinds
        cells, withheld = con.execute(
            f"select count(*), count(*) filter (is_suppressed) from {schema}.{table}").fetchone()
        counts[table] = {"cells": cells, "withheld": withheld}
Path(out).write_text(json.dumps(counts))
"""


def measure(code: Path, delivery: Path, workdir: Path) -> dict:
    out = workdir / "counts.json"
    # The ingest moves what it loads into the archive: load a copy.
    landed = workdir / "data" / "landing" / delivery.name
    shutil.copytree(delivery, landed)
    delivery = landed
    env = {**os.environ, "PYTHONPATH": str(code), "EFFEKT_DUCKDB_MEMORY_LIMIT": "8GB"}
    subprocess.run(
        [sys.executable, "-c", CHILD, str(workdir / "data"), str(delivery), str(out), KEY,
         ",".join(TABLES)],
        check=True, cwd=code, env=env,
    )  # fmt: skip
    return json.loads(out.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tier", nargs="+", choices=list(TIERS), default=["S", "M"])
    parser.add_argument("--before", default="5de460f", help="commit of the previous method")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="effekt-disclosure-") as scratch:
        old = Path(scratch) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(old), args.before],
                       check=True, cwd=ROOT, capture_output=True)  # fmt: skip
        try:
            for tier in args.tier:
                full, _daily = tier_data(tier, CACHE)
                results[tier] = {}
                for name, code in (("before", old), ("after", ROOT)):
                    print(f"tier {tier}: {name} ...", flush=True)
                    workdir = Path(scratch) / f"{tier}-{name}"
                    workdir.mkdir()
                    results[tier][name] = measure(code, full, workdir)
                    shutil.rmtree(workdir / "data", ignore_errors=True)
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(old)], cwd=ROOT, check=False
            )
    begin, end = "<!-- BEGIN disclosure_cost -->", "<!-- END disclosure_cost -->"
    section = f"{begin}\n{table(results, args.before)}\n{end}"
    replace_section(section, begin, end, "The cost: cells withheld", doc=DOC)
    print(table(results, args.before))
    return 0


def table(results: dict, before: str) -> str:
    lines = ["| tier | table | cells | withheld before | after: primary | after: secondary | withheld after |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    for tier, runs in results.items():
        for t in TABLES:
            b, a = runs["before"][t], runs["after"][t]
            secondary = a["withheld"] - a["primary"]
            lines.append(
                f"| {tier} | `{t}` | {a['cells']:,} | {b['withheld'] / b['cells']:.1%} "
                f"| {a['primary'] / a['cells']:.1%} | {secondary / a['cells']:.1%} "
                f"| {a['withheld'] / a['cells']:.1%} |"
            )
    lines += ["", f"Before: commit {before}, which marked a cell suppressed without saying why; "
              "its primary cells are the same as after's (the threshold did not change)."]  # fmt: skip
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
