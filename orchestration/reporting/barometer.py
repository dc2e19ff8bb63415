"""The barometer's rules: which figures it judges, and traffic lights against the targets.

The targets (targets.yaml beside this module, or a copy the operator points the pipeline at)
say what is green and amber per measure, and how many citizens a unit needs for a sheet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import yaml

from orchestration.reporting.formatting import fmt, withheld
from orchestration.reporting.published import Published, Subject, rolling_label
from orchestration.reporting.sections import Cell

TARGETS_FILE = Path(__file__).with_name("targets.yaml")
MEASURES = (
    "goal_attainment_pct",
    "improved_pct",
    "followups_on_time_pct",
    "goals_without_followup_pct",
)
COSTS = ("cost_per_citizen_dkk", "cost_per_intervention_day_dkk")  # beside, without targets
LIGHTS = {"green": "#2e7d32", "amber": "#f9a825", "red": "#c62828", "grey": "#bdbdbd"}


def load_targets(path: Path | None = None) -> dict:
    """The barometer's targets: the settings' file (EFFEKT_BAROMETER_TARGETS), else the packaged one."""
    return yaml.safe_load(Path(path or TARGETS_FILE).read_text(encoding="utf-8"))


def light(value, target: dict) -> str:
    if value is None or pd.isna(value):
        return "grey"
    better = (lambda a, b: a <= b) if target.get("lower_is_better") else (lambda a, b: a >= b)
    if better(value, target["green"]):
        return "green"
    return "amber" if better(value, target["amber"]) else "red"


def barometer_measures(published: Published, subject: Subject) -> dict[str, float | None]:
    """The figures the barometer judges, for the last four quarters."""
    year = rolling_label(published.quarter)

    def one(table, column, role=None, **where):
        rows = published.rows(table, subject, role=role, period_label=year, **where)
        if rows.empty or rows.iloc[0].is_suppressed:
            return None
        return float(rows.iloc[0][column])

    return {
        "goal_attainment_pct": one("ind_goal_attainment", "avg_goal_attainment_pct", life_theme="all", sub_theme="all"),
        "improved_pct": one("ind_functional_ability", "pct_improved", instrument_family="VUM", theme="all")
        if not published.rows("ind_functional_ability", subject, period_label=year, instrument_family="VUM", theme="all").empty
        else one("ind_functional_ability", "pct_improved", instrument_family="DIALOG", theme="all"),
        "followups_on_time_pct": one("ind_key_figures", "value", role="authority" if subject.kind != "unit" else None,
                                     figure="share_followups_on_time", breakdown="all"),
        "goals_without_followup_pct": one("ind_data_quality", "pct_goals_without_due_followup"),
    }  # fmt: skip


@dataclass(frozen=True)
class Light:
    """A measure's cell: the figure on its traffic light."""

    key: str
    colour: str  # green, amber, red or grey
    text: str

    @property
    def background(self) -> str:
        return LIGHTS[self.colour]


@dataclass(frozen=True)
class BarometerRow:
    """A unit's line: its lights, its costs beside them, and whether it has a sheet to link."""

    subject: Subject
    has_sheet: bool
    lights: list[Light]
    costs: list[Cell]


def barometer_rows(published: Published, sheets: list[Subject], too_few: list[Subject],
                   targets: dict, lang: str) -> list[BarometerRow]:  # fmt: skip
    """Every unit with a sheet, then those with too few citizens for one (grey, no costs)."""
    out = []
    for subject in [*sheets, *too_few]:
        has_sheet = subject in sheets
        values = barometer_measures(published, subject) if has_sheet else dict.fromkeys(MEASURES)
        lights = [
            Light(
                f"{subject.org_unit_id}|{subject.org_role}|{m}",
                light(values[m], targets[m]),
                fmt(values[m], lang, pct=True) if values[m] is not None else "\u2013",
            )
            for m in MEASURES
        ]
        row = published.rows("ind_costs", subject, period_label=rolling_label(published.quarter),
                             breakdown_by="all")  # fmt: skip
        r = row.iloc[0] if has_sheet and len(row) else None
        costs = [
            Cell(f"{subject.org_unit_id}|{subject.org_role}|{m}",
                 "\u2013" if r is None else fmt(r[m], lang, suppressed=withheld(r)),
                 suppression=withheld(r))
            for m in COSTS
        ]  # fmt: skip
        out.append(BarometerRow(subject, has_sheet, lights, costs))
    return out
