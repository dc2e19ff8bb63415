# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Validation report for your operating area
#
# For quality coordinators. Opens the newest quality-gate report, keeps your operating area's
# part, and shows what to correct in the case system: every row the ingest quarantined and every
# row a check failed on, by unit and reason, with their keys and the line in the delivered file.
# Records carry identifiers only: no CPR number, no free text.
#
# Set `AREA` below (or the environment variable `EFFEKT_AREA`) to your operating area, e.g.
# `adult_disability`; `EFFEKT_DATA_DIR` points at the pipeline's data folder (default `../data`).

# %%
import json
import os
from pathlib import Path

import duckdb
import pandas as pd
import plotly.express as px
from IPython.display import display

DATA_DIR = Path(os.environ.get("EFFEKT_DATA_DIR", "../data"))
AREA = os.environ.get("EFFEKT_AREA", "")  # empty: the area with most failing rows

# %% [markdown]
# ## The newest gate run

# %%
reports = DATA_DIR / "reports"
runs = sorted(
    (p for p in reports.iterdir() if p.is_dir() and any(p.glob("gate-*.json"))),
    key=lambda p: p.stat().st_mtime,
)
if not runs:
    raise SystemExit(f"No gate has run yet under {reports}: run `effekt run` first.")
latest = runs[-1]
gates = {p.stem: json.loads(p.read_text()) for p in sorted(latest.glob("gate-*.json"))}
summary = pd.DataFrame(
    [
        {"gate": name, "passed": g["passed"], "errors": g["errors"], "warnings": g["warnings"]}
        for name, g in gates.items()
    ]
)
print(f"Run {latest.name}")
summary

# %% [markdown]
# ## Your operating area

# %%
area_files = {p.stem: p for p in sorted((latest / "areas").glob("*.csv"))}
records = {name: pd.read_csv(path) for name, path in area_files.items()}
if not AREA:
    AREA = max(records, key=lambda name: len(records[name])) if records else ""
print(f"Operating areas with a report: {', '.join(area_files)}; showing {AREA!r}")
failing = records.get(AREA, pd.DataFrame())
print(f"HTML version for colleagues: {latest / 'areas' / (AREA + '.html')}")

# %% [markdown]
# ### What to correct, by reason: quarantined rows and failed checks

# %%
if failing.empty:
    print(f"Nothing to correct for {AREA}: no row quarantined, every check passed for its units.")
    reasons = pd.DataFrame(columns=["kind", "reason", "reason_en", "instruction_en", "rows"])
else:
    reasons = (
        failing.groupby(["kind", "reason", "reason_en", "instruction_en"], as_index=False)
        .agg(rows=("entity", "size"))
        .sort_values("rows", ascending=False)
    )
reasons

# %% [markdown]
# ### Rows to correct by unit

# %%
if not failing.empty:
    placed = failing.assign(org_unit_name=failing["org_unit_name"].fillna("(unplaced)"))
    by_unit = placed.groupby(["org_unit_name", "kind"], as_index=False).size()
    fig = px.bar(
        by_unit,
        x="size",
        y="org_unit_name",
        color="kind",
        orientation="h",
        labels={"size": "rows to correct", "org_unit_name": "unit"},
    )
    fig.show()
    placed[
        [
            "org_unit_name",
            "kind",
            "entity",
            "key_columns",
            "row_key",
            "source_file",
            "source_line",
            "reason_en",
            "instruction_en",
            "delivery_id",
        ]
    ].head(50)

# %% [markdown]
# ## Rows the ingest quarantined, per unit (published data-quality indicator)

# %%
published = DATA_DIR / "published" / "current" / "indicators.duckdb"
if published.exists():
    con = duckdb.connect(str(published), read_only=True)
    quality = con.execute(
        """
        select period_label, org_role, org_unit_name, rows_loaded, rows_quarantined,
               pct_rows_quarantined, pct_goals_without_due_followup, is_suppressed
        from main.ind_data_quality
        where period_type = 'rolling_4q' and org_level = 3
          and period_end = (select max(period_end) from main.ind_data_quality
                            where period_type = 'rolling_4q')
        order by pct_rows_quarantined desc nulls last
        """
    ).df()
    con.close()
    fig = px.bar(
        quality,
        x="pct_rows_quarantined",
        y="org_unit_name",
        color="org_role",
        orientation="h",
        title="Rows quarantined, last four quarters (%)",
    )
    fig.show()
    display(quality)
else:
    print("Nothing is published yet.")
