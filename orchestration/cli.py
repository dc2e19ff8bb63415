"""`effekt`: the commands people type. Each prints where its results are."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
from pathlib import Path

from orchestration.settings import Settings, require_data_dir

# The heavy libraries (Dagster, dbt, Great Expectations, pandas) are imported by the commands
# that use them, so `effekt --help`, `effekt status` and `effekt validate` start in a moment.

DEFAULT_DATA_DIR = Path("data")
DEMO_CITIZENS = 2_000
DEMO_DEFECTS = 0.002
DEMO_START, DEMO_END = dt.date(2016, 1, 1), dt.date(2019, 6, 30)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2019-06-30") from None


def _rate(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 0.2:
        raise argparse.ArgumentTypeError("a rate between 0 and 0.2, e.g. 0.01")
    return value


def _codes(text: str) -> list[str]:
    codes = [c.strip() for c in text.split(",") if c.strip()]
    if not codes:
        raise argparse.ArgumentTypeError("kommunekoder separated by commas, e.g. 101,751,461")
    return codes


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.generate import GeneratorConfig, generate_delivery, generate_national
    from orchestration.generate.municipalities import pick_codes

    options = {
        "file_format": args.format,
        "dialect": args.dialect,
        "defects": args.defects,
        "file_defects": tuple(args.file_defect or ()),
        "extract_at": args.extract_at,
        "costs": args.costs,
        "progress": not args.quiet,
    }
    if args.movers is not None and not (args.municipalities or args.national):
        raise ValueError("--movers needs --municipalities or --national")
    if args.municipalities or args.national:
        codes = args.municipalities or pick_codes(args.national, args.seed)
        national = generate_national(
            codes, args.citizens, args.start, args.end, args.seed, args.out,
            movers=0.01 if args.movers is None else args.movers, **options,
        )  # fmt: skip
        deliveries = national.deliveries
    else:
        national = None
        cfg = GeneratorConfig(
            citizens=args.citizens, start=args.start, end=args.end, seed=args.seed, out=args.out,
            **options,
        )  # fmt: skip
        deliveries = [generate_delivery(cfg)]
    for result in deliveries:
        rows = sum(f["rows"] for f in result.manifest["files"])
        print(f"delivery  {result.path}  ({rows:,} rows in {len(result.manifest['files'])} files)")
        if result.ground_truth:
            print(f"ground truth of planted defects  {result.ground_truth}")
    if national:
        sizes = ", ".join(f"{code}: {n:,}" for code, n in national.sizes.items())
        print(f"{len(deliveries)} municipalities ({sizes} citizens); "
              f"{national.movers:,} citizens moved between two of them")  # fmt: skip
    return 0


LINE_NOTE = (
    "source_row counts data records from 1 in file order; line is the CSV file line the record "
    "starts on (the header is line 1), null for Parquet"
)
KEY_NOTE = (
    "key is the row's contract key (parts joined with |); null where the key is personal: "
    "the citizens' key is the CPR number, so find those rows by file and line"
)
TEXT_ROWS = 50  # findings listed in the text output; --json lists all


def validate(delivery: Path, database: str = ":memory:") -> dict:
    """Check a delivery against the contract; return every problem, safe to print.

    The result holds no CPR number and no field value of a row: findings name entity, file,
    row, line, key (withheld for citizens, whose key is the CPR number), column and reason.
    `outcome` is clean, rows_break_rules, refused or usage_error, with its `exit_code`.
    """
    import duckdb

    from orchestration.ingest.contract_checks import read_and_check, reportable_findings
    from orchestration.ingest.delivery import (
        DeliveryRefused,
        read_manifest,
        record_lines,
        unlisted_files,
    )

    result: dict = {"delivery": str(delivery), "delivery_id": None, "outcome": None,
                    "exit_code": None, "file_problems": [], "warnings": [], "rows_read": {},
                    "rows_with_findings": {}, "summary": [], "findings": [],
                    "notes": {"line": LINE_NOTE, "key": KEY_NOTE}}  # fmt: skip

    def outcome(name: str, code: int) -> dict:
        return result | {"outcome": name, "exit_code": code}

    if not delivery.exists():
        return outcome("usage_error", 2) | {"error": f"{delivery} does not exist"}
    if not delivery.is_dir():
        return outcome("usage_error", 2) | {
            "error": f"{delivery} is a file, not a delivery folder: pass the folder that holds "
            "manifest.json and the entity files"
        }
    try:
        manifest = read_manifest(delivery)
    except DeliveryRefused as refusal:
        return outcome("refused", 2) | {"file_problems": refusal.problems}
    result["delivery_id"] = manifest.delivery_id
    for name in unlisted_files(delivery, manifest):
        result["warnings"].append({"reason": "unlisted_file", "file": name,
                                   "detail": "in the folder but not listed in the manifest; "
                                             "the ingest does not read it"})  # fmt: skip
    if delivery.name != manifest.delivery_id:
        result["warnings"].append({"reason": "delivery_id_mismatch", "file": "manifest.json",
                                   "detail": f"folder {delivery.name!r} holds delivery_id "
                                             f"{manifest.delivery_id!r}"})  # fmt: skip
    con = duckdb.connect(database)
    try:
        try:
            read = read_and_check(con, delivery, manifest)
        except DeliveryRefused as refusal:
            return outcome("refused", 2) | {"file_problems": refusal.problems}
        rows, checked = read.rows_read, read.checked
        by_reason = con.execute(
            "select entity, column_name, reason, count(*) from raw.findings "
            "group by all order by all"
        ).fetchall()
        findings = reportable_findings(con)
    finally:
        con.close()
    by_file: dict[str, list[dict]] = {}
    for f in findings:
        by_file.setdefault(f["entity"], []).append(f)
    for entity, listed in by_file.items():
        spec = manifest.spec(entity)
        lines = record_lines(delivery, spec, (f["source_row"] for f in listed))
        for f in listed:
            f["line"] = lines.get(f["source_row"])
    result |= {
        "rows_read": rows,
        "rows_with_findings": checked.quarantined_rows,
        "summary": [{"entity": e, "column": c, "reason": r, "rows": n} for e, c, r, n in by_reason],
        "findings": [
            {k: f[k] for k in ("entity", "file", "source_row", "line", "key", "column", "reason")}
            for f in findings
        ],
    }
    result["warnings"] += [
        {"reason": r, "file": manifest.spec(e).file, "entity": e, "column": c, "rows": n,
         "detail": f"{n:,} rows; reported only, the rows still load"}
        for (e, c, r), n in checked.warnings.items()
        if n
    ]  # fmt: skip
    return outcome("rows_break_rules", 1) if findings else outcome("clean", 0)


def cmd_validate(args: argparse.Namespace) -> int:
    result = validate(args.delivery)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
    if result["outcome"] == "usage_error":
        print(f"effekt validate: {result['error']}", file=sys.stderr)
    elif result["outcome"] == "refused":
        problems = result["file_problems"]
        print(f"REFUSED  {result['delivery_id'] or args.delivery}: {len(problems)} file "
              f"problem{'s' if len(problems) > 1 else ''}, nothing of it would load", file=sys.stderr)  # fmt: skip
        for p in problems:
            print(f"  {p['file']}: {p['detail']} [{p['reason']}]", file=sys.stderr)
        if not args.json:
            _print_warnings(result)
    elif not args.json:
        _print_summary(result, args.limit)
    return result["exit_code"]


def _print_summary(result: dict, limit: int = TEXT_ROWS) -> None:
    total = sum(result["rows_read"].values())
    bad = sum(result["rows_with_findings"].values())
    print(f"delivery {result['delivery_id']}: {total:,} rows read, {bad:,} break the contract")
    if result["summary"]:
        print(f"  {'entity':<18} {'column':<24} {'reason':<34} {'rows':>8}")
    for s in result["summary"]:
        print(f"  {s['entity']:<18} {s['column']:<24} {s['reason']:<34} {s['rows']:>8,}")
    findings = result["findings"]
    if findings:
        print("rows (file:line with the header as line 1, or file#record for Parquet):")
        print(f"  {'where':<28} {'column':<24} {'reason':<34} key")
    shown = findings if limit <= 0 else findings[:limit]
    for f in shown:
        where = f"{f['file']}:{f['line']}" if f["line"] else f"{f['file']}#{f['source_row']}"
        key = f["key"] if f["key"] is not None else "(not shown: CPR number)"
        print(f"  {where:<28} {f['column']:<24} {f['reason']:<34} {key}")
    if len(shown) < len(findings):
        print(f"  ... {len(findings) - len(shown):,} more; --limit 0 or --json lists them all")
    _print_warnings(result)


def _print_warnings(result: dict) -> None:
    for w in result["warnings"]:
        where = f"{w['file']}" + (f" {w['column']}" if w.get("column") else "")
        print(f"  warning: {where}: {w['detail']} [{w['reason']}]")


def _settings(args: argparse.Namespace) -> Settings:
    """The environment's settings, with --data-dir in place of EFFEKT_DATA_DIR."""
    return Settings.from_env(data_dir=getattr(args, "data_dir", None))


