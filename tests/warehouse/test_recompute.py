"""The published indicator tables agree with an independent pandas recomputation to 0.01."""

import numpy as np
import pandas as pd
import pytest

from benchmarks import pandas_baseline as recompute
from tests.warehouse.conftest import MIN_CELL

TABLES = recompute.COMPARED
# ind_cost_effect's goal and ability parts are about fewer citizens than the cell's: each is
# withheld too when its own citizens are 1 to 4 (docs/indicators.md, "Suppression").
GOAL_FIGURES = ["n_citizens_with_goals", "n_goals", "n_goals_achieved", "avg_goal_attainment_pct",
                "spending_per_achieved_goal_dkk"]  # fmt: skip
ABILITY_FIGURES = ["n_citizens_assessed", "n_citizens_improved", "pct_citizens_improved",
                   "spending_per_improved_citizen_dkk"]  # fmt: skip


def few(citizens: pd.Series) -> pd.Series:
    return citizens.between(1, MIN_CELL - 1)


def as_published(table: str, expected: pd.DataFrame) -> pd.DataFrame:
    """The recomputation with the parts a published cell withholds besides its primary rule."""
    if table != "ind_cost_effect":
        return expected
    goals, ability = few(expected["n_citizens_with_goals"]), few(expected["n_citizens_assessed"])
    out = expected.copy()
    out.loc[goals, GOAL_FIGURES] = np.nan
    out.loc[ability, ABILITY_FIGURES] = np.nan
    return out


@pytest.fixture(scope="module")
def staged(warehouse):
    return recompute.Staged(warehouse.query)


@pytest.mark.parametrize("table", list(TABLES))
def test_every_published_cell_equals_the_independent_recomputation(warehouse, staged, table):
    _, _, measures = TABLES[table]
    keys = recompute.keys(table)
    published = warehouse.table(f"indicators.{table}")
    expected = as_published(table, recompute.compute(table, staged))
    assert len(published) > 100
    found = recompute.disagreements(table, published, expected)
    assert not found, {k: v.head(10).to_string(float_format="{:.4f}".format)
                       for k, v in found.items()}  # fmt: skip
    merged = published.merge(expected, on=keys, how="outer", suffixes=("", "_expected"))
    # Primary suppression: a cell about fewer than the threshold's citizens is never published.
    small = merged[merged["n_citizens_expected"] < MIN_CELL]
    if table == "ind_budget":  # a budget line nobody was paid on is about no citizen: shown
        assert not small[small["n_citizens_expected"] == 0]["is_suppressed"].any()
        small = small[small["n_citizens_expected"] > 0]
    assert small["is_suppressed"].all()
    assert (~merged["is_suppressed"]).sum() > 50
    # Suppressed cells show no figure (but the public ones: a budget, the year it is for).
    hidden = merged[merged["is_suppressed"]]
    shown = ("unit", "data_break", *recompute.SHOWN_WHEN_SUPPRESSED.get(table, []))
    numeric = [m for m in measures if m not in shown]
    assert hidden[numeric].isna().all().all()


