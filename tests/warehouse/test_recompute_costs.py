"""The cost tables beyond the cell-by-cell comparison of test_recompute.py: the parts of
ind_cost_effect withheld about 1-4 citizens, the public budget figures of ind_budget, and the
pandas helpers on cases the generated data does not hold (docs/indicators.md, "Costs next to
effects (contract 1.1)")."""

import numpy as np
import pandas as pd
import pytest

from benchmarks import pandas_baseline as recompute
from tests.warehouse.conftest import MIN_CELL
from tests.warehouse.test_recompute import ABILITY_FIGURES, GOAL_FIGURES, few


@pytest.fixture(scope="module")
def staged(warehouse):
    return recompute.Staged(warehouse.query)


PARTS = {  # citizens: (figures, counts, share, unit cost, its divisor, the part's mark)
    "n_citizens_with_goals": (GOAL_FIGURES, ["n_citizens_with_goals", "n_goals", "n_goals_achieved"],
                              "avg_goal_attainment_pct", "spending_per_achieved_goal_dkk",
                              "n_goals_achieved", "goals_suppression"),
    "n_citizens_assessed": (ABILITY_FIGURES, ["n_citizens_assessed", "n_citizens_improved"],
                            "pct_citizens_improved", "spending_per_improved_citizen_dkk",
                            "n_citizens_improved", "ability_suppression"),
}  # fmt: skip


@pytest.mark.parametrize("citizens", list(PARTS))
def test_cost_effect_withholds_goal_and_ability_figures_about_1_to_4_citizens(
    warehouse, staged, citizens
):
    """In a published cell, the goal (ability) figures are null, and marked primary, exactly
    when the citizens with followed-up goals (with a comparison) are 1 to 4; with none, the
    counts are 0 and the averages and unit costs null; with 5 or more, all are shown but those
    dividing by zero. A withheld cell withholds and marks its parts too."""
    figures, counts, share, unit_cost, divisor, mark = PARTS[citizens]
    published = warehouse.table("indicators.ind_cost_effect")
    expected = recompute.compute("ind_cost_effect", staged)
    keys = recompute.keys("ind_cost_effect")
    expected = expected.rename(columns={c: f"{c}_expected" for c in expected if c not in keys})
    merged = published.merge(expected, on=keys, validate="1:1")
    assert len(merged) == len(published) == len(expected)
    hidden = merged[merged["is_suppressed"]]
    assert len(hidden) and hidden[figures].isna().all().all() and (hidden[mark] == "primary").all()
    shown = merged[~merged["is_suppressed"]]
    n = shown[f"{citizens}_expected"]
    withheld = shown[few(n)]
    assert len(withheld) > 10, "no published cell has 1-4 such citizens: the rule is untested"
    assert withheld[figures].isna().all().all()
    assert ((shown[mark] == "primary") == few(n)).all()
    none = shown[n == 0]
    assert len(none) and (none[counts] == 0).all().all()
    assert none[[share, unit_cost]].isna().all().all()
    enough = shown[n >= MIN_CELL]
    assert len(enough) > 100 and enough[counts].notna().all().all()
    # The share (an average or a percentage) is shown whenever its citizens are; the cost per
    # achieved goal or improved citizen whenever one was.
    assert enough[share].notna().all()
    assert (enough[unit_cost].notna() == (enough[f"{divisor}_expected"] > 0)).all()


def test_cost_effect_compensating_interventions_show_no_goal_figures(warehouse):
    published = warehouse.table("indicators.ind_cost_effect")
    compensating = published[
        (published["breakdown"] == "compensating") & ~published["is_suppressed"]
    ]
    assert len(compensating) > 50
    assert (compensating["n_goals"].fillna(0) == 0).all()  # no goals counted
    assert (
        compensating[["avg_goal_attainment_pct", "spending_per_achieved_goal_dkk"]]
        .isna()
        .all()
        .all()
    )


