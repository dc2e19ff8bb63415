"""The disclosure audit: what a BI user could work out from the open tables.

Written apart from `suppression` and sharing no code with it, so that a mistake in one is not
repeated in the other. It reads only the open tables' published columns, rebuilds every linear
relation between their cells that the documentation promises (docs/disclosure-control.md, "What
an attacker can use"), and computes for every suppressed count the smallest and largest value
consistent with everything published (two linear programmes per count, HiGHS). A primary
cell's count whose range is narrower than the protection interval is a finding; any finding
fails the gate.
"""

from __future__ import annotations

import csv
import math
import time
from dataclasses import dataclass, field

import duckdb
import highspy
import numpy as np
import pandas as pd
from highspy._core import _Highs  # highspy.Highs prints a banner to stdout; pinned <1.17
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from orchestration.contract import CODELIST_DIR
from orchestration.disclosure import OPEN_TABLES, DisclosureRules

KEYS = ["period_type", "period_label", "org_role", "org_unit_id"]
# What each table counts, and which of its columns tell cells apart.
CATEGORIES = {
    "ind_goal_attainment": ["life_theme", "sub_theme"],
    "ind_goal_type_achievement": ["goal_type"],
    "ind_functional_ability": ["instrument_family", "theme"],
    "ind_key_figures": ["figure", "breakdown"],
    "ind_data_quality": [],
    "ind_costs": ["breakdown_by", "breakdown"],
    "ind_budget": ["function"],
    "ind_cost_effect": ["breakdown_by", "breakdown"],
    "ind_cost_forecast": [],
    "ind_case_mix": ["indicator"],
}
COUNTS = {
    "ind_goal_attainment": ["n_citizens", "n_goals"],
    "ind_goal_type_achievement": ["n_citizens", "n_goals", "n_achieved"],
    "ind_functional_ability": ["n_citizens"],
    "ind_key_figures": ["n_citizens", "value"],
    "ind_data_quality": ["n_citizens", "rows_loaded", "rows_quarantined", "goals_due_followup",
                         "goals_without_due_followup"],
    "ind_costs": ["n_citizens", "spending_dkk", "intervention_days"],
    "ind_budget": ["n_citizens", "spent_to_date_dkk", "expected_by_grants_dkk"],
    "ind_cost_effect": ["n_citizens", "spending_dkk"],
    "ind_cost_forecast": ["n_citizens", "forecast_by_grants_dkk"],
    "ind_case_mix": ["n_citizens", "n_cases", "observed"],
}  # fmt: skip
# ind_case_mix is per municipality, not unit: read as the unit its code names ('000' the nation
# above the others), with no role.
NATION = "000"
# Themes that are judgements (VUM2008's overall assessment), which ind_case_mix leaves out.
JUDGEMENTS = {
    (row["instrument_family"], row["theme"])
    for row in csv.DictReader((CODELIST_DIR / "assessment_themes.csv").open(encoding="utf-8"))
    if row["kind"] == "judgement"
}
# Figures of a row that are about some of its citizens only (docs/disclosure-control.md): each
# such part is read as a cell of its own, `table:part`, counting its own citizens as n_citizens,
# marked by its own suppression column.
PARTS = {
    "ind_cost_effect": {
        "goals": ("goals_suppression", {"n_citizens_with_goals": "n_citizens",
                                        "n_goals": "n_goals", "n_goals_achieved": "n_goals_achieved"}),
        "ability": ("ability_suppression", {"n_citizens_assessed": "n_citizens",
                                            "n_citizens_improved": "n_citizens_improved"}),
    },
}  # fmt: skip
# Counts of which each citizen of a cell has at least one (goals, things counted, cases).
PER_CITIZEN = ["n_citizens", "n_goals", "value", "n_cases"]
# Counts of distinct citizens: a citizen in two units counts in both.
DISTINCT_CITIZENS = ["n_citizens", "n_citizens_improved"]
COST_TABLES = ["ind_costs", "ind_cost_effect", "ind_cost_effect:goals", "ind_cost_effect:ability"]
NAMED = ["life_theme", "sub_theme", "goal_type", "instrument_family", "theme", "figure",
         "breakdown", "breakdown_by", "function", "indicator"]  # fmt: skip
SOLVED = (
    highspy.HighsModelStatus.kOptimal,
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)
# A key figure's value is a count of things, each one citizen's, when its unit says so.
COUNTED_UNITS = {"cases", "interventions", "goals"}
# Rounds of "all as small, then as large, as they can be" before solving count by count.
SPREAD_ATTEMPTS = 4
# One model per component, re-solved with one cost changed at a time: the primal simplex
# continues from the previous basis; presolve would discard it.
HIGHS_OPTIONS = {
    "output_flag": False,
    "presolve": "off",
    "solver": "simplex",
    "simplex_strategy": 4,
    # Amounts are in øre (up to 10^12 for a large administration's year): the default 1e-7
    # tolerance then declares true, consistent systems infeasible by rounding alone.
    "primal_feasibility_tolerance": 1e-5,
}


