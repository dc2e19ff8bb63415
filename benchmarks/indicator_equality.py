"""Are the published tables the same before and after a change to the models? Row for row.

    python benchmarks/indicator_equality.py --before c5f4143 --tier M

Builds the tier's full delivery twice from empty data folders, each in its own processes: once
with the code at the `--before` revision (checked out into a temporary git worktree) and once
with this working tree; then compares every table of the `indicators` and `marts` schemas with
`except all` in both directions, and their columns and types. Exits 1 when any table differs.

Writes benchmarks/results/indicator-equality-<tier>.json and its part of docs/performance.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.generate_scale import RESULTS, machine  # noqa: E402
from benchmarks.pipeline import CACHE, TIERS, tier_data  # noqa: E402
from benchmarks.report import replace_section  # noqa: E402

SCHEMAS = ("indicators", "marts")
BEGIN, END = "<!-- BEGIN indicator_equality -->", "<!-- END indicator_equality -->"


def build(code: Path, data: Path, deliveries: list[Path], log: Path) -> float:
    """Ingest and `dbt build` the deliveries (one, or a national tier's one per municipality)
    into `data` with the code in `code`; seconds taken."""
    started = time.perf_counter()
    for stage, *args in (("ingest", str(data), *map(str, deliveries)), ("dbt_build", str(data))):
        result = data.parent / f"{data.name}.{stage}.json"
        with log.open("a") as out:
            done = subprocess.run(
                [sys.executable, str(code / "benchmarks" / "pipeline.py"), "--stage", stage,
                 str(result), *args],
                cwd=code, stdout=out, stderr=subprocess.STDOUT, check=False,
            )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"{stage} with the code in {code} failed; see {log}")
    return round(time.perf_counter() - started, 1)


def compare(before: Path, after: Path) -> dict[str, dict]:
    """Per table of SCHEMAS: rows, rows only before, rows only after, and whether the columns agree."""
    import duckdb

    con = duckdb.connect()
    con.execute(f"attach '{before}' as before_build (read_only)")
    con.execute(f"attach '{after}' as after_build (read_only)")

    def columns(catalog: str) -> dict[tuple[str, str], list[tuple[str, str]]]:
        rows = con.execute(
            "select table_schema, table_name, column_name, data_type from information_schema.columns "
            f"where table_catalog = '{catalog}' and table_schema in {SCHEMAS} "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
        out: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for schema, table, column, data_type in rows:
            out.setdefault((schema, table), []).append((column, data_type))
        return out

    old, new = columns("before_build"), columns("after_build")
    tables: dict[str, dict] = {}
    for schema, table in sorted(set(old) | set(new)):
        name = f"{schema}.{table}"
        if (schema, table) not in old or (schema, table) not in new:
            tables[name] = {
                "identical": False,
                "why": "only before" if (schema, table) in old else "only after",
            }
            continue
        if old[(schema, table)] != new[(schema, table)]:
            tables[name] = {"identical": False, "why": "columns differ"}
            continue

        def count(sql: str) -> int:
            return con.execute(sql).fetchone()[0]

        b, a = f"before_build.{name}", f"after_build.{name}"
        only_before = count(
            f"select count(*) from (select * from {b} except all select * from {a})"
        )
        only_after = count(f"select count(*) from (select * from {a} except all select * from {b})")
        tables[name] = {
            "rows": count(f"select count(*) from {a}"),
            "only_before": only_before,
            "only_after": only_after,
            "identical": only_before == only_after == 0,
        }
    con.close()
    return tables


def markdown(report: dict) -> str:
    lines = [
        BEGIN,
        f"### Tier {report['tier']}: {report['before']} against `{report['after']}`",
        "",
        f"Measured {report['date']} by `python benchmarks/indicator_equality.py --before "
        f"{report['before']} --tier {report['tier']}`: the tier's full delivery "
        f"({report['citizens']:,} citizens) built from empty data folders with the code at "
        f"{report['before']} ({report['before_s']} s, ingest and dbt build) and with "
        f"`{report['after']}` ({report['after_s']} s); every table of the published schemas "
        "compared with `except all` both ways.",
        "",
        "| table | rows | only before | only after | identical |",
        "|---|---:|---:|---:|---|",
    ]
    for name, t in report["tables"].items():
        if "rows" in t:
            lines.append(f"| `{name}` | {t['rows']:,} | {t['only_before']} | {t['only_after']} | "
                         f"{'yes' if t['identical'] else '**no**'} |")  # fmt: skip
        else:
            lines.append(f"| `{name}` | | | | **no**: {t['why']} |")
    verdict = "identical" if report["identical"] else "NOT identical"
    lines += ["", f"All {len(report['tables'])} tables {verdict}.", END]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", required=True, help="git revision to compare against")
    parser.add_argument("--tier", choices=list(TIERS), default="M")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch space (default: /tmp)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="generated data, kept")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--no-docs", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args(argv)

    revision = subprocess.run(
        ["git", "rev-parse", "--short", args.before], cwd=ROOT, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout.strip()  # fmt: skip
    full, _ = tier_data(args.tier, args.cache)
    work = Path(tempfile.mkdtemp(prefix=f"effekt-equality-{args.tier}-", dir=args.workdir))
    old_code = work / "before-code"
    log = work / "equality.log"
    subprocess.run(["git", "worktree", "add", "--detach", str(old_code), revision], cwd=ROOT,
                   check=True, capture_output=True)  # fmt: skip
    try:
        print(f"building {args.tier} with {revision} ...", flush=True)
        before_s = build(old_code, work / "before", full, log)
        print(f"building {args.tier} with this working tree ...", flush=True)
        after_s = build(ROOT, work / "after", full, log)
        tables = compare(work / "before" / "warehouse" / "effekt.duckdb",
                         work / "after" / "warehouse" / "effekt.duckdb")  # fmt: skip
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(old_code)], cwd=ROOT,
                       check=False, capture_output=True)  # fmt: skip
    report = {
        "tier": args.tier,
        "citizens": TIERS[args.tier]["citizens"],
        "before": revision,
        "after": f"{head}{' with uncommitted changes' if dirty else ''}",
        "date": dt.date.today().isoformat(),
        "machine": machine(),
        "before_s": before_s,
        "after_s": after_s,
        "tables": tables,
        "identical": all(t["identical"] for t in tables.values()),
    }
    args.results.mkdir(parents=True, exist_ok=True)
    out = args.results / f"indicator-equality-{args.tier}.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    section = markdown(report)
    if not args.no_docs:
        replace_section(section, BEGIN, END, "Indicator tables before and after a model change")
    print(section)
    shutil.rmtree(work, ignore_errors=True)
    return 0 if report["identical"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
