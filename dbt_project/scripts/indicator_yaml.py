"""Write models/indicators/_indicators.yml: the indicator tables' contract, one source of truth.

The period and organisation columns are the same on every indicator table; dbt's YAML cannot
share a list of columns, so this script writes them out. Run it after changing a table's
columns: `python dbt_project/scripts/indicator_yaml.py`; a test fails while the file is stale.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

OUT = Path(__file__).resolve().parents[1] / "models" / "indicators" / "_indicators.yml"

PERIOD = [
    ("period_type", "varchar", "quarter, rolling_4q or year."),
    ("period_label", "varchar", "2018Q4, 2018Q1-2018Q4 or 2018."),
    ("period_start", "date", "First day of the period."),
    ("period_end", "date", "Last day of the period."),
    (
        "period_complete",
        "boolean",
        "False when the period ends after the extract (a running quarter, rolling window or year): its figures cover only the days up to the extract.",
    ),
]
ORG = [
    (
        "org_role",
        "varchar",
        "authority (the unit owning the case) or provider (the unit delivering the intervention).",
    ),
    (
        "org_level",
        "integer",
        "1 administration, 2 operating area, 3 unit; a level covers every unit below it.",
    ),
    ("org_unit_id", "varchar", "The unit."),
    ("org_unit_name", "varchar", "The unit's name."),
    (
        "parent_org_unit_id",
        "varchar",
        "The unit one level up (null for the administration): a level-2 cell covers its level-3 units.",
    ),
]
SUPPRESSED = (
    "is_suppressed",
    "boolean",
    "True when the cell's figures are withheld (null); suppression says why.",
)
SUPPRESSION = (
    "suppression",
    "varchar",
    "primary: the cell is about fewer than var('min_cell_citizens') citizens. secondary (published tables only): the cell is withheld so that no primary cell can be worked out from the published ones (docs/disclosure-control.md). Null when published.",
)

TABLES = {
    "ind_goal_attainment": (
        "Average goal attainment and GAS T-score per life theme and sub-theme: per citizen the share of their goals followed up in the period that were achieved (latest follow-up GAS >= 0), then the mean over citizens. Totals have life_theme and/or sub_theme 'all'.",
        [
            ("life_theme", "varchar", "Life theme code, or 'all'."),
            ("sub_theme", "varchar", "Sub-theme code, or 'all'."),
            (
                "n_citizens",
                "bigint",
                "Distinct citizens with a followed-up goal in the cell (the seeds' 'N unik cpr').",
            ),
            ("n_goals", "bigint", "Goals with a follow-up in the period."),
            (
                "avg_goal_attainment_pct",
                "double",
                "Mean over citizens of their share of goals achieved, times 100.",
            ),
            (
                "avg_gas_t_score",
                "double",
                "Mean over citizens of their GAS T-score (50 = goals met as expected).",
            ),
            SUPPRESSED,
            SUPPRESSION,
            (
                "data_break",
                "boolean",
                "True when the period spans the 2017 change of case system and instrument.",
            ),
        ],
    ),
    "ind_goal_type_achievement": (
        "Achieved against not-achieved goals by goal type, from each goal's latest follow-up in the period. goal_type 'all' is the total.",
        [
            ("goal_type", "varchar", "progression, maintenance, regression or 'all'."),
            ("n_goals", "bigint", "Goals with a follow-up in the period."),
            ("n_achieved", "bigint", "Of those, achieved (GAS >= 0)."),
            ("pct_achieved", "double", "100 * n_achieved / n_goals."),
            ("pct_not_achieved", "double", "100 - pct_achieved."),
            ("n_citizens", "bigint", "Distinct citizens behind the goals."),
            SUPPRESSED,
            SUPPRESSION,
        ],
    ),
    "ind_functional_ability": (
        "Change in functional ability: per citizen and theme, the latest assessment in the period against the previous one of the same instrument family and theme. Shares are of citizen-theme comparisons. Theme 'all' pools the family's themes (code list assessment_themes, kind 'theme'): VUM's seven and DIALOG's five, the same on both sides of the 2017 break. VUM2008's overall assessment (theme 'overall', kind 'judgement') is a judgement, not a theme: it has its own row, in periods with VUM2008 comparisons only, and is not pooled into 'all'.",
        [
            ("instrument_family", "varchar", "VUM (adults) or DIALOG (children and youth)."),
            (
                "theme",
                "varchar",
                "Theme code of the family ('overall' is VUM2008's overall judgement), or 'all' (the family's themes, the judgement not among them).",
            ),
            ("n_citizens", "bigint", "Distinct citizens with a comparison in the cell."),
            (
                "pct_improved",
                "double",
                "Share of comparisons where the support need fell by at least one scale step.",
            ),
            ("pct_unchanged", "double", "Share of comparisons within one scale step."),
            (
                "pct_worsened",
                "double",
                "Share of comparisons where the support need rose by at least one scale step.",
            ),
            SUPPRESSED,
            SUPPRESSION,
            (
                "data_break",
                "boolean",
                "True when the period spans the 2017 instrument change or a comparison crosses it (VUM2008 to VUM2).",
            ),
        ],
    ),
    "ind_key_figures": (
        "Key figures (nøgletal) per period and unit. Case figures count for the authority; intervention and follow-up figures for both roles.",
        [
            (
                "figure",
                "varchar",
                "active_cases, new_cases, closed_cases, cases_per_caseworker, active_interventions, median_intervention_days, share_interventions_with_goals, share_followups_on_time or overdue_followups.",
            ),
            ("breakdown", "varchar", "A legal basis for active_interventions, else 'all'."),
            ("value", "double", "The figure."),
            (
                "unit",
                "varchar",
                "What the value counts: cases, interventions, days, percent, goals or cases_per_caseworker.",
            ),
            ("n_citizens", "bigint", "Distinct citizens behind the figure."),
            SUPPRESSED,
            SUPPRESSION,
        ],
    ),
    "ind_data_quality": (
        "Where data is thin, per unit and period: the share of the current delivery's rows that the ingest quarantined, and the share of goals owing follow-ups in the period that fell overdue in it.",
        [
            (
                "rows_loaded",
                "bigint",
                "Rows of the current delivery dated in the period and attributed to the unit (cases, interventions, assessments with their scores, goals, follow-ups).",
            ),
            (
                "rows_quarantined",
                "bigint",
                "Rows of the current delivery the ingest quarantined, placed at the unit by int_quarantined_rows (the rule of the coordinators' reports) and dated by their own or their parent's date, else the extract day. Unplaced rows (citizens, org units, orphan references) count for no unit.",
            ),
            (
                "pct_rows_quarantined",
                "double",
                "100 * rows_quarantined / (rows_loaded + rows_quarantined).",
            ),
            (
                "goals_due_followup",
                "bigint",
                "Goals that owed follow-ups in the period; they ran in it and had run for at least one follow-up interval by its end (by the extract, for a running period).",
            ),
            (
                "goals_without_due_followup",
                "bigint",
                "Of those, goals overdue at some day of the period; more than the interval plus the grace (by default 91 + 14 days) after their setting or latest follow-up, while they still ran.",
            ),
            (
                "pct_goals_without_due_followup",
                "double",
                "100 * goals_without_due_followup / goals_due_followup.",
            ),
            (
                "n_citizens",
                "bigint",
                "Distinct citizens behind the unit's loaded cases and goals in the period.",
            ),
            SUPPRESSED,
            SUPPRESSION,
        ],
    ),
    "ind_costs": (
        "Spending per period and unit (contract 1.1's payments, counted for the days they pay for, pro rata by day): for the provider of the intervention and the authority of its case, in all and by target group, intervention type, legal basis and kontoplan function, with the unit prices cost per citizen and per intervention-day. Empty when the delivery holds no cost data.",
        [
            (
                "breakdown_by",
                "varchar",
                "all, target_group, intervention_type, legal_basis or function: what the breakdown column holds.",
            ),
            (
                "breakdown",
                "varchar",
                "The target group, intervention type, legal basis or function (code lists); 'all' for breakdown_by all.",
            ),
            ("n_citizens", "bigint", "Distinct citizens with spending in the cell."),
            (
                "spending_dkk",
                "double",
                "The payments' amounts for the days of the period they cover (an amount times the days in the period over the days it covers), in DKK.",
            ),
            ("cost_per_citizen_dkk", "double", "spending_dkk / n_citizens."),
            (
                "intervention_days",
                "bigint",
                "Days of the period the payments cover, per intervention (a day paid twice counts once; two interventions of one citizen on one day: two days), summed over interventions; by function, the days of the intervention's payments on it.",
            ),
            (
                "cost_per_intervention_day_dkk",
                "double",
                "spending_dkk / intervention_days: the unit price per day of an intervention.",
            ),
            SUPPRESSED,
            SUPPRESSION,
        ],
    ),
    "ind_cost_effect": (
        "Cost next to effect per period and unit: for the interventions with spending in the period (ind_costs), what they cost per citizen, per achieved goal and per citizen whose functional ability improved, beside their goals' average attainment; in all and by target group and intervention type. Empty when the delivery holds no cost data.",
        [
            ("breakdown_by", "varchar", "all, target_group or intervention_type."),
            (
                "breakdown",
                "varchar",
                "The target group or intervention type; 'all' for breakdown_by all.",
            ),
            ("n_citizens", "bigint", "Distinct citizens with spending in the cell."),
            (
                "spending_dkk",
                "double",
                "Their interventions' spending in the period (as ind_costs).",
            ),
            ("cost_per_citizen_dkk", "double", "spending_dkk / n_citizens."),
            (
                "n_citizens_with_goals",
                "bigint",
                "Citizens of the cell with a goal of its interventions followed up in the period: whom the goal figures are about. The five goal figures are withheld (null) too when these are 1 to 4 (goals_suppression).",
            ),
            (
                "n_goals",
                "bigint",
                "Goals of the cell's interventions with a follow-up dated in the period (the latest counts).",
            ),
            (
                "n_goals_achieved",
                "bigint",
                "Those whose latest follow-up in the period has GAS >= 0.",
            ),
            (
                "avg_goal_attainment_pct",
                "double",
                "Per citizen with such goals the share achieved, then the mean over citizens, times 100; null without goals followed up.",
            ),
            (
                "spending_per_achieved_goal_dkk",
                "double",
                "spending_dkk / n_goals_achieved; null when no goal was achieved.",
            ),
            (
                "n_citizens_assessed",
                "bigint",
                "Citizens of the cell with a functional-ability comparison in the period (their latest per instrument family and theme, the themes `all` pools): whom the ability figures are about. The four ability figures are withheld (null) too when these are 1 to 4 (ability_suppression).",
            ),
            (
                "n_citizens_improved",
                "bigint",
                "Those of them with more themes improved than worsened (ind_functional_ability's rule per theme).",
            ),
            ("pct_citizens_improved", "double", "100 * n_citizens_improved / n_citizens_assessed."),
            (
                "spending_per_improved_citizen_dkk",
                "double",
                "spending_dkk / n_citizens_improved: what the cell spent per citizen whose functional ability improved; null when none did.",
            ),
            SUPPRESSED,
            SUPPRESSION,
            (
                "goals_suppression",
                "varchar",
                "Why the goal figures (n_citizens_with_goals to spending_per_achieved_goal_dkk) are withheld: primary when the cell is, or when its citizens with goals are 1 to 4; secondary (published tables only) when withheld to protect another cell, or with the cell. Null when shown.",
            ),
            (
                "ability_suppression",
                "varchar",
                "The same for the ability figures (n_citizens_assessed to spending_per_improved_citizen_dkk) and their citizens assessed.",
            ),
        ],
    ),
    "ind_cost_forecast": (
        "The spending forecast for the two quarters after each quarter, by the grants in force on its last day (the origin), per unit and role: the open part of marts.fct_cost_forecasts. The period is the origin's quarter. The run-rate forecast is that quarter's spending in ind_costs times the horizon's days over the quarter's, and the actual is ind_costs' spending of the two quarters: not repeated here. Quarters the payments do not reach the end of have no forecast. Empty when the delivery holds no cost data.",
        [
            ("horizon_start", "date", "The first day forecast: the day after the origin quarter."),
            (
                "horizon_end",
                "date",
                "The last day forecast: the end of the second quarter after the origin.",
            ),
            (
                "n_citizens",
                "bigint",
                "Distinct citizens with a grant in force on the origin day (a unit with spending but no grant in force counts 0 and is withheld).",
            ),
            (
                "forecast_by_grants_dkk",
                "double",
                "Every grant in force on the origin day at its daily rate (a week or month rate over its days, an hour rate times the weekly hours over 7) for the horizon's days, each rounded to øre: grants that end or begin in the horizon are not foreseen.",
            ),
            SUPPRESSED,
            SUPPRESSION,
        ],
    ),
    "ind_budget": (
        "Budget follow-up per budget year, unit and kontoplan function: the budget in force on the extract day beside what was spent up to the day the payments reach, the consumption, and the expected year-end result by the active grants and by the run-rate, with the deviations from the budget. Budgets of level-3 units roll up to their operating area and the administration. Empty when the delivery holds no cost data.",
        [
            ("function", "varchar", "The kontoplan function (code list functions), or 'all'."),
            (
                "budget_dkk",
                "double",
                "The budget in force on the extract day (the latest revision on or before it), summed over target groups; null for spending on a function the unit has no budget line for. Shown in suppressed cells too: budgets are public.",
            ),
            ("adopted_budget_dkk", "double", "The budget as first adopted."),
            (
                "n_citizens",
                "bigint",
                "Distinct citizens with spending on the line in the year. A line with none is about no citizen and is not suppressed.",
            ),
            (
                "spent_to_date_dkk",
                "double",
                "The payments for the days of the year (pro rata by day) for the unit in its role and the function: ind_costs' spending for the year and function. The delivery's payments reach booked_through.",
            ),
            ("consumption_pct", "double", "100 * spent_to_date_dkk / budget_dkk (may exceed 100)."),
            (
                "expected_by_grants_dkk",
                "double",
                "Year-end result by the grants: spent_to_date_dkk plus every grant's daily rate (an hour rate times the weekly hours over 7; a week or month rate over its days) for its days from booked_through to the year's end; a running grant runs to the year's end.",
            ),
            (
                "expected_by_run_rate_dkk",
                "double",
                "Year-end result by the run-rate: spent_to_date_dkk times the year's days over the days booked; null before the year's first booked day.",
            ),
            (
                "deviation_by_grants_dkk",
                "double",
                "budget_dkk - expected_by_grants_dkk: positive is under budget.",
            ),
            ("deviation_by_run_rate_dkk", "double", "budget_dkk - expected_by_run_rate_dkk."),
            SUPPRESSED,
            SUPPRESSION,
        ],
        [
            ("budget_year", "integer", "The budget year."),
            ("year_start", "date", "Its first day."),
            ("year_end", "date", "Its last day."),
            (
                "booked_through",
                "date",
                "The last day of the year the delivery's payments reach (the latest day any payment booked by the extract covers, at most the extract day); null before the year's first.",
            ),
            ("year_complete", "boolean", "True when the payments reach the year's end."),
        ],
    ),
    "ind_case_mix": (
        "Fair comparison of municipalities by indirect standardisation (docs/comparison.md): per period, municipality and indicator, the cases observed against those expected had the municipality's own case mix the national rates (strata: target group, age group, and goal type or instrument), with Byar's interval of the ratio at 95% and 99.8%. goals_achieved: goals followed up in the period whose latest follow-up is GAS >= 0; ability_improved: a citizen's theme assessed in the period that improved on the assessment before (VUM2008's overall judgement left out). Municipality '000' is the nation (with one municipality, its figures are the municipality's). A withheld row shows none of its figures; the nation's cases and observed are the sum of the municipalities', and goals_achieved's citizens, cases and observed are ind_goal_type_achievement's provider citizens, goals and achieved goals of the municipality's administration (level 1) or the nation (docs/disclosure-control.md).",
        [
            ("n_citizens", "bigint", "Distinct citizens behind the cases."),
            (
                "n_cases",
                "bigint",
                "Goals followed up (goals_achieved) or themes assessed against an earlier assessment (ability_improved).",
            ),
            ("observed", "bigint", "Of those, goals achieved or themes improved."),
            (
                "expected",
                "double",
                "The sum over the municipality's cases of their stratum's national rate (stratum: target group x age group under 18, 18-64, 65+ at the period's end x goal type or instrument).",
            ),
            (
                "ratio",
                "double",
                "observed / expected: above 1 more than the case mix leads one to expect.",
            ),
            ("crude_pct", "double", "100 * observed / n_cases, unadjusted."),
            (
                "adjusted_pct",
                "double",
                "ratio times the national crude percentage: the municipality's rate on the nation's case mix, in the indirect sense.",
            ),
            (
                "lower_95",
                "double",
                "Lower end of the ratio's 95% interval (Byar's approximation to the exact Poisson interval).",
            ),
            ("upper_95", "double", "Upper end of the ratio's 95% interval."),
            ("lower_998", "double", "Lower end of the ratio's 99.8% interval."),
            ("upper_998", "double", "Upper end of the ratio's 99.8% interval."),
            SUPPRESSED,
            SUPPRESSION,
        ],
        [
            *PERIOD,
            (
                "data_break",
                "boolean",
                "True when the period spans the 2017 change from VUM2008 to VUM2.",
            ),
            (
                "municipality_code",
                "varchar",
                "The municipality's three-digit code; '000' the nation; null for deliveries that name none.",
            ),
            ("indicator", "varchar", "goals_achieved or ability_improved."),
        ],
    ),
}

# Tables about municipalities, not units: no organisation columns.
WITHOUT_ORG = ("ind_case_mix",)
# Tables built but not published (orchestration/tables.py): their access is restricted.
NOT_PUBLISHED = ()


PERCENT_COLUMNS = ("pct", "avg_goal_attainment_pct", "avg_gas_t_score")
# Tables whose rows can be about no citizen and are then published (a budget nobody was paid on).
ABOUT_NO_CITIZEN_OK = ("ind_budget",)
# Figures a suppressed cell still shows: a budget is public and says nothing about a citizen.
SHOWN_WHEN_SUPPRESSED = ("budget_dkk", "adopted_budget_dkk")


def _tests(columns, none_ok: bool = False) -> list[dict]:
    # Primary suppression only: secondary suppression and its audit come after the build
    # (orchestration/disclosure), on every open table at once.
    measures = [
        c for c, t, _ in columns if t in ("bigint", "double") and c not in SHOWN_WHEN_SUPPRESSED
    ]
    arguments = {"measures": measures} | ({"none_ok": True} if none_ok else {})
    return [{"suppressed_cells_are_empty": {"arguments": arguments}}]


def _column(name: str, data_type: str, description: str) -> dict:
    column = {"name": name, "data_type": data_type, "description": description}
    if name.startswith(PERCENT_COLUMNS):
        column["data_tests"] = [{"between": {"arguments": {"min_value": 0, "max_value": 100}}}]
    return column


def render() -> str:
    models = []
    for name, (description, columns, *leading) in TABLES.items():
        models.append(
            {
                "name": name,
                "description": description,
                "config": {"meta": {"access": "restricted" if name in NOT_PUBLISHED else "open"}},
                "data_tests": _tests(columns, none_ok=name in ABOUT_NO_CITIZEN_OK),
                "columns": [
                    _column(c, t, d)
                    for c, t, d in (leading[0] if leading else PERIOD)
                    + ([] if name in WITHOUT_ORG else ORG)
                    + columns
                ],
            }
        )
    header = (
        "# Written by dbt_project/scripts/indicator_yaml.py; edit that script, not this file.\n"
    )
    return header + yaml.safe_dump(
        {"version": 2, "models": models}, sort_keys=False, width=100, allow_unicode=True
    )


if __name__ == "__main__":
    OUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUT}")
    sys.exit(0)