@dataclass
class Finding:
    """A primary cell's count that can be narrowed down too far."""

    table: str
    cell: dict
    count: str
    smallest: float
    largest: float
    required_width: float
    # Set when the finding is not a range but a published cell that gives a withheld one away
    # through the periods (a year beside a withheld quarter): what it says.
    reason: str = ""
    # The range is as narrow with every figure but the zeros withheld: it follows from which
    # rows exist, what their labels say and the zeros published, so withholding cannot widen
    # it (but by withholding zeros, which the gate does not ask for).
    structural: bool = False

    def describe(self) -> str:
        where = ", ".join(f"{k}={v}" for k, v in self.cell.items())
        if self.reason:
            return f"{self.table} [{where}]: {self.reason}"
        largest = "unbounded" if math.isinf(self.largest) else f"{self.largest:g}"
        text = (
            f"{self.table} [{where}]: {self.count} lies in {self.smallest:g}..{largest}, "
            f"narrower than the required {self.required_width:g}"
        )
        if self.structural:
            text += (
                " (from which rows exist, their labels and the zeros published alone,"
                " with every other figure withheld)"
            )
        return text


@dataclass
class AuditResult:
    """`findings` fail the gate; `structural` ones are narrow with every figure withheld (from
    which rows exist and their labels alone), which no suppression can change: reported, and
    they do not fail it (docs/disclosure-control.md, "Structural ranges")."""

    findings: list[Finding] = field(default_factory=list)
    structural: list[Finding] = field(default_factory=list)
    suppressed_counts: int = 0
    checked_counts: int = 0
    relations: int = 0
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.findings

    def summary(self) -> dict:
        def listed(findings: list[Finding]) -> list[dict]:
            return [
                {"table": f.table, "cell": f.cell, "count": f.count, "smallest": f.smallest,
                 "largest": None if math.isinf(f.largest) else f.largest,
                 "required_width": f.required_width, "reason": f.reason or None,
                 "text": f.describe()}
                for f in findings
            ]  # fmt: skip

        return {
            "passed": self.passed,
            "suppressed_counts": self.suppressed_counts,
            "primary_counts_checked": self.checked_counts,
            "relations": self.relations,
            "seconds": round(self.seconds, 2),
            "findings": listed(self.findings),
            "structural": listed(self.structural),
        }


def read_open_tables(con: duckdb.DuckDBPyConnection, schema: str) -> dict[str, pd.DataFrame]:
    """The open tables as a BI user reads them."""
    return {t: con.execute(f"select * from {schema}.{t}").df() for t in OPEN_TABLES}


def audit(tables: dict[str, pd.DataFrame], rules: DisclosureRules) -> AuditResult:
    """Every primary cell's counts against the protection interval."""
    started = time.perf_counter()
    counts = _counts(tables, rules)
    equations = _equations(counts)
    required = np.select(
        [
            counts["count_name"].str.startswith("n_citizens"),
            counts["count_name"].str.endswith("_dkk"),
        ],
        [rules.citizen_width, rules.amount_width * 100],  # amounts in øre
        rules.protection_width,
    ).astype(float)
    ranges = _ranges(counts, equations, required)
    result = AuditResult(
        suppressed_counts=int(counts["suppressed"].sum()),
        relations=int(equations["equation"].nunique()) if len(equations) else 0,
    )
    primary = counts[counts["primary"]]
    result.checked_counts = len(primary)
    narrow = [
        i for i in primary.index if ranges[i][1] - ranges[i][0] < float(required[i])
    ]  # fmt: skip
    structural = _structural(counts, rules, narrow, required)
    for row in counts.loc[narrow].itertuples():
        smallest, largest = ranges[row.Index]
        width = float(required[row.Index])
        keys = KEYS + CATEGORIES[row.table.split(":")[0]]
        if row.table == "ind_case_mix":
            keys = ["period_type", "period_label", "municipality_code", "indicator"]
        cell = {k: getattr(row, k) for k in keys}
        scale = 100.0 if row.count_name.endswith("_dkk") else 1.0  # øre back to kroner
        finding = Finding(row.table, cell, row.count_name, smallest / scale, largest / scale,
                          width / scale, structural=row.Index in structural)  # fmt: skip
        (result.structural if finding.structural else result.findings).append(finding)
    result.findings.extend(_period_findings(tables))
    result.seconds = time.perf_counter() - started
    return result


