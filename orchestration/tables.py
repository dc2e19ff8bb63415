"""The published tables, listed once: publishing, disclosure control, the quarterly reports and
the tests derive their lists from these.

The open tables are the indicators as disclosure control leaves them (warehouse schema `open`,
the published `indicators.duckdb`); the restricted marts are pseudonymised rows for analysts with
access (`marts.duckdb`). The code lists (schema `codes`) are published beside the open tables.
"""

# Effect indicators: goal attainment, functional ability, key figures, data quality.
EFFECT_TABLES = (
    "ind_goal_attainment",
    "ind_goal_type_achievement",
    "ind_functional_ability",
    "ind_key_figures",
    "ind_data_quality",
)
# Cost indicators (extract contract 1.1): empty when the delivery holds no cost data.
COST_TABLES = ("ind_costs", "ind_cost_effect", "ind_cost_forecast", "ind_budget")
# Municipalities compared by indirect standardisation (issue 22): per municipality, not unit.
COMPARISON_TABLES = ("ind_case_mix",)
OPEN_TABLES = EFFECT_TABLES + COST_TABLES + COMPARISON_TABLES
RESTRICTED_MARTS = (
    "dim_org_unit", "dim_citizen", "dim_period", "fct_goals", "fct_goal_followups",
    "fct_assessment_scores", "fct_functional_ability_change", "fct_citizen_period_outcomes",
    "fct_payments", "fct_budgets", "fct_cost_forecasts",
)  # fmt: skip