def cmd_run(args: argparse.Namespace) -> int:
    settings = _settings(args)
    require_data_dir(settings)  # before Dagster is even imported
    from orchestration.ingest.pseudonyms import MissingPseudonymKey
    from orchestration.pipeline import run_pipeline

    try:
        refresh = run_pipeline(settings, rebuild=args.rebuild, verbose=args.verbose)
    except MissingPseudonymKey as e:
        print(f"effekt: {e}", file=sys.stderr)
        return 1
    _print_outputs(settings, refresh)
    return _report_failures(refresh)


def _report_failures(refresh) -> int:
    """Exit 1 when any run failed, naming each on stderr; the details are in `effekt status`."""
    for run in refresh.failed:
        alert = run.alert or {}
        print(
            f"effekt: run {run.run_id[:8]} failed in {alert.get('failed_step')}: "
            f"{alert.get('reason')} (`effekt status` says what to do next; traces are in "
            "logs/pipeline.log, or run with --verbose)",
            file=sys.stderr,
        )
    return 1 if refresh.failed else 0


def _print_outputs(settings: Settings, refresh) -> None:
    loaded = ", ".join(d for r in refresh.runs for d in r.deliveries_loaded) or "none new"
    quarantined = sum(r.rows_quarantined for r in refresh.runs)
    built = any(r.warehouse_built for r in refresh.runs)
    print(f"\nDeliveries loaded: {loaded}; rows quarantined: {quarantined:,}")
    print(f"Raw layer (restricted, holds CPR numbers): {settings.raw_database}")
    print(f"  archive of accepted deliveries:         {settings.archive_dir}")
    print(f"  refused deliveries with refusal.json:   {settings.quarantine_dir}")
    state = "built" if built else "unchanged: nothing new to build"
    print(f"Warehouse (pseudonymised, staging on):     {settings.warehouse} ({state})")
    print("  marts: marts.dim_*/fct_*; indicators: indicators.ind_*, as published: open.ind_*")
    current = settings.published_current
    if refresh.published_version:
        print(f"Published version {refresh.published_version} (gate passed).")
    if current.exists():
        print(f"Published for BI tools (read-only):       {current / 'indicators.duckdb'}")
        print(f"  restricted marts, Parquet, manifest:    {current}/")
        print(f"  what each table and column holds:       {current / 'docs' / 'index.html'}")
        print(_postgres_line(settings, current))
    reports = settings.reports_dir / "index.html"
    if reports.exists():
        print(f"Validation reports (newest first):        {reports}")
    print("Run history and failed checks:            effekt status")