def _structural(
    counts: pd.DataFrame, rules: DisclosureRules, narrow: list[int], required: np.ndarray
) -> set[int]:
    """Of the counts found too narrow, those that are as narrow when every figure but the zeros
    is withheld: a reader who saw no figure at all, only which rows exist and their labels (a
    primary cell has 1 to 4 citizens, a published or secondary one at least the threshold),
    would narrow them as far. An administration labelled primary with four units that exist
    below it has exactly one citizen in each. No choice of cells to withhold changes that.
    A published zero stays known: it pins what sums to it to 0 (no goals anywhere in a quarter
    before the goal data starts), which tells no more about a cell's citizens than the zero
    tells about everyone's."""
    if not narrow:
        return set()
    blind = counts.copy()
    published = ~blind["suppressed"]
    zero = published & blind["count"].eq(0)
    per_citizen = blind["count_name"].isin(PER_CITIZEN)
    whole_row = ~blind["table"].str.contains(":")
    blind.loc[published & ~zero & per_citizen & whole_row, "lowest"] = float(rules.threshold)
    blind["suppressed"] = ~zero
    blind["primary"] = False
    blind.loc[narrow, "primary"] = True  # only these are solved for
    equations = _equations(blind)
    # A pair whose other side is no row (the tables' totals where one table has no cell) holds
    # against a published count in truth, not against zero: left out, which only widens.
    terms = equations.groupby("equation")["at"].transform("size")
    ranges = _ranges(blind, equations[terms > 1])
    return {i for i in narrow if ranges[i][1] - ranges[i][0] < float(required[i])}


def _plain(value):
    """A cell key as JSON writes it (numpy's integers are not)."""
    return value.item() if hasattr(value, "item") else value


def _quarter_number(label: pd.Series) -> pd.Series:
    """The running number of a quarter labelled '2024Q3'."""
    return label.str[:4].astype(int) * 4 + label.str[5].astype(int) - 1


def _period_findings(tables: dict[str, pd.DataFrame]) -> list[Finding]:
    """Published cells that would give a withheld one away across periods.

    A year's or rolling window's spending and days are the sums of its quarters', a budget
    line's spending is its year's on its function and a budget's `all` its year's on all;
    the ranges above are computed per period, so they hold together only when every cell that
    such a sum reaches from a withheld cell is withheld too (docs/disclosure-control.md,
    "Periods"). Each published cell that breaks this is a finding.
    """
    findings: list[Finding] = []
    cost_key = ["org_role", "org_unit_id", "breakdown_by", "breakdown"]

    def report(cells: pd.DataFrame, table: str, keys: list[str], reason) -> None:
        for row in cells.drop_duplicates(keys).itertuples(index=False):
            cell = {k: _plain(getattr(row, k)) for k in keys}
            findings.append(Finding(table, cell, "spending_dkk", math.nan, math.nan, math.nan,
                                    reason(row)))  # fmt: skip

    for table in ("ind_costs", "ind_cost_effect"):
        frame = tables[table]
        quarters = frame[(frame["period_type"] == "quarter") & frame["is_suppressed"]]
        quarters = quarters.assign(number=_quarter_number(quarters["period_label"].astype(str)))
        spans = frame[frame["period_type"].isin(["year", "rolling_4q"]) & ~frame["is_suppressed"]]
        label = spans["period_label"].astype(str)
        first = label.where(spans["period_type"] == "rolling_4q", label + "Q1").str[:6]
        last = label.where(spans["period_type"] == "rolling_4q", label + "Q4").str[-6:]
        spans = spans.assign(first=_quarter_number(first), last=_quarter_number(last))
        covered = spans.merge(quarters[[*cost_key, "number", "period_label"]], on=cost_key,
                              suffixes=("", "_quarter"))  # fmt: skip
        covered = covered[covered["number"].between(covered["first"], covered["last"])]
        report(covered, table, KEYS + CATEGORIES[table],
               lambda r: f"published while its quarter {r.period_label_quarter} is withheld "
                         "(the quarter is the period's sum minus its published quarters)")  # fmt: skip
    # The two cost tables hold the same spending for the same cell.
    costs, effect = tables["ind_costs"], tables["ind_cost_effect"]
    pair = costs.merge(effect, on=KEYS + CATEGORIES["ind_costs"], suffixes=("", "_effect"))
    for table, mask, other in (
        ("ind_costs", ~pair["is_suppressed"] & pair["is_suppressed_effect"], "ind_cost_effect"),
        ("ind_cost_effect", pair["is_suppressed"] & ~pair["is_suppressed_effect"], "ind_costs"),
    ):
        report(
            pair[mask],
            table,
            KEYS + CATEGORIES[table],
            lambda r, other=other: f"published while the same cell of {other} is withheld",
        )
    # Budget lines against their year's spending on the function, the budget's `all` against
    # the year's on all functions (every function spent on has a line).
    budget = tables["ind_budget"]
    budget = budget.assign(period_label=budget["budget_year"].astype(str))
    years = costs[(costs["period_type"] == "year") & costs["is_suppressed"]
                  & costs["breakdown_by"].isin(["function", "all"])]  # fmt: skip
    years = years.assign(function=years["breakdown"])
    published = budget[~budget["is_suppressed"]].merge(
        years[["period_label", "org_role", "org_unit_id", "function"]],
        on=["period_label", "org_role", "org_unit_id", "function"],
    )
    report(published, "ind_budget", ["budget_year", "org_role", "org_unit_id", "function"],
           lambda r: "published while its year's spending on "
                     f"{'all functions' if r.function == 'all' else 'the function'} is withheld "
                     "in ind_costs")  # fmt: skip
    return findings


