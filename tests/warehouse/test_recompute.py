"""The published indicator tables agree with an independent pandas recomputation to 0.01."""

import numpy as np
import pandas as pd
import pytest

from tests.warehouse import recompute
from tests.warehouse.conftest import MIN_CELL

TABLES = {
    "ind_goal_attainment": (
        recompute.goal_attainment, ["life_theme", "sub_theme"],
        ["n_citizens", "n_goals", "avg_goal_attainment_pct", "avg_gas_t_score"],
    ),
    "ind_goal_type_achievement": (
        recompute.goal_type_achievement, ["goal_type"],
        ["n_goals", "n_achieved", "pct_achieved", "pct_not_achieved", "n_citizens"],
    ),
    "ind_functional_ability": (
        recompute.functional_ability, ["instrument_family", "theme"],
        ["n_citizens", "pct_improved", "pct_unchanged", "pct_worsened", "data_break"],
    ),
    "ind_key_figures": (
        recompute.key_figures, ["figure", "breakdown"], ["value", "unit", "n_citizens"],
    ),
    "ind_data_quality": (
        recompute.data_quality, [],
        ["rows_loaded", "rows_quarantined", "pct_rows_quarantined", "goals_due_followup",
         "goals_without_due_followup", "pct_goals_without_due_followup", "n_citizens"],
    ),
}  # fmt: skip


@pytest.fixture(scope="module")
def staged(warehouse):
    return recompute.Staged(warehouse.query)


@pytest.mark.parametrize("table", list(TABLES))
def test_every_published_cell_equals_the_independent_recomputation(warehouse, staged, table):
    compute, dims, measures = TABLES[table]
    keys = recompute.CELL + dims
    published = warehouse.table(f"indicators.{table}")
    expected = compute(staged)
    assert len(published) > 100
    merged = published.merge(
        expected, on=keys, how="outer", suffixes=("", "_expected"), indicator=True
    )
    missing = merged[merged["_merge"] != "both"]
    assert missing.empty, f"cells only on one side:\n{missing[[*keys, '_merge']].head(10)}"
    # Primary suppression: a cell about fewer than the threshold's citizens is never published.
    small = merged[merged["n_citizens_expected"] < MIN_CELL]
    assert small["is_suppressed"].all()
    shown = merged[~merged["is_suppressed"]]
    assert len(shown) > 50
    for m in measures:
        got, want = shown[m], shown[f"{m}_expected"]
        if not pd.api.types.is_numeric_dtype(got) or pd.api.types.is_bool_dtype(got):
            assert (got.astype(str) == want.astype(str)).all(), m
            continue
        diff = (got.astype(float) - want.astype(float)).abs()
        both_null = got.isna() & want.isna()
        bad = shown[~both_null & ~(diff <= 0.01)]
        assert bad.empty, f"{m} differs:\n{bad[[*keys, m, m + '_expected']].head(10)}"
    # Suppressed cells show no figure.
    hidden = merged[merged["is_suppressed"]]
    numeric = [m for m in measures if m not in ("unit", "data_break")]
    assert hidden[numeric].isna().all().all()


def test_a_level_2_row_aggregates_citizens_not_unit_averages(warehouse, staged):
    """The operating area's attainment is the mean over its citizens, which differs from the
    mean of its units' averages; the published row equals the former."""
    published = warehouse.table("indicators.ind_goal_attainment")
    cells = published[(published["life_theme"] == "all") & ~published["is_suppressed"]]
    level2 = cells[(cells["org_level"] == 2) & (cells["period_type"] == "year")]
    units = staged.org_units.set_index("org_unit_id")["parent_org_unit_id"]
    latest = recompute.latest_followups(staged, recompute.periods(staged))
    checked = differs = 0
    for _, row in level2.iterrows():
        role_column = f"{row['org_role']}_org_unit_id"
        goals = latest[(latest["period_label"] == row["period_label"])
                       & (latest["period_type"] == "year")
                       & (latest[role_column].map(units) == row["org_unit_id"])]  # fmt: skip
        shares = goals.groupby("citizen_key")["achieved"].mean()
        assert row["avg_goal_attainment_pct"] == pytest.approx(100 * shares.mean(), abs=0.01)
        per_unit = (
            goals.groupby([role_column, "citizen_key"])["achieved"].mean().groupby(level=0).mean()
        )
        differs += not np.isclose(100 * per_unit.mean(), row["avg_goal_attainment_pct"], atol=0.01)
        checked += 1
    assert checked >= 6 and differs >= 1


def test_no_suppressed_count_can_be_recovered_from_siblings_and_total(warehouse):
    """For every published total and its partition into published siblings, at most one
    sibling missing would reveal it: no group has exactly one suppressed sibling."""
    units = warehouse.table("marts.dim_org_unit").set_index("org_unit_id")["parent_org_unit_id"]
    groups = {
        "ind_goal_attainment": [
            (["life_theme"], lambda d: (d["life_theme"] != "all") & (d["sub_theme"] != "all")),
            ([], lambda d: (d["life_theme"] != "all") & (d["sub_theme"] == "all")),
        ],
        "ind_goal_type_achievement": [([], lambda d: d["goal_type"] != "all")],
        "ind_key_figures": [(["figure"], lambda d: d["breakdown"] != "all")],
    }
    org_dims = {
        "ind_goal_attainment": ["life_theme", "sub_theme"],
        "ind_goal_type_achievement": ["goal_type"],
        "ind_functional_ability": ["instrument_family", "theme"],
        "ind_key_figures": ["figure", "breakdown"],
        "ind_data_quality": [],
    }
    period = ["period_type", "period_label", "org_role"]
    for table, dims in org_dims.items():
        df = warehouse.table(f"indicators.{table}")
        df["parent"] = df["org_unit_id"].map(units)
        checks = [([*period, "org_unit_id", *extra], mask) for extra, mask in groups.get(table, [])]
        checks.append(([*period, "parent", *dims], lambda d: d["org_level"] > 1))
        for by, mask in checks:
            siblings = df[mask(df)]
            suppressed = siblings.groupby(by)["is_suppressed"].agg(["sum", "size"])
            lone = suppressed[(suppressed["sum"] == 1) & (suppressed["size"] > 1)]
            assert lone.empty, f"{table} by {by}: {len(lone)} groups reveal a suppressed cell"
        assert df["is_suppressed"].any() and not df["is_suppressed"].all()


def test_fact_tables_hold_no_personal_columns(warehouse):
    columns = warehouse.query(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('staging', 'intermediate', 'marts', 'indicators')"
    )
    personal = {"cpr", "first_name", "last_name", "note", "comment", "description"}
    assert not set(columns["column_name"]) & personal
    indicator_columns = set(columns[columns["table_schema"] == "indicators"]["column_name"])
    assert "citizen_key" not in indicator_columns


def test_periods_match_pandas(warehouse, staged):
    published = warehouse.table("marts.dim_period")
    expected = recompute.periods(staged)
    assert sorted(published["period_label"]) == sorted(expected["period_label"])
    merged = published.merge(expected, on=["period_type", "period_label"])
    assert (pd.to_datetime(merged["period_start"]) == merged["start"]).all()
    assert (merged["spans_data_break"] == merged["spans_break"]).all()