def _postgres_line(settings: Settings, current: Path) -> str:
    """Where the published version is in PostgreSQL, or that no PostgreSQL target is set."""
    manifest = json.loads((current.resolve() / "manifest.json").read_text(encoding="utf-8"))
    target = (manifest.get("targets") or {}).get("postgresql")
    if not target and (settings.postgres_dsn or settings.postgres_dsn_file):
        return ("PostgreSQL target: set, but the published version is not in it (published "
                "before the target was set, or its publish there failed: effekt status)")  # fmt: skip
    if not target:
        return ("PostgreSQL target: not configured (EFFEKT_POSTGRES_DSN_FILE; docs/bi.md), "
                "published to the files only")  # fmt: skip
    where = f"{target['host']}:{target['port']}/{target['dbname']}"
    schemas, roles = target["schemas"], target["roles"]
    return (
        f"Published to PostgreSQL {where}: {schemas['open']} (role {roles['open']}), "
        f"{schemas['restricted']} (role {roles['restricted']}), version {target['version']}"
    )


def _quarter(text: str):
    from orchestration.reporting import Quarter

    try:
        return Quarter.parse(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def cmd_backfill(args: argparse.Namespace) -> int:
    from orchestration.pipeline import run_backfill
    from orchestration.reporting import Quarter, fact_sheet_dir

    settings = _settings(args)
    require_data_dir(settings)
    print(f"Quarterly reporting for {args.first.label} to {args.last.label}, one run per quarter:")
    runs = run_backfill(settings, args.first, args.last)
    failed = [r for r in runs if not r.success]
    for r in failed:
        print(f"effekt: {r.quarter} failed: {r.error}", file=sys.stderr)
    done = len(runs) - len(failed)
    print(f"{done} of {len(runs)} quarters reported under {settings.reporting_dir}")
    if done:
        last = next(r for r in reversed(runs) if r.success)
        print(
            f"Barometer for {last.quarter}: {fact_sheet_dir(settings, Quarter.parse(last.quarter)) / 'index.html'}"
        )
    return 1 if failed else 0


def cmd_status(args: argparse.Namespace) -> int:
    from orchestration.status import collect_status, format_status

    settings = _settings(args)
    require_data_dir(settings)
    status = collect_status(settings, runs=args.runs)
    print(json.dumps(status, indent=2) if args.json else format_status(status))
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    """`dagster dev` on this checkout's workspace, with the data folder's own instance."""
    from orchestration.instance import ensure_dagster_home

    settings = _settings(args)
    require_data_dir(settings)
    home = ensure_dagster_home(settings)
    env = settings.process_environment() | {"DAGSTER_HOME": str(home)}
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    beside = Path(sys.executable).with_name("dagster")  # the venv's, even when not activated
    command = [str(beside) if beside.exists() else "dagster", "dev", "-w", str(workspace),
               "-p", str(args.port)]  # fmt: skip
    print(f"Dagster UI on http://localhost:{args.port} (instance {home}); Ctrl-C stops it.")
    os.execvpe(command[0], command, env)
    return 0  # not reached


def cmd_demo(args: argparse.Namespace) -> int:
    from orchestration.generate import GeneratorConfig, generate_delivery
    from orchestration.ingest.pseudonyms import create_demo_key
    from orchestration.pipeline import run_backfill, run_pipeline
    from orchestration.reporting import Quarter, fact_sheet_dir

    settings = _settings(args)
    if not (settings.pseudonym_key or settings.pseudonym_key_file):
        # Kept in the data folder, where later commands on the same folder find it.
        key_file = settings.demo_key_file
        if create_demo_key(key_file):
            print(
                f"Created a demo pseudonymisation key at {key_file} (readable by you only). "
                "For real data, set EFFEKT_PSEUDONYM_KEY_FILE to your own key."
            )
    print(f"Generating {DEMO_CITIZENS:,} fictitious citizens, {DEMO_START} to {DEMO_END} ...")
    result = generate_delivery(
        GeneratorConfig(
            citizens=DEMO_CITIZENS,
            start=DEMO_START,
            end=DEMO_END,
            seed=2017,
            out=settings.landing_dir,
            defects=DEMO_DEFECTS,
            costs=True,  # contract 1.1's cost files: the fact sheets' economy section
            progress=not args.quiet,
        )
    )
    print(f"Sample delivery (Windows-1252 CSV, as case systems export it): {result.path}")
    print(f"  with {DEMO_DEFECTS:.1%} planted defects, listed in {result.ground_truth}")
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    refresh = run_pipeline(settings)
    if refresh.failed:
        return _report_failures(refresh)
    quarter = Quarter.of(DEMO_END)
    print(f"Quarterly reporting for {quarter.label}: snapshot, fact sheets, barometer ...")
    [report] = run_backfill(settings, quarter, quarter)
    if not report.success:
        print(f"effekt: {report.error}", file=sys.stderr)
        return 1
    _print_outputs(settings, refresh)
    print(
        f"Fact sheets and barometer for {quarter.label}:  {fact_sheet_dir(settings, quarter) / 'index.html'}"
    )
    return 0


def cmd_accept(args: argparse.Namespace) -> int:
    """Record that an operator checked a delivery's drop and it is real; the gate then lets it by."""
    from orchestration.locking import writer_lock
    from orchestration.quality.acceptance import AcceptanceError, accept, acceptances_file

    settings = _settings(args)
    try:
        with writer_lock(settings, print):
            record = accept(
                settings, args.delivery, args.by, args.reason, units=args.unit, all_units=args.all
            )
    except AcceptanceError as e:
        print(f"effekt: {e}", file=sys.stderr)
        return 2
    print(
        f"Accepted the drop of delivery {record['delivery_id']} against delivery "
        f"{record['baseline_delivery_id']} ({record['baseline_source']}), by {record['accepted_by']} "
        f"at {record['accepted_at']}:"
    )
    for unit in record["units"]:
        print(
            f"  {unit['org_unit_id']:<16} goals at {unit['goals_ratio']:.0%}, "
            f"follow-ups at {unit['followups_ratio']:.0%} of the baseline"
        )
    print(f"Recorded in {acceptances_file(settings)}; the next publication's manifest carries it.")
    if record["reopened"]:
        print(f"The next `effekt run` gates delivery {record['reopened']} again.")
    else:
        print("The next run that builds this delivery applies it (`effekt run`).")
    return 0


class _Lazy:
    """Choices looked up when an argument is checked, not when the parser is built."""

    def __init__(self, load) -> None:
        self.load = load

    def __contains__(self, value) -> bool:
        return value in self.load()

    def __iter__(self):
        return iter(self.load())


def _file_defects() -> list[str]:
    from orchestration.generate.defects import FILE_DEFECTS

    return list(FILE_DEFECTS)


def _dialects() -> list[str]:
    from orchestration.generate.writer import DIALECTS

    return list(DIALECTS)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="effekt", description="Effect-management pipeline for municipal social services."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    g = sub.add_parser("generate", help="write a synthetic case-system delivery")
    g.add_argument("--citizens", type=int, required=True)
    g.add_argument("--start", type=_date, required=True, help="first day simulated (ISO date)")
    g.add_argument("--end", type=_date, required=True, help="last day simulated (ISO date)")
    g.add_argument("--seed", type=int, required=True)
    g.add_argument("--format", choices=("csv", "parquet"), default="csv")
    g.add_argument(
        "--out", type=Path, required=True, help="landing folder; one sub-folder per delivery"
    )
    g.add_argument("--defects", type=_rate, default=0.0, help="share of rows to make defective")
    g.add_argument("--file-defect", action="append", metavar="KIND", choices=_Lazy(_file_defects),
                   help="damage a whole file (repeatable); the delivery must then be refused")  # fmt: skip
    g.add_argument("--dialect", choices=_Lazy(_dialects), metavar="DIALECT", default="excel-dk",
                   help="CSV dialect: excel-dk, utf8-bom or utf8")  # fmt: skip
    g.add_argument("--extract-at", type=_date, help="snapshot day (default: --end)")
    g.add_argument("--costs", action="store_true",
                   help="add the cost files of contract 1.1: grants, payments and budgets")  # fmt: skip
    national = g.add_mutually_exclusive_group()
    national.add_argument("--municipalities", type=_codes, metavar="CODES",
                          help="one delivery per municipality (kommunekoder, e.g. 101,751,461, "
                               "the first the largest); --citizens is then their total")  # fmt: skip
    national.add_argument("--national", type=int, metavar="N",
                          help="as --municipalities, for N municipalities: København and N-1 "
                               "drawn by the seed")  # fmt: skip
    g.add_argument("--movers", type=float, metavar="SHARE",
                   help="share of the citizens who moved between two of the municipalities, "
                        "with the same CPR number in both (default 0.01)")  # fmt: skip
    g.add_argument("--quiet", action="store_true", help="no progress bar")
    g.set_defaults(func=cmd_generate)

    v = sub.add_parser(
        "validate",
        help="check a delivery folder against the extract contract; exit 0 clean, "
        "1 rows break rules, 2 refused or usage error",
    )
    v.add_argument("delivery", type=Path, help="the delivery folder (holds manifest.json)")
    v.add_argument("--json", action="store_true",
                   help="print the whole result, every finding, as JSON on stdout")  # fmt: skip
    v.add_argument("--limit", type=int, default=TEXT_ROWS,
                   help=f"rows to list in the text output (default {TEXT_ROWS}; 0: all)")  # fmt: skip
    v.set_defaults(func=cmd_validate)

    r = sub.add_parser("run", help="the daily refresh: ingest, build, gate and publish")
    r.add_argument(
        "--data-dir", type=Path, default=None, help="default: $EFFEKT_DATA_DIR or ./data"
    )
    r.add_argument("--rebuild", action="store_true",
                   help="build every warehouse table again from the history, gate and publish the "
                        "current state, even if nothing new landed")  # fmt: skip
    r.add_argument("--verbose", action="store_true",
                   help="print Dagster's own log lines, stack traces included")  # fmt: skip
    r.set_defaults(func=cmd_run)

    b = sub.add_parser("backfill", help="run quarterly reporting for a range of past quarters")
    b.add_argument("--from", dest="first", type=_quarter, required=True, help="e.g. 2016Q1")
    b.add_argument("--to", dest="last", type=_quarter, required=True, help="e.g. 2019Q2")
    b.add_argument(
        "--data-dir", type=Path, default=None, help="default: $EFFEKT_DATA_DIR or ./data"
    )
    b.set_defaults(func=cmd_backfill)

    st = sub.add_parser("status", help="last runs, published version, failed checks, alerts")
    st.add_argument(
        "--data-dir", type=Path, default=None, help="default: $EFFEKT_DATA_DIR or ./data"
    )
    st.add_argument("--runs", type=int, default=5, help="how many recent runs to list")
    st.add_argument("--json", action="store_true", help="print the status as JSON")
    st.set_defaults(func=cmd_status)

    u = sub.add_parser("ui", help="start the Dagster UI (dagster dev) on this data folder")
    u.add_argument(
        "--data-dir", type=Path, default=None, help="default: $EFFEKT_DATA_DIR or ./data"
    )
    u.add_argument("--port", type=int, default=3000)
    u.set_defaults(func=cmd_ui)

    a = sub.add_parser("accept", help="accept a checked drop so the gate lets the delivery publish")
    a.add_argument("--delivery", required=True, help="the blocked delivery's id")
    a.add_argument("--by", required=True, help="who checked the drop")
    a.add_argument("--reason", required=True, help="why the drop is real, e.g. the unit closed")
    units = a.add_mutually_exclusive_group(required=True)
    units.add_argument("--unit", action="append", metavar="ORG_UNIT_ID",
                       help="a unit whose drop was checked (repeatable)")  # fmt: skip
    units.add_argument("--all", action="store_true", help="accept every unit's drop shown")
    a.add_argument(
        "--data-dir", type=Path, default=None, help="default: $EFFEKT_DATA_DIR or ./data"
    )
    a.set_defaults(func=cmd_accept)

    d = sub.add_parser("demo", help="generate sample extracts and run the pipeline on them")
    d.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as e:
        print(f"effekt: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