def _counts(tables: dict[str, pd.DataFrame], rules: DisclosureRules) -> pd.DataFrame:
    """One row per published cell and count: its value, or its bounds when suppressed."""
    frames = []
    for table, frame, columns in _cells_by_kind(tables):
        frame = frame.copy()
        frame["table"] = table
        if "budget_year" in frame:  # a budget year is a period of its own kind
            frame["period_type"] = "budget_year"
            frame["period_label"] = frame["budget_year"].astype(str)
        for i, category in enumerate(("cat1", "cat2")):
            names = CATEGORIES[table.split(":")[0]]
            frame[category] = frame[names[i]] if i < len(names) else ""
        for name in NAMED:
            if name not in frame:
                frame[name] = ""
        if table == "ind_key_figures":
            counted = frame["unit"].isin(COUNTED_UNITS)
        else:
            counted = pd.Series(True, index=frame.index)
        for column in columns:
            part = frame[counted] if column == "value" else frame
            count = part[column].astype("float64")
            if column.endswith("_dkk"):  # in whole øre, whose sums are exact
                count = (count * 100).round()
            part = part.assign(count_name=column, count=count)
            frames.append(part)
    counts = pd.concat(frames, ignore_index=True)
    counts["suppressed"] = counts["is_suppressed"].astype(bool)
    counts["primary"] = counts["suppression"].eq("primary")
    counts["secondary"] = counts["suppression"].eq("secondary")
    # What a label tells: a primary cell has fewer citizens than the threshold, a secondary one
    # at least that many; a citizen in a cell has at least one of what it counts; a goal,
    # attainment or functional-ability cell exists only with a citizen in it.
    # A part of a row says less: withheld with its row it may be about nobody; withheld in a
    # published row it is about 1 to 4.
    per_citizen = counts["count_name"].isin(PER_CITIZEN)
    is_part = counts["table"].str.contains(":")
    has_citizens = counts["table"].isin(
        ["ind_goal_attainment", "ind_goal_type_achievement", "ind_functional_ability", "ind_costs",
         "ind_cost_effect", "ind_case_mix"]
    ) | (is_part & counts["row_published"] & counts["primary"])  # fmt: skip
    counts["lowest"] = 0.0
    counts.loc[per_citizen & has_citizens, "lowest"] = 1.0
    counts.loc[per_citizen & counts["secondary"] & ~is_part, "lowest"] = float(rules.threshold)
    counts["highest"] = math.inf
    counts.loc[counts["count_name"].isin(DISTINCT_CITIZENS) & counts["primary"], "highest"] = (
        rules.threshold - 1.0
    )
    keep = [*KEYS, "org_level", "parent_org_unit_id", "table", "cat1", "cat2", "count_name",
            "count", "suppressed", "primary", "lowest", "highest", *NAMED]  # fmt: skip
    if "municipality_code" not in counts:
        counts["municipality_code"] = None
    keep.append("municipality_code")
    return counts[keep]


def _cells_by_kind(tables: dict[str, pd.DataFrame]):
    """(kind, frame, counts) per kind of cell: each table's rows, and each part of them read
    as cells of their own (columns renamed to the counts they are, their own marks)."""
    for table, columns in COUNTS.items():
        frame = tables[table]
        if table == "ind_case_mix":
            code = frame["municipality_code"].fillna("").astype(str)
            frame = frame.assign(
                municipality_code=code, org_role="", org_unit_id=code,
                org_level=np.where(code == NATION, 0, 1),
                parent_org_unit_id=np.where(code == NATION, None, NATION),
            )  # fmt: skip
        yield table, frame.assign(row_published=~frame["is_suppressed"].astype(bool)), columns
        for part, (marks, renamed) in PARTS.get(table, {}).items():
            view = frame.drop(columns=[c for c in COUNTS[table] if c in frame]).rename(
                columns=renamed
            )
            view["row_published"] = ~frame["is_suppressed"].astype(bool)
            view["suppression"] = frame[marks]
            view["is_suppressed"] = frame[marks].notna()
            yield f"{table}:{part}", view, list(renamed.values())