def test_budgets_are_public_and_a_complete_year_is_expected_to_end_as_spent(warehouse, staged):
    published = warehouse.table("indicators.ind_budget")
    expected = recompute.compute("ind_budget", staged)
    merged = published.merge(
        expected, on=recompute.keys("ind_budget"), suffixes=("", "_expected"), validate="1:1"
    )
    assert len(merged) == len(published) == len(expected)
    # A suppressed row still shows its budget, equal to the recomputation.
    hidden = merged[merged["is_suppressed"] & merged["budget_dkk_expected"].notna()]
    assert len(hidden) > 0
    for column in ("budget_dkk", "adopted_budget_dkk"):
        assert np.allclose(hidden[column], hidden[f"{column}_expected"], atol=0.01, rtol=0)
    assert hidden[["n_citizens", "spent_to_date_dkk", "expected_by_grants_dkk"]].isna().all().all()
    # Spending on a function without a budget line has a row with no budget.
    unbudgeted = merged[merged["budget_dkk_expected"].isna()]
    assert len(unbudgeted) and unbudgeted["budget_dkk"].isna().all()
    # One booked_through per year, the day the booked payments reach (at most the extract).
    reach = min(staged.extract, staged.payments["period_to"].max())
    years = merged.groupby("budget_year")["booked_through"].agg(["nunique", "max"])
    assert (years["nunique"] == 1).all()
    assert pd.to_datetime(years["max"]).max() == reach
    complete = merged[merged["year_complete"] & ~merged["is_suppressed"]]
    running = merged[~merged["year_complete"] & ~merged["is_suppressed"]]
    assert len(complete) > 50 and len(running) > 20
    for column in ("expected_by_grants_dkk", "expected_by_run_rate_dkk"):
        assert np.allclose(complete[column], complete["spent_to_date_dkk"], atol=0.01, rtol=0)
    # In the running year the grants still to pay add to what was spent.
    assert (running["expected_by_grants_dkk"] > running["spent_to_date_dkk"]).any()


def test_daily_rates_spending_shares_and_intervention_days_by_the_definitions():
    """The baseline's own rules on cases tier S does not hold: a month rate, overlapping
    payments for one intervention (a day is one intervention-day however often it is paid)."""
    grants = pd.DataFrame({"rate_unit": ["day", "week", "month", "hour"],
                           "rate_dkk": [700.0, 7000.0, 30437.5, 350.0],
                           "hours_per_week": [np.nan, np.nan, np.nan, 10.0]})  # fmt: skip
    assert recompute.daily_rate(grants).tolist() == pytest.approx([700, 1000, 1000, 500])
    day = pd.Timestamp
    payments = pd.DataFrame({
        "intervention_id": [1, 1, 2],
        "period_from": [day("2019-03-20"), day("2019-03-25"), day("2019-01-01")],
        "period_to": [day("2019-04-10"), day("2019-03-31"), day("2019-01-31")],
        "amount_dkk": [2200.0, 700.0, 3100.0],
    })  # fmt: skip
    payments["covered"] = (payments["period_to"] - payments["period_from"]).dt.days + 1
    q1 = recompute.pro_rata(payments, day("2019-01-01"), day("2019-03-31"))
    assert q1["spending"].tolist() == pytest.approx([1200, 700, 3100])  # 12 of 22 days, ...
    days = recompute.distinct_days(q1, ["intervention_id"])
    assert days.to_dict() == {1: 12, 2: 31}
    # A year's share is its quarters' shares summed, each rounded: 1.09 + 97.83 + 1.09 over
    # 31 December 2018 to 1 April 2019, so 2019 holds 98.92, not 91 days' share rounded once.
    spanning = pd.DataFrame({"payment_id": [1], "period_from": [day("2018-12-31")],
                             "period_to": [day("2019-04-01")], "amount_dkk": [100.0],
                             "covered": [92]})  # fmt: skip
    year = recompute.period_shares(spanning, day("2019-01-01"), day("2019-12-31"))
    assert year["spending"].tolist() == pytest.approx([98.92])
    assert recompute.pro_rata(spanning, day("2019-01-01"), day("2019-12-31"))[
        "spending"
    ].tolist() == pytest.approx([98.91])
