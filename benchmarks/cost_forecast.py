"""The spending forecast's back-test error (two quarters ahead), written to docs/indicators.md.

    python benchmarks/cost_forecast.py [--citizens 2000] [--seed 11]

Generates a delivery with contract 1.1's cost files, ingests and builds it, and reads
marts.fct_cost_forecasts: for every quarter's end whose two quarters after it the payments reach, the two
forecasts against the spending that followed. Reports the mean absolute percentage error per
method and level, over every origin and over the origins from the third simulated year on (the
first two are the simulation filling up with citizens, which no forecast from current activity
can foresee).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.report import replace_section  # noqa: E402

DOC = ROOT / "docs" / "indicators.md"
BEGIN, END = "<!-- BEGIN cost_forecast -->", "<!-- END cost_forecast -->"
METHODS = {"error_by_grants_pct": "active grants", "error_by_run_rate_pct": "run-rate"}


def backtest(warehouse: Path, steady_from: dt.date) -> list[dict]:
    """Per level, method and span of origins: origins and units compared, and the mean absolute
    percentage error (the provider role; the authority's is the same money)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        rows = []
        for column, method in METHODS.items():
            for span, since in (
                ("all origins", dt.date(1900, 1, 1)),
                (f"from {steady_from}", steady_from),
            ):
                found = con.execute(
                    f"""select org_level, count(distinct origin_date), count(*),
                            avg(abs({column})), median(abs({column}))
                        from marts.fct_cost_forecasts
                        where org_role = 'provider' and {column} is not null and origin_date >= ?
                        group by org_level order by org_level""",
                    [since],
                ).fetchall()
                rows += [{"method": method, "span": span, "level": level, "origins": origins,
                          "cells": cells, "mape": mape, "median_ape": med}
                         for level, origins, cells, mape, med in found]  # fmt: skip
        return rows
    finally:
        con.close()


def markdown(rows: list[dict], citizens: int, seed: int) -> str:
    lines = [
        BEGIN,
        "",
        f"Measured {dt.date.today()} by `python benchmarks/cost_forecast.py --citizens {citizens} "
        f"--seed {seed}` on a generated delivery (2016-01-01 to 2019-06-30, with cost files): "
        "each forecast made at a quarter's end against the spending of the two quarters that "
        "followed, as `marts.fct_cost_forecasts` holds them (provider role). MAPE is the mean, "
        "and median APE the median, of |forecast - actual| / actual.",
        "",
        "| method | origins | level | origins | unit cells | MAPE | median APE |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['method']} | {r['span']} | {r['level']} | {r['origins']} | {r['cells']} "
                     f"| {r['mape']:.1f}% | {r['median_ape']:.1f}% |")  # fmt: skip
    pick = {(r["method"], r["level"]): r["mape"] for r in rows if r["span"] != "all origins"}
    if pick:
        lines += ["", (
            "From the third year on, the active grants' forecast misses the administration's next "
            f"two quarters by {pick.get(('active grants', 1), float('nan')):.1f}% on average "
            f"(run-rate {pick.get(('run-rate', 1), float('nan')):.1f}%), an operating area's by "
            f"{pick.get(('active grants', 2), float('nan')):.1f}% "
            f"({pick.get(('run-rate', 2), float('nan')):.1f}%) and a single unit's by "
            f"{pick.get(('active grants', 3), float('nan')):.1f}% "
            f"({pick.get(('run-rate', 3), float('nan')):.1f}%): good enough for a budget "
            "follow-up at area level, a rough guide for one unit, whose few citizens start and "
            "end interventions the forecast cannot foresee."
        )]  # fmt: skip
    lines += ["", END]
    return "\n".join(lines)


def main() -> int:
    from orchestration.generate import GeneratorConfig, generate_delivery
    from orchestration.ingest.load import ingest_delivery
    from orchestration.settings import Settings
    from orchestration.warehouse import BUILD_ARGS, run_dbt

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    key = b"benchmark-key-not-a-secret-0123456789"
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp) / "data")
        delivery = generate_delivery(GeneratorConfig(
            citizens=args.citizens, start=dt.date(2016, 1, 1), end=dt.date(2019, 6, 30),
            seed=args.seed, out=settings.landing_dir, costs=True, progress=False,
        ))  # fmt: skip
        ingest_delivery(settings, delivery.path, key)
        run_dbt(settings, BUILD_ARGS)
        rows = backtest(settings.warehouse, dt.date(2016, 1, 1))
    replace_section(markdown(rows, args.citizens, args.seed), BEGIN, END,
                    "Forecast back-test", doc=DOC)  # fmt: skip
    for r in rows:
        print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())