def _equations(counts: pd.DataFrame) -> pd.DataFrame:
    """Rows (equation, index into counts, coefficient): each equation sums to zero."""
    counts = counts.reset_index(names="at")
    period = ["period_type", "period_label"]
    pieces = []

    def total_of(parts: pd.DataFrame, totals: pd.DataFrame, on: list[str], name: str) -> None:
        """totals = sum of parts, matched on `on` (names in parts: the same, or renamed)."""
        matched = parts.merge(totals, on=on, suffixes=("", "_total"))
        if matched.empty:
            return
        equation = name + ":" + matched["at_total"].astype(str)
        pieces.append(pd.DataFrame({"equation": equation, "at": matched["at"], "coef": 1.0}))
        pieces.append(
            pd.DataFrame(
                {"equation": equation, "at": matched["at_total"], "coef": -1.0}
            ).drop_duplicates()
        )

    additive = ~counts["count_name"].isin(DISTINCT_CITIZENS) | (
        counts["table"].eq("ind_functional_ability")
        & counts["org_role"].eq("authority")
        & counts["theme"].ne("all")
    )
    summable = counts[additive]
    # The hierarchy: a unit is the sum of the units whose parent it is (with several
    # municipalities, the nation of their administrations).
    children = summable[summable["parent_org_unit_id"].notna()].rename(
        columns={"org_unit_id": "child", "parent_org_unit_id": "org_unit_id"}
    )
    on = [*period, "org_role", "table", "cat1", "cat2", "count_name"]
    total_of(children, summable[summable["org_level"] < 3], [*on, "org_unit_id"], "unit")
    goods = summable[summable["count_name"] != "n_citizens"]
    ga = goods[goods["table"] == "ind_goal_attainment"]
    unit_on = [*KEYS, "count_name"]
    # Sub-themes add up to their life theme, life themes to all.
    total_of(
        ga[ga["sub_theme"] != "all"],
        ga[(ga["sub_theme"] == "all") & (ga["life_theme"] != "all")],
        [*unit_on, "life_theme"],
        "life_theme",
    )
    total_of(
        ga[(ga["sub_theme"] == "all") & (ga["life_theme"] != "all")].drop(columns="life_theme"),
        ga[(ga["sub_theme"] == "all") & (ga["life_theme"] == "all")].drop(columns="life_theme"),
        [*unit_on, "sub_theme"],
        "all_themes",
    )
    gt = goods[goods["table"] == "ind_goal_type_achievement"]
    total_of(
        gt[gt["goal_type"] != "all"].drop(columns="goal_type"),
        gt[gt["goal_type"] == "all"].drop(columns="goal_type"),
        unit_on,
        "goal_types",
    )
    kf = goods[(goods["table"] == "ind_key_figures") & (goods["figure"] == "active_interventions")]
    total_of(
        kf[kf["breakdown"] != "all"].drop(columns="breakdown"),
        kf[kf["breakdown"] == "all"].drop(columns="breakdown"),
        [*unit_on, "figure"],
        "legal_bases",
    )
    # Costs: every breakdown's spending, days and goals add up to all, and the citizens of the
    # target groups (one per citizen); a unit's budgeted functions add up to its 'all'.
    for_costs = [*unit_on, "table"]
    costs = summable[summable["table"].isin(COST_TABLES)]
    for by in costs.loc[costs["breakdown_by"] != "all", "breakdown_by"].unique():
        total_of(
            costs[costs["breakdown_by"] == by].drop(columns=["breakdown", "breakdown_by"]),
            costs[costs["breakdown_by"] == "all"].drop(columns=["breakdown", "breakdown_by"]),
            for_costs, f"cost_{by}",
        )  # fmt: skip
    citizens_by_group = counts[
        counts["table"].isin(COST_TABLES) & counts["count_name"].isin(DISTINCT_CITIZENS)
    ]
    total_of(
        citizens_by_group[citizens_by_group["breakdown_by"] == "target_group"].drop(
            columns=["breakdown", "breakdown_by"]),
        citizens_by_group[citizens_by_group["breakdown_by"] == "all"].drop(
            columns=["breakdown", "breakdown_by"]),
        for_costs, "cost_target_group_citizens",
    )  # fmt: skip
    # Cost next to effect counts the citizens and spending of ind_costs' cells.
    effect = counts[counts["table"] == "ind_cost_effect"]
    same = effect.merge(
        counts[counts["table"] == "ind_costs"],
        on=[*KEYS, "breakdown_by", "breakdown", "count_name"], suffixes=("", "_costs"),
    )  # fmt: skip
    for side, coef in (("at", 1.0), ("at_costs", -1.0)):
        pieces.append(pd.DataFrame({"equation": "cost_effect:" + same["at"].astype(str),
                                    "at": same[side], "coef": coef}))  # fmt: skip
    budget = goods[goods["table"] == "ind_budget"]
    total_of(
        budget[budget["function"] != "all"].drop(columns="function"),
        budget[budget["function"] == "all"].drop(columns="function"),
        unit_on, "budget_functions",
    )  # fmt: skip
    # A budget line's spending and citizens are the year's spending on its function.
    lines = counts[
        (counts["table"] == "ind_budget")
        & (counts["function"] != "all")
        & counts["count_name"].isin(["n_citizens", "spent_to_date_dkk"])
    ]
    years = counts[(counts["table"] == "ind_costs") & (counts["period_type"] == "year")
                   & (counts["breakdown_by"] == "function")]  # fmt: skip
    paired = lines.assign(
        count_name=lines["count_name"].replace("spent_to_date_dkk", "spending_dkk")
    ).merge(
        years.rename(columns={"breakdown": "function_code"}),
        left_on=["period_label", "org_role", "org_unit_id", "function", "count_name"],
        right_on=["period_label", "org_role", "org_unit_id", "function_code", "count_name"],
        suffixes=("", "_year"),
    )
    for side, coef in (("at", 1.0), ("at_year", -1.0)):
        pieces.append(pd.DataFrame({"equation": "budget_year:" + paired["at"].astype(str),
                                    "at": paired[side], "coef": coef}))  # fmt: skip
    # Pairs that are equal: the administration (each municipality's, and the nation) in both
    # roles, and the two goal tables' totals.
    both_roles = counts[
        (counts["org_level"] <= 1)
        & (
            counts["table"].isin(["ind_goal_attainment", "ind_goal_type_achievement"])
            | (
                counts["table"].eq("ind_key_figures")
                & ~counts["figure"].isin(
                    ["active_cases", "new_cases", "closed_cases", "cases_per_caseworker"]
                )
            )
            | (
                counts["table"].eq("ind_data_quality")
                & counts["count_name"].isin(["goals_due_followup", "goals_without_due_followup"])
            )
            | counts["table"].isin([*COST_TABLES, "ind_cost_forecast"])
        )
    ]
    _equal(pieces, both_roles, [*period, "org_unit_id", "table", "cat1", "cat2", "count_name"],
           "org_role", "authority", "roles")  # fmt: skip
    totals = counts[
        counts["count_name"].isin(["n_goals", "n_citizens"])
        & (
            (counts["table"].eq("ind_goal_attainment") & counts["life_theme"].eq("all")
             & counts["sub_theme"].eq("all"))
            | (counts["table"].eq("ind_goal_type_achievement") & counts["goal_type"].eq("all"))
        )
    ]  # fmt: skip
    _equal(pieces, totals, [*KEYS, "count_name"], "table", "ind_goal_attainment", "tables")
    _case_mix_equations(pieces, counts)
    if not pieces:
        return pd.DataFrame({"equation": [], "at": [], "coef": []})
    return pd.concat(pieces, ignore_index=True)


