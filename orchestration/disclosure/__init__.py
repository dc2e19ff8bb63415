"""Disclosure control over every open table at once (docs/disclosure-control.md).

dbt suppresses the primary cells (fewer than `min_cell_citizens` citizens) table by table. The
published cells obey linear relations across tables, hierarchies and roles, so a suppressed cell
could still be worked out from the published ones. After the build:

- `suppression` chooses secondary suppressions over all open tables together, by linear
  programming on the relations (HiGHS), and writes the open copies (warehouse schema `open`);
- `audit`, written separately and sharing no code with it, reads those copies as a BI user
  would, rebuilds the relations from what is published and computes, for every suppressed
  count, the range of values consistent with them. A primary cell whose range is narrower than
  the protection interval fails the gate, and nothing is published.

This module holds only the rules both apply: the threshold and the protection interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from orchestration.settings import DEFAULT_AMOUNT_PROTECTION_DKK, Settings
from orchestration.tables import OPEN_TABLES

__all__ = ["OPEN_SCHEMA", "OPEN_TABLES", "SUPPRESSION_STATE_SCHEMA", "DisclosureRules"]

DBT_PROJECT_FILE = Path(__file__).resolve().parents[2] / "dbt_project" / "dbt_project.yml"
OPEN_SCHEMA = "open"
# The warehouse schema where suppression keeps what it chose and from what, to reuse the
# choices of periods that did not change (suppression.py); a full rebuild drops it.
SUPPRESSION_STATE_SCHEMA = "disclosure"
# Figures a withheld cell still shows: a budget is public and says nothing about a citizen.
PUBLIC_FIGURES = ("budget_dkk", "adopted_budget_dkk")
# A primary cell's amount in DKK (spending, a budget line's spent and expected) may be derived
# no narrower than this, about a day of residential care. Measured at 2,000 citizens: 1,000 DKK
# withholds 13% of the cost cells as secondary, 5,000 DKK 39%, 25,000 DKK 69% (docs/
# disclosure-control.md); a width relative to the cell's own amount (the p% rule) needs the
# withheld amounts, which the open tables do not hold.
DEFAULT_AMOUNT_WIDTH_DKK = DEFAULT_AMOUNT_PROTECTION_DKK


@dataclass(frozen=True)
class DisclosureRules:
    """`threshold`: a cell about fewer citizens is primary. `protection_width`: the narrowest
    range (largest minus smallest value) a primary cell's count of goals, cases, rows ... may
    be derived to. `citizen_width`: the same for its citizens, which its label already puts
    below the threshold. `secondary`: off only to show the audit failing (a drill).
    `amount_width`: the narrowest range a primary cell's amount in DKK may be derived to."""

    threshold: int = 5
    protection_width: int = 5
    citizen_width: int = 1
    secondary: bool = True
    amount_width: float = DEFAULT_AMOUNT_WIDTH_DKK

    @classmethod
    def from_settings(cls, settings: Settings) -> DisclosureRules:
        """The dbt project's threshold with the settings' protection intervals."""
        threshold = int(_dbt_vars().get("min_cell_citizens", 5))
        width = settings.protection_width or threshold
        citizen_width = settings.citizen_protection_width
        if not 1 <= citizen_width <= threshold - 2:
            raise ValueError(
                f"EFFEKT_CITIZEN_PROTECTION_WIDTH must be from 1 to {threshold - 2}, not {citizen_width}"
            )
        return cls(
            threshold, width, citizen_width, settings.secondary_suppression,
            settings.amount_protection_dkk,
        )  # fmt: skip


def _dbt_vars() -> dict:
    return yaml.safe_load(DBT_PROJECT_FILE.read_text(encoding="utf-8")).get("vars", {})