def test_vum_all_pools_the_seven_themes_on_both_sides_of_the_break(warehouse, staged, monkeypatch):
    """Every period, unit and role: VUM's `all` is the recomputation without the overall
    judgement. Pooling the judgement, as VUM2008 periods once did, would change cells: the test
    data can tell the two rules apart, and only in periods that began before the break."""
    published = warehouse.table("indicators.ind_functional_ability")

    def vum_all(df: pd.DataFrame) -> pd.DataFrame:
        return df[(df["instrument_family"] == "VUM") & (df["theme"] == "all")]

    shown = vum_all(published)
    assert set(shown["org_role"]) == {"authority", "provider"}
    expected = vum_all(recompute.compute("ind_functional_ability", staged))
    assert not recompute.disagreements("ind_functional_ability", shown, expected)
    # The judgement has its own row, only where VUM2008 was in use.
    overall = published[published["theme"] == "overall"]
    assert len(overall) and (pd.to_datetime(overall["period_start"]) < "2017-05-15").all()

    monkeypatch.setattr(recompute, "JUDGEMENTS", set())
    pooled = vum_all(recompute.compute("ind_functional_ability", staged))
    found = recompute.disagreements("ind_functional_ability", shown, pooled)
    assert "one_side_only" not in found
    shares = [found[m] for m in ("pct_improved", "pct_unchanged", "pct_worsened") if m in found]
    assert shares, "pooling the judgement changes no published VUM `all` share"
    labels = set(pd.concat(shares)["period_label"])
    starts = published[published["period_label"].isin(labels)]["period_start"]
    assert (pd.to_datetime(starts) < "2017-05-15").all()


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
    """For every published total and its partition into siblings, one suppressed sibling beside
    published ones would reveal it: no group of the open tables under a published total has
    a primary cell as its only suppressed one. (A secondary cell may be worked out: it is about
    enough citizens, and hides nothing alone. A plain check of the simplest attack, apart from
    the disclosure audit.)"""
    period = ["period_type", "period_label", "org_role"]
    # (siblings, the columns a sibling shares with its total, the total's own values)
    categories = {
        "ind_goal_attainment": [
            (lambda d: (d["life_theme"] != "all") & (d["sub_theme"] != "all"), ["life_theme"],
             {"sub_theme": "all"}),
            (lambda d: (d["life_theme"] != "all") & (d["sub_theme"] == "all"), [],
             {"life_theme": "all", "sub_theme": "all"}),
        ],
        "ind_goal_type_achievement": [(lambda d: d["goal_type"] != "all", [], {"goal_type": "all"})],
        "ind_key_figures": [(lambda d: d["breakdown"] != "all", ["figure"], {"breakdown": "all"})],
    }  # fmt: skip
    org_dims = {
        "ind_goal_attainment": ["life_theme", "sub_theme"],
        "ind_goal_type_achievement": ["goal_type"],
        "ind_functional_ability": ["instrument_family", "theme"],
        "ind_key_figures": ["figure", "breakdown"],
        "ind_data_quality": [],
    }
    # Only what adds up: a citizen's theme comparison has one authority, but can count for
    # several providers, and themes pool into 'all' citizen by citizen; medians and shares do
    # not add.
    adds_up = {
        "ind_functional_ability": lambda d: (d["org_role"] == "authority") & (d["theme"] != "all"),
        "ind_key_figures": lambda d: d["unit"].isin(["cases", "interventions", "goals"]),
    }
    checked = 0
    for table, dims in org_dims.items():
        df = warehouse.table(f"open.{table}")
        if table in adds_up:
            df = df[adds_up[table](df)]
        for mask, shared, total_values in categories.get(table, []):
            by = [*period, "org_unit_id", *shared]
            totals = df[(df[list(total_values)] == pd.Series(total_values)).all(axis=1)]
            checked += _lone_under_published_totals(df[mask(df)], totals, by, by, table)
        by = [*period, "parent_org_unit_id", *dims]
        total_keys = [*period, "org_unit_id", *dims]
        checked += _lone_under_published_totals(df[df["org_level"] > 1], df, by, total_keys, table)
        assert df["is_suppressed"].any() and not df["is_suppressed"].all()
    assert checked > 100


def _lone_under_published_totals(siblings, totals, by, total_keys, table) -> int:
    siblings = siblings.assign(primary=siblings["suppression"].eq("primary"))
    groups = (
        siblings.groupby(by, dropna=False)
        .agg(
            sum=("is_suppressed", "sum"), size=("is_suppressed", "size"), primary=("primary", "sum")
        )
        .reset_index()
    )
    published = totals[~totals["is_suppressed"]][total_keys].drop_duplicates()
    published.columns = by
    under = groups.merge(published, on=by)
    lone = under[(under["sum"] == 1) & (under["primary"] == 1) & (under["size"] > 1)]
    assert lone.empty, f"{table} by {by}: {len(lone)} groups reveal a suppressed cell"
    return len(under)


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


def test_goals_owe_follow_ups_in_every_quarter_once_a_follow_up_interval_has_passed(warehouse):
    """A quarter (90-92 days) is about as long as the follow-up interval (91 days): goals owe
    follow-ups in every quarter, not only in those long enough to hold a whole interval."""
    dq = warehouse.table("indicators.ind_data_quality")
    top = dq[(dq["period_type"] == "quarter") & (dq["org_level"] == 1) & ~dq["is_suppressed"]]
    for role, quarters in top.sort_values("period_start").groupby("org_role"):
        later = quarters.iloc[2:]  # goals set in the first quarter owe from the second on
        assert len(later) >= 4 and (later["goals_due_followup"] > 0).all(), role
        assert (later["goals_without_due_followup"] <= later["goals_due_followup"]).all()
    assert (top["goals_without_due_followup"] > 0).any()