def _case_mix_equations(pieces: list, counts: pd.DataFrame) -> None:
    """ind_case_mix against the unit tables (its nation is the sum of its municipalities through
    the hierarchy above). A municipality's row is its administration's (level 1, whose id begins
    with its code and ':'; no ':' when the delivery named none), the nation's the national
    level's, or with one municipality that municipality's administration:

    - goals_achieved counts the goals followed up in the period by provider: its citizens,
      cases and observed are ind_goal_type_achievement's provider n_citizens, n_goals and
      n_achieved of goal type all;
    - ability_improved's cases are the authority's comparisons, one per citizen and theme: the
      sum of ind_functional_ability's authority citizens over its themes (judgements left out).
    """
    mix = counts[counts["table"] == "ind_case_mix"]
    if mix.empty:
        return
    units = counts.loc[
        (counts["table"] != "ind_case_mix") & (counts["org_level"] <= 1), ["org_unit_id", "org_level"]
    ].drop_duplicates()  # fmt: skip
    ids = units["org_unit_id"].astype(str)
    code = np.where(ids.str.contains(":"), ids.str.split(":").str[0], "")
    units = units.assign(code=np.where(units["org_level"] == 0, NATION, code))
    if len(units) == 1:  # one municipality: the nation is its administration
        units = pd.concat([units, units.assign(code=NATION)])
    mix = mix.merge(units[["code", "org_unit_id"]].rename(columns={"org_unit_id": "unit"}),
                    left_on="municipality_code", right_on="code")  # fmt: skip
    goals = counts[
        (counts["table"] == "ind_goal_type_achievement") & (counts["org_role"] == "provider")
        & (counts["goal_type"] == "all")
    ]  # fmt: skip
    named = {"n_citizens": "n_citizens", "n_cases": "n_goals", "observed": "n_achieved"}
    paired = (
        mix[mix["indicator"] == "goals_achieved"]
        .assign(count_name=lambda f: f["count_name"].map(named))
        .merge(
            goals[["period_type", "period_label", "org_unit_id", "count_name", "at"]],
            left_on=["period_type", "period_label", "unit", "count_name"],
            right_on=["period_type", "period_label", "org_unit_id", "count_name"],
            suffixes=("", "_goals"),
        )
    )
    for side, coef in (("at", 1.0), ("at_goals", -1.0)):
        pieces.append(pd.DataFrame({"equation": "case_mix_goals:" + paired["at"].astype(str),
                                    "at": paired[side], "coef": coef}))  # fmt: skip
    themes = counts[
        (counts["table"] == "ind_functional_ability") & (counts["org_role"] == "authority")
        & (counts["theme"] != "all") & (counts["count_name"] == "n_citizens")
    ]  # fmt: skip
    judged = pd.MultiIndex.from_frame(themes[["instrument_family", "theme"]]).isin(
        sorted(JUDGEMENTS)
    )
    themes = themes[~judged]
    cases = mix[(mix["indicator"] == "ability_improved") & (mix["count_name"] == "n_cases")]
    summed = cases.merge(
        themes[["period_type", "period_label", "org_unit_id", "at"]],
        left_on=["period_type", "period_label", "unit"],
        right_on=["period_type", "period_label", "org_unit_id"],
        suffixes=("", "_theme"),
    )
    equation = "case_mix_ability:" + summed["at"].astype(str)
    pieces.append(pd.DataFrame({"equation": equation, "at": summed["at_theme"], "coef": 1.0}))
    pieces.append(
        pd.DataFrame({"equation": equation, "at": summed["at"], "coef": -1.0}).drop_duplicates()
    )


