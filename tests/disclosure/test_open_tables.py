"""The open tables of the session warehouse: protected, and saying why a cell is withheld."""

import pandas as pd

from orchestration.disclosure import OPEN_TABLES, PUBLIC_FIGURES, DisclosureRules
from orchestration.disclosure.audit import audit


def test_the_audit_passes_the_open_tables_and_fails_the_primary_only_ones(warehouse):
    rules = DisclosureRules()
    opened = audit({t: warehouse.table(f"open.{t}") for t in OPEN_TABLES}, rules)
    assert opened.passed, [f.describe() for f in opened.findings[:5]]
    assert opened.checked_counts > 1000
    primary_only = audit({t: warehouse.table(f"indicators.{t}") for t in OPEN_TABLES}, rules)
    assert len(primary_only.findings) > 100
    assert {f.table for f in primary_only.findings} >= {
        "ind_goal_attainment", "ind_goal_type_achievement", "ind_key_figures"
    }  # fmt: skip


def test_each_withheld_cell_says_primary_or_secondary_and_shows_nothing(warehouse):
    for table in OPEN_TABLES:
        cells = warehouse.table(f"open.{table}")
        assert set(cells["suppression"].dropna()) <= {"primary", "secondary"}
        assert (cells["is_suppressed"] == cells["suppression"].notna()).all(), table
        measures = [c for c in cells.columns
                    if c not in ("org_level", "budget_year", *PUBLIC_FIGURES)
                    and cells[c].dtype.kind in "if"]  # fmt: skip
        withheld = cells[cells["is_suppressed"]]
        assert withheld[measures].isna().all().all(), table
        # Primary cells are those dbt withheld; secondary ones were published by dbt.
        built = warehouse.table(f"indicators.{table}")
        assert (cells["suppression"] == "primary").sum() == (
            built["suppression"] == "primary"
        ).sum()
    ga = warehouse.table("open.ind_goal_attainment")
    assert set(ga["suppression"].dropna()) == {"primary", "secondary"}


def test_a_period_that_ends_after_the_extract_is_marked_incomplete(warehouse):
    extract = warehouse.query("select extract_date from staging.stg_current_delivery")
    extract_date = extract.iloc[0, 0]
    for table in OPEN_TABLES:
        if table == "ind_budget":  # by budget year: complete when the payments reach its end
            years = warehouse.table(f"open.{table}")
            assert (years["year_complete"] == (years["booked_through"] >= years["year_end"])).all()
            continue
        periods = warehouse.table(f"open.{table}")[["period_end", "period_complete"]]
        periods = periods.drop_duplicates()
        expected = periods["period_end"] <= pd.Timestamp(extract_date)
        assert (periods["period_complete"] == expected).all(), table
        if table == "ind_cost_forecast":  # made at the end of quarters the payments reach
            assert periods["period_complete"].all()
            continue
        assert (~periods["period_complete"]).any() and periods["period_complete"].any(), table
