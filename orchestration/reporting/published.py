"""The published version a fact sheet is made from, and whom the sheets are about.

Read like any BI client reads it: `published/current/indicators.duckdb`, read-only, periods up
to the quarter reported.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd

from orchestration.contract import municipality_names
from orchestration.reporting import COST_TABLES, INDICATOR_TABLES, NothingToReport, Quarter
from orchestration.reporting.text import TEXT

CODE_TABLES = (
    "indicator_labels",
    "life_themes",
    "goal_types",
    "assessment_themes",
    "intervention_types",
)


# A unit id safe as it is in a file name and a relative link; any other gets a readable stem
# and a digest, so that '751:ORG-1' (several municipalities) links as a file, not a URL scheme.
SAFE_ID = re.compile(r"[A-Za-z0-9_.-]+")
NATIONAL_LEVEL = 0  # the nation above several municipalities' administrations


def file_stem(org_unit_id: str) -> str:
    if SAFE_ID.fullmatch(org_unit_id) and not org_unit_id.startswith("."):
        return org_unit_id
    readable = re.sub(r"[^A-Za-z0-9_.-]+", "-", org_unit_id).strip("-.")
    digest = hashlib.sha256(org_unit_id.encode("utf-8")).hexdigest()[:8]
    return f"{readable}-{digest}"


@dataclass(frozen=True)
class Subject:
    """Whom a fact sheet is about: the nation (several municipalities), a municipality's
    administration, an operating area, or one unit. `municipality` names the municipality when
    the version holds several, so that their administrations and units are told apart."""

    kind: str  # nation, administration, area or unit
    org_role: str
    org_level: int
    org_unit_id: str
    org_unit_name: str
    municipality: str | None = None

    @property
    def file_name(self) -> str:
        if self.kind == "nation":
            return "national.html"
        if self.kind == "administration" and self.municipality is None:
            return "administration.html"
        return f"{self.kind}-{file_stem(self.org_unit_id)}.html"

    def title(self, lang: str) -> str:
        t = TEXT[lang]
        if self.kind == "nation":
            return self.org_unit_name
        if self.kind == "administration":
            title = f"{self.org_unit_name}: {t['administration']}"
        elif self.kind == "area":
            title = f"{t['area']}: {self.org_unit_name}"
        else:
            title = f"{self.org_unit_name} ({t['unit_' + self.org_role]})"
        return f"{self.municipality} · {title}" if self.municipality else title


@dataclass
class Published:
    """The published indicator tables up to a quarter, and the code lists with labels."""

    tables: dict[str, pd.DataFrame]
    codes: dict[str, pd.DataFrame]
    manifest: dict
    quarter: Quarter

    @classmethod
    def load(cls, version: Path, quarter: Quarter) -> Published:
        con = duckdb.connect(str(version / "indicators.duckdb"), read_only=True)
        try:
            tables = {
                t: con.execute(
                    f"select * from main.{t} where period_end <= ? order by all", [quarter.end]
                ).df()
                for t in INDICATOR_TABLES
            }
            published = {
                r[0]
                for r in con.execute("select table_name from information_schema.tables").fetchall()
            }
            for table in COST_TABLES:
                # A version published before contract 1.1 has no cost tables: no cost data.
                by_year = table == "ind_budget"
                tables[table] = (
                    con.execute(
                        f"select * from main.{table} where "
                        f"{'budget_year' if by_year else 'period_end'} <= ? order by all",
                        [quarter.year if by_year else quarter.end],
                    ).df()
                    if table in published else pd.DataFrame()
                )  # fmt: skip
            codes = {
                c: con.execute(f"select * from codes.{c}").df()
                for c in CODE_TABLES
                if c in published
            }
        finally:
            con.close()
        themes = codes["assessment_themes"]
        if "kind" not in themes:  # a version published before the code list said which is which
            themes["kind"] = themes["theme"].map({"overall": "judgement"}).fillna("theme")
        manifest = json.loads((version / "manifest.json").read_text())
        if not (tables["ind_goal_attainment"]["period_label"] == quarter.label).any():
            raise NothingToReport(
                f"published version {manifest['version']} has no indicators for {quarter.label}"
            )
        return cls(tables, codes, manifest, quarter)

    def rows(self, table: str, subject: Subject, role: str | None = None, **where) -> pd.DataFrame:
        df = self.tables[table]
        if df.empty:
            return df
        mask = (
            (df.org_role == (role or subject.org_role))
            & (df.org_level == subject.org_level)
            & (df.org_unit_id == subject.org_unit_id)
        )
        for column, value in where.items():
            mask &= df[column] == value
        return df[mask]

    def provenance(self, lang: str) -> str:
        """The footer's line: which published version and deliveries the page shows."""
        deliveries = ", ".join(d["delivery_id"] for d in self.manifest["deliveries"])
        return TEXT[lang]["published"].format(
            version=self.manifest["version"], deliveries=deliveries
        )


def rolling_label(quarter: Quarter) -> str:
    first = quarter
    for _ in range(3):
        first = first.previous()
    return f"{first.label}-{quarter.label}"


def year_ago(quarter: Quarter) -> Quarter:
    for _ in range(4):
        quarter = quarter.previous()
    return quarter


def subjects(published: Published, targets: dict) -> tuple[list[Subject], list[Subject]]:
    """Who gets a fact sheet, and the units with too few citizens for one: the nation first
    when the version holds several municipalities, then each municipality's administration,
    areas and units."""
    ga = published.tables["ind_goal_attainment"]
    rolling = ga[(ga.period_label == rolling_label(published.quarter)) & (ga.life_theme == "all")
                 & (ga.sub_theme == "all")]  # fmt: skip
    units = ga[ga.period_label == published.quarter.label][
        ["org_role", "org_level", "org_unit_id", "org_unit_name"]
    ].drop_duplicates()
    several = bool((units.org_level == NATIONAL_LEVEL).any())
    names = municipality_names() if several else {}

    def municipality(org_unit_id: str) -> str | None:
        if not several:
            return None
        code = org_unit_id.split(":", 1)[0]
        return names.get(code, code)

    units = units.assign(municipality=units.org_unit_id.map(municipality))
    order = (
        ["municipality", "org_role", "org_unit_name"] if several else ["org_role", "org_unit_name"]
    )
    sheets, too_few = [], []
    for level, kind in ((NATIONAL_LEVEL, "nation"), (1, "administration"), (2, "area")):
        chosen = units[(units.org_level == level) & (units.org_role == "provider")]
        for row in chosen.sort_values(order).itertuples():
            sheets.append(Subject(kind, "provider", level, row.org_unit_id, row.org_unit_name,
                                  None if kind == "nation" else row.municipality))  # fmt: skip
    minimum = targets.get("min_citizens_for_unit_sheet", 20)
    for row in units[units.org_level == 3].sort_values(order).itertuples():
        subject = Subject(
            "unit", row.org_role, 3, row.org_unit_id, row.org_unit_name, row.municipality
        )
        cell = rolling[
            (rolling.org_role == row.org_role) & (rolling.org_unit_id == row.org_unit_id)
        ]
        enough = len(cell) and not cell.iloc[0].is_suppressed and cell.iloc[0].n_citizens >= minimum
        (sheets if enough else too_few).append(subject)
    return sheets, too_few