def _equal(pieces: list, frame: pd.DataFrame, on: list[str], side: str, first: str, name: str):
    """Rows of `frame` that agree on `on` and differ in `side` hold the same count."""
    equation = name + ":" + frame.groupby(on, sort=False, dropna=False).ngroup().astype(str)
    sign = np.where(frame[side] == first, 1.0, -1.0)
    pieces.append(
        pd.DataFrame({"equation": equation.values, "at": frame["at"].values, "coef": sign})
    )


def ranges_of(tables: dict[str, pd.DataFrame], rules: DisclosureRules) -> pd.DataFrame:
    """Every primary count with the exact smallest and largest value consistent with the
    published cells (what the audit's findings are made of)."""
    counts = _counts(tables, rules)
    found = _ranges(counts, _equations(counts))
    primary = counts[counts["primary"]].copy()
    primary["smallest"] = [found[i][0] for i in primary.index]
    primary["largest"] = [found[i][1] for i in primary.index]
    return primary


def _ranges(
    counts: pd.DataFrame, equations: pd.DataFrame, required: np.ndarray | None = None
) -> dict[int, tuple[float, float]]:
    """Smallest and largest value of every primary count, given the published ones. With
    `required` widths, a count is not solved for once two solutions already seen (each a
    possible truth) differ by that much: its range is then at least that wide, and what is
    returned for it is the part seen."""
    ranges: dict[int, tuple[float, float]] = {}
    suppressed = counts["suppressed"].to_numpy()
    lowest, highest = counts["lowest"].to_numpy(), counts["highest"].to_numpy()
    if equations.empty:
        return {i: (lowest[i], highest[i]) for i in np.nonzero(suppressed)[0]}
    eq_codes, eq_names = pd.factorize(equations["equation"])
    at = equations["at"].to_numpy()
    coef = equations["coef"].to_numpy()
    unknown = suppressed[at]
    known_sum = np.bincount(
        eq_codes, weights=np.where(unknown, 0.0, coef * np.nan_to_num(counts["count"].to_numpy()[at])),
        minlength=len(eq_names),
    )  # fmt: skip
    # Unknowns linked through an equation share a component; each is solved on its own.
    n = len(counts)
    graph = coo_matrix(
        (np.ones(unknown.sum()), (at[unknown], eq_codes[unknown] + n)),
        shape=(n + len(eq_names),) * 2,
    )
    _, label = connected_components(graph, directed=False)
    part_eq, part_at, part_coef = eq_codes[unknown], at[unknown], coef[unknown]
    targets = counts["primary"].to_numpy()
    # The terms of each component, components in the order they first appear: slices of one
    # sort (a pandas group per component cost a third of the audit's time at tier M).
    component = label[part_at]
    _, first, inverse = np.unique(component, return_index=True, return_inverse=True)
    appearance = np.argsort(np.argsort(first))  # per component, its rank by first term
    order = np.argsort(appearance[inverse], kind="stable")
    ends = np.flatnonzero(np.diff(component[order])) + 1
    for terms in np.split(order, ends):
        variables = np.unique(part_at[terms])
        if not targets[variables].any():
            continue  # no primary count to bound here
        rows, row_of = np.unique(part_eq[terms], return_inverse=True)
        matrix = coo_matrix(
            (part_coef[terms], (row_of, np.searchsorted(variables, part_at[terms]))),
            shape=(len(rows), len(variables)),
        ).tocsr()
        model = _Highs()
        for option, value in HIGHS_OPTIONS.items():
            model.setOptionValue(option, value)
        model.addVars(len(variables), lowest[variables], highest[variables])
        rhs = -known_sum[rows]
        model.addRows(len(rows), rhs, rhs, matrix.nnz, matrix.indptr[:-1].astype(np.int32),
                      matrix.indices.astype(np.int32), matrix.data)  # fmt: skip
        seen = [np.full(len(variables), np.inf), np.full(len(variables), -np.inf)]
        if required is not None:
            columns = np.nonzero(targets[variables])[0].astype(np.int32)
            bounds = (lowest[variables][columns], highest[variables][columns])
            _spread_out(model, columns, bounds, required[variables][columns], seen)
        for j, i in enumerate(variables):
            if not targets[i]:
                continue
            if required is not None and _seen_width(seen, j) >= required[i]:
                ranges[int(i)] = _seen(seen, j)
                continue
            largest = _bound(model, j, -1.0, seen)
            if (
                required is not None
                and math.isfinite(largest)
                and _seen_width(seen, j) >= required[i]
            ):
                ranges[int(i)] = _seen(seen, j)
                continue
            ranges[int(i)] = (_bound(model, j, 1.0, seen), largest)
    for i in np.nonzero(suppressed)[0]:
        ranges.setdefault(int(i), (lowest[i], highest[i]))  # in no equation: its label alone
    return ranges


def _spread_out(model, columns: np.ndarray, bounds, required: np.ndarray, seen) -> None:
    """Solutions with every count in `columns` as small, then as large, as they can be at the
    same time, repeated for the counts still narrow while that widens many: between them most
    counts already show a range as wide as required. For the large one each count is capped
    at what it needs (a solution of the capped model is one of the model), so that it is
    bounded."""
    low, high = bounds
    for _attempt in range(SPREAD_ATTEMPTS):
        if len(columns) < 2:
            return
        for direction in (1.0, -1.0):
            if direction < 0:
                cap = np.where(np.isfinite(seen[0][columns]), seen[0][columns] + required, high)
                model.changeColsBounds(len(columns), columns, low, np.minimum(high, cap))
            model.changeColsCost(len(columns), columns, np.full(len(columns), direction))
            model.run()
            if model.getModelStatus() == highspy.HighsModelStatus.kOptimal:
                solution = np.asarray(model.getSolution().col_value)
                np.minimum(seen[0], solution, out=seen[0])
                np.maximum(seen[1], solution, out=seen[1])
            model.changeColsCost(len(columns), columns, np.zeros(len(columns)))
        model.changeColsBounds(len(columns), columns, low, high)
        with np.errstate(invalid="ignore"):
            width = np.floor(seen[1][columns] + 1e-6) - np.ceil(seen[0][columns] - 1e-6)
        narrow = ~(width >= required)
        widened = len(columns) - int(narrow.sum())
        columns, required, low, high = columns[narrow], required[narrow], low[narrow], high[narrow]
        if widened < (len(narrow)) / 4:
            return


def _seen(seen: list[np.ndarray], j: int) -> tuple[float, float]:
    """What has been seen of x[j], as whole numbers inside it."""
    return float(math.ceil(seen[0][j] - 1e-6)), float(math.floor(seen[1][j] + 1e-6))


def _seen_width(seen: list[np.ndarray], j: int) -> float:
    low, high = seen[0][j], seen[1][j]
    if not (math.isfinite(low) and math.isfinite(high)):
        return -math.inf
    return math.floor(high + 1e-6) - math.ceil(low - 1e-6)


def _bound(model, j: int, direction: float, seen: list[np.ndarray]) -> float:
    """The smallest (direction 1) or largest (-1) integer value x[j] can take; the solution
    found widens what has been seen of every count."""
    model.changeColCost(j, direction)
    model.run()
    status = model.getModelStatus()
    if status not in SOLVED:
        # Warm starts after an unbounded solve can leave the simplex without an answer.
        model.clearSolver()
        model.run()
        status = model.getModelStatus()
    value = model.getInfo().objective_function_value
    if status == highspy.HighsModelStatus.kOptimal:
        solution = np.asarray(model.getSolution().col_value)
        np.minimum(seen[0], solution, out=seen[0])
        np.maximum(seen[1], solution, out=seen[1])
    model.changeColCost(j, 0.0)
    unbounded = (
        highspy.HighsModelStatus.kUnbounded,
        highspy.HighsModelStatus.kUnboundedOrInfeasible,
    )
    if status in unbounded:
        return math.inf
    if status != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"disclosure audit: the published cells admit no solution ({status})")
    # Counts are whole numbers: round the relaxation's bound inwards.
    return math.ceil(value - 1e-6) if direction > 0 else math.floor(-value + 1e-6)
