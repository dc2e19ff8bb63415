"""Secondary suppression on hand-made cells: a crafted one-citizen unit, checked by the audit."""

import dataclasses
import math

import numpy as np
from scipy.optimize import linprog

from orchestration.disclosure import DisclosureRules
from orchestration.disclosure.audit import audit, read_open_tables
from orchestration.disclosure.suppression import (
    _cheapest_first,
    _pinned_by_zeros,
    _propagated_bounds,
    _System,
    suppress,
)

RULES = DisclosureRules(threshold=5, protection_width=5, citizen_width=1)
GA, GT = "ind_goal_attainment", "ind_goal_type_achievement"


def one_citizen_in_a_unit() -> list[tuple]:
    """One citizen with 3 goals in unit U1 (authority) and P1 (provider); the siblings U2, U3
    and P2, P3 and every total above them are big enough to publish. Goals count in both
    tables: attainment by life theme X / sub-theme s, goal type progression."""
    goals = {  # unit: (citizens, goals)
        "authority": {"U1": (1, 3), "U2": (6, 9), "U3": (7, 10)},
        "provider": {"P1": (1, 3), "P2": (8, 12), "P3": (5, 7)},
    }
    cells = []
    for role, units in goals.items():
        area = (sum(c for c, _ in units.values()), sum(g for _, g in units.values()))
        for unit, (citizens, n) in {**units, "ORG-10": area, "ORG-1": area}.items():
            primary = "primary" if citizens < 5 else None
            counts = {"n_citizens": citizens, "n_goals": n}
            for categories in (("X", "s"), ("X", "all"), ("all", "all")):
                cells.append((GA, role, unit, categories, counts, primary))
            for goal_type in ("progression", "all"):
                cells.append(
                    (GT, role, unit, (goal_type,), counts | {"n_achieved": n - 1}, primary)
                )
    return cells


def test_one_citizens_goals_are_protected_in_both_roles(indicator_schema):
    con = indicator_schema(one_citizen_in_a_unit())
    before = audit(read_open_tables(con, "indicators"), RULES)
    exposed = {(f.cell["org_unit_id"], f.count) for f in before.findings}
    # As dbt leaves them, the area's total minus the published siblings gives U1's 3 goals.
    assert {("U1", "n_goals"), ("P1", "n_goals")} <= exposed

    result = suppress(con, RULES)
    assert result.unprotected == 0
    after = audit(read_open_tables(con, "open"), RULES)
    assert after.passed, [f.describe() for f in after.findings]
    open_cells = con.execute(
        "select org_role, org_unit_id, suppression, n_goals from open.ind_goal_type_achievement"
    ).fetchall()
    # Each role withholds a partner beside the one-citizen unit, and the citizen's own cells
    # stay primary with nothing shown.
    for role, unit in (("authority", "U1"), ("provider", "P1")):
        own = [c for c in open_cells if c[0] == role and c[1] == unit]
        assert own and all(c[2] == "primary" and c[3] is None for c in own)
        assert any(c[0] == role and c[2] == "secondary" and c[3] is None for c in open_cells)
    # The figures not withheld are the ones dbt published.
    published = con.execute(
        "select * from open.ind_goal_attainment where suppression is null "
        "except all select * from indicators.ind_goal_attainment"
    ).fetchall()
    assert published == []


def test_switched_off_only_primary_cells_are_withheld_and_the_audit_names_them(indicator_schema):
    con = indicator_schema(one_citizen_in_a_unit())
    result = suppress(con, DisclosureRules(secondary=False))
    assert sum(result.secondary.values()) == 0
    findings = audit(read_open_tables(con, "open"), RULES).findings
    assert {"U1", "P1"} <= {f.cell["org_unit_id"] for f in findings}
    assert any("org_unit_id=U1" in f.describe() and "n_goals lies in 3..3" in f.describe()
               for f in findings)  # fmt: skip


CE, COSTS = "ind_cost_effect", "ind_costs"


def cost_effect_cells(few_with_goals: str, small_unit: str | None = None) -> list[tuple]:
    """Three authority units' spending and their goals and assessed citizens, summed to the
    area and the administration (shown in both roles). `few_with_goals` has 2 citizens with
    goals, so its goal figures are primary; `small_unit` has 3 citizens, so its row is."""
    units = {  # citizens, spending, with goals, goals, achieved, assessed, improved
        "U1": [8, 80_000.0, 6, 9, 4, 6, 3], "U2": [9, 95_000.0, 7, 10, 6, 6, 2],
        "U3": [10, 120_000.0, 8, 12, 5, 7, 4],
    }  # fmt: skip
    units[few_with_goals][2:5] = [2, 3, 1]
    if small_unit:
        units[small_unit] = [3, 30_000.0, 3, 4, 2, 3, 1]
    area = [sum(v[i] for v in units.values()) for i in range(7)]
    cells = []
    for unit, v in {**units, "ORG-10": area, "ORG-1": area}.items():
        roles = ("authority", "provider") if unit == "ORG-1" else ("authority",)
        primary = "primary" if v[0] < 5 else None
        goals = {"goals_suppression": "primary"} if v[2] < 5 else {}
        counts = dict(zip(["n_citizens", "spending_dkk", "n_citizens_with_goals", "n_goals",
                           "n_goals_achieved", "n_citizens_assessed", "n_citizens_improved"],
                          v, strict=True))  # fmt: skip
        for role in roles:
            cells.append((CE, role, unit, ("all", "all"), counts, primary, goals))
            cells.append((COSTS, role, unit, ("all", "all"),
                          counts | {"intervention_days": 30 * v[0]}, primary))  # fmt: skip
    return cells


def test_goals_about_two_citizens_are_protected_while_their_spending_is_shown(indicator_schema):
    con = indicator_schema(cost_effect_cells(few_with_goals="U1"))
    before = audit(read_open_tables(con, "indicators"), RULES)
    # The area's goals minus U2's and U3's give U1's: 3 goals, 1 achieved.
    assert ("U1", "n_goals") in {(f.cell["org_unit_id"], f.count) for f in before.findings}
    assert {f.table for f in before.findings} == {"ind_cost_effect:goals"}

    assert suppress(con, RULES).unprotected == 0
    assert audit(read_open_tables(con, "open"), RULES).passed
    rows = (
        con.execute(
            "select org_unit_id, suppression, goals_suppression, ability_suppression, n_citizens, "
            "spending_dkk, n_goals from open.ind_cost_effect where org_role = 'authority' "
            "order by org_unit_id"
        )
        .df()
        .set_index("org_unit_id")
    )
    # Only goal figures are withheld: U1's as primary and one sibling's as its partner; every
    # unit's spending and citizens, and every assessed count, stay published.
    assert rows["suppression"].isna().all() and rows["ability_suppression"].isna().all()
    assert rows.loc["U1", "goals_suppression"] == "primary"
    partners = rows[rows["goals_suppression"] == "secondary"]
    assert len(partners) >= 1 and partners["n_goals"].isna().all()
    assert rows["spending_dkk"].notna().all()


def test_a_row_withheld_to_protect_another_withholds_its_goals_and_assessed_too(indicator_schema):
    con = indicator_schema(cost_effect_cells(few_with_goals="U2", small_unit="U1"))
    assert suppress(con, RULES).unprotected == 0
    assert audit(read_open_tables(con, "open"), RULES).passed
    rows = con.execute("select * from open.ind_cost_effect").df()
    withheld = rows[rows["suppression"] == "secondary"]
    # U1's 3 citizens' spending is the area's minus its siblings': a sibling's row goes, parts
    # and all (its cost per achieved goal times its achieved goals would give its spending).
    assert len(withheld) >= 1
    assert withheld[["goals_suppression", "ability_suppression"]].notna().all().all()
    figures = [c for c in rows.columns if rows[c].dtype.kind in "if" and c != "org_level"]
    assert withheld[figures].isna().all().all()
    # ind_costs holds the same spending: its cell goes with it.
    costs = con.execute("select org_unit_id, org_role, suppression from open.ind_costs").df()
    merged = costs.merge(rows[["org_unit_id", "org_role", "suppression"]],
                         on=["org_unit_id", "org_role"], suffixes=("", "_effect"))  # fmt: skip
    assert (merged["suppression"].notna() == merged["suppression_effect"].notna()).all()


def test_a_quarter_without_goals_pins_a_small_rows_goals_to_a_published_zero(indicator_schema):
    # A quarter before the goal data starts: spending, but no unit has a goal. U1's 3 citizens
    # are a primary row; its goals (withheld with it) are 0 because the area's are.
    cells = cost_effect_cells(few_with_goals="U2", small_unit="U1")
    for cell in cells:
        if cell[0] == CE:
            cell[4].update(n_citizens_with_goals=0, n_goals=0, n_goals_achieved=0)
            cell[6].clear()
    con = indicator_schema(cells)
    before = audit(read_open_tables(con, "indicators"), RULES)
    # (Its citizens with goals do not add up across units: their label alone bounds them.)
    goal_counts = {"n_goals", "n_goals_achieved"}
    zero_pinned = {(f.table, f.cell["org_unit_id"], f.count, f.largest) for f in before.structural}
    assert zero_pinned == {("ind_cost_effect:goals", "U1", c, 0.0) for c in goal_counts}
    # Its spending is still the area's minus its siblings': a figure, not a zero, gives it.
    assert ("ind_cost_effect", "U1", "spending_dkk") in {
        (f.table, f.cell["org_unit_id"], f.count) for f in before.findings
    }

    # Suppression withholds a partner for U1's spending and, here, the zeros with it: nothing
    # is left exposed, and the audit passes.
    assert suppress(con, RULES).unprotected == 0
    after = audit(read_open_tables(con, "open"), RULES)
    assert after.passed, [f.describe() for f in after.findings]


def test_a_zero_that_other_figures_give_away_is_protected(indicator_schema):
    # U1's 3 citizens have no goals while its siblings have some: its 0 goals are the area's
    # minus its siblings', published figures that are not zero. That is not structural.
    cells = cost_effect_cells(few_with_goals="U2", small_unit="U1")
    for cell in cells:
        if cell[0] == CE and cell[2] == "U1":
            cell[4].update(n_citizens_with_goals=0, n_goals=0, n_goals_achieved=0)
    for cell in cells:  # the area and administration: the siblings' goals only
        if cell[0] == CE and cell[2] in ("ORG-10", "ORG-1"):
            cell[4].update(n_citizens_with_goals=9, n_goals=15, n_goals_achieved=8)
    con = indicator_schema(cells)
    before = audit(read_open_tables(con, "indicators"), RULES)
    assert ("U1", "n_goals") in {(f.cell["org_unit_id"], f.count) for f in before.findings}
    assert not before.structural
    result = suppress(con, RULES)
    assert (result.unprotected, result.structural) == (0, 0)
    assert audit(read_open_tables(con, "open"), RULES).passed


def _system(relations: list[dict[int, float]], n: int) -> _System:
    """Relations as {quantity: coefficient}; only the relations' arrays matter here."""
    rel = np.array([r for r, terms in enumerate(relations) for _ in terms], dtype=np.int64)
    qid = np.array([q for terms in relations for q in terms], dtype=np.int64)
    coef = np.array([c for terms in relations for c in terms.values()], dtype=float)
    unused = np.zeros(n)
    return _System(rel, qid, coef, len(relations), unused, unused, unused, unused.astype(int),
                   unused.astype(object), unused.astype(bool), unused.astype(bool), unused)  # fmt: skip


def test_a_count_a_published_zero_pins_is_excused_and_one_a_difference_pins_is_not():
    """The national run's case: the goals the administration publishes in the authority role
    (q0) equal its provider role's (q1), the sum of its units' (q2 primary, q3 withheld)."""
    relations = [{0: 1.0, 1: -1.0}, {1: 1.0, 2: -1.0, 3: -1.0}]

    def pinned(published: dict[int, float]) -> list[int]:
        system = _system(relations, 4)
        system.value = np.array([published.get(q, np.nan) for q in range(4)])
        system.lower, system.upper = np.zeros(4), np.full(4, np.inf)
        system.cell, system.measure = np.arange(4), np.array(["n_goals"] * 4, dtype=object)
        system.is_primary_cell = np.array([False, False, True, False])
        withheld = np.array([q not in published for q in range(4)])
        return _pinned_by_zeros(system, RULES, [2], withheld)

    assert pinned({0: 0.0}) == [2]  # no goals anywhere: U's 0 is everyone's
    assert pinned({}) == []  # the zero withheld: nothing pins it
    assert pinned({0: 7.0, 3: 7.0}) == []  # 7 - 7: figures give it away, to be protected


def test_propagated_bounds_hold_the_lp_range_so_a_count_they_call_exposed_is():
    """A total of 3 over two withheld cells of at least 1: each is 1 or 2, without a solve. On
    random systems the propagated bounds always contain the range the LP finds."""
    system = _system([{0: -1.0, 1: 1.0, 2: 1.0}], 3)
    low, high = _propagated_bounds(
        system, np.array([False, True, True]), np.array([3.0]),
        np.array([0.0, 1.0, 1.0]), np.array([np.inf, np.inf, np.inf]),
    )  # fmt: skip
    assert (low[1:].tolist(), high[1:].tolist()) == ([1.0, 1.0], [2.0, 2.0])

    rng = np.random.default_rng(7)
    for _case in range(25):
        n = 6
        truth = rng.integers(0, 12, n).astype(float)
        relations = [
            {int(q): float(rng.choice([-1.0, 1.0])) for q in rng.choice(n, 3, replace=False)}
            for _ in range(4)
        ]
        system = _system(relations, n)
        rhs = np.array([sum(c * truth[q] for q, c in r.items()) for r in relations])
        lower = np.where(rng.random(n) < 0.5, 0.0, truth - rng.integers(0, 3, n))
        upper = np.where(rng.random(n) < 0.5, np.inf, truth + rng.integers(0, 3, n))
        low, high = _propagated_bounds(system, np.ones(len(system.rel), bool), rhs, lower, upper)
        a_eq = np.zeros((len(relations), n))
        for r, terms in enumerate(relations):
            for q, c in terms.items():
                a_eq[r, q] = c
        for q in range(n):
            for sense, bound in ((1.0, low[q]), (-1.0, high[q])):
                cost = np.zeros(n)
                cost[q] = sense
                lp = linprog(cost, A_eq=a_eq, b_eq=rhs, bounds=np.column_stack([lower, upper]))
                if lp.status == 3:  # unbounded: the propagated bound must be infinite too
                    assert math.isinf(bound)
                else:
                    assert lp.status == 0
                    assert sense * bound <= lp.fun + 1e-7, (relations, q)


BUDGET = "ind_budget"
QUARTERS = [("quarter", f"2019Q{q}") for q in (1, 2, 3, 4)]
YEAR, WINDOW = ("year", "2019"), ("rolling_4q", "2019Q1-2019Q4")


def cost_periods() -> dict[tuple[str, str], list[tuple]]:
    """Three authority units' spending on one function (5.38) in each quarter of 2019, their
    year and their rolling window (the sums of the quarters), and the year's budget lines.
    U1 has 3 citizens in 2019Q2 only, so that quarter's cells are primary; in the year U1 has
    9 citizens, so dbt publishes U1's year."""
    citizens = {"U1": [8, 3, 8, 8], "U2": [9, 9, 9, 9], "U3": [10, 10, 10, 10]}
    spending = {"U1": [80_000.0, 30_000.0, 80_000.0, 80_000.0], "U2": [95_000.0] * 4,
                "U3": [120_000.0] * 4}  # fmt: skip
    year_citizens = {"U1": 9, "U2": 10, "U3": 11}

    def counts(unit_citizens: int, unit_spending: float) -> dict:
        return {"n_citizens": unit_citizens, "spending_dkk": unit_spending,
                "intervention_days": 30 * unit_citizens, "n_citizens_with_goals": unit_citizens,
                "n_goals": 2 * unit_citizens, "n_goals_achieved": unit_citizens,
                "n_citizens_assessed": unit_citizens, "n_citizens_improved": 1}  # fmt: skip

    def cells_of(units: dict[str, dict], with_budget: bool) -> list[tuple]:
        area = {c: sum(u[c] for u in units.values()) for c in next(iter(units.values()))}
        cells = []
        for unit, values in {**units, "ORG-10": area, "ORG-1": area}.items():
            roles = ("authority", "provider") if unit == "ORG-1" else ("authority",)
            primary = "primary" if values["n_citizens"] < 5 else None
            for role in roles:
                for categories in (("all", "all"), ("function", "5.38")):
                    cells.append((COSTS, role, unit, categories, values, primary))
                cells.append((CE, role, unit, ("all", "all"), values, primary))
                if with_budget:
                    line = {"n_citizens": values["n_citizens"],
                            "spent_to_date_dkk": values["spending_dkk"],
                            "expected_by_grants_dkk": values["spending_dkk"] + 10_000.0}  # fmt: skip
                    for function in ("5.38", "all"):
                        cells.append((BUDGET, role, unit, (function,), line, primary))
        return cells

    periods = {
        quarter: cells_of({u: counts(citizens[u][q], spending[u][q]) for u in citizens}, False)
        for q, quarter in enumerate(QUARTERS)
    }
    year = {u: counts(year_citizens[u], sum(spending[u])) for u in citizens}
    periods[YEAR] = cells_of(year, with_budget=True)
    periods[WINDOW] = cells_of(year, with_budget=False)
    return periods


def _open_spending(con, table: str, unit: str, period: tuple[str, str]) -> float | None:
    return con.execute(
        f"select spending_dkk from open.{table} where org_unit_id = ? and period_type = ? "
        "and period_label = ? and breakdown_by = 'all'",
        [unit, *period],
    ).fetchone()[0]


def test_a_withheld_quarter_is_not_its_year_minus_its_published_quarters(
    indicator_schema, monkeypatch
):
    import orchestration.disclosure.suppression as suppression

    con = indicator_schema(cost_periods())
    # Protected quarter by quarter only, U1's year gives its withheld quarter away: the year's
    # spending minus the three published quarters is the 30,000 DKK of U1's 3 citizens.
    with monkeypatch.context() as patched:
        patched.setattr(suppression, "_withhold_periods_with_their_quarters", lambda con: None)
        assert suppress(con, RULES).unprotected == 0
    published = [_open_spending(con, COSTS, "U1", q) for q in (QUARTERS[0], *QUARTERS[2:])]
    assert _open_spending(con, COSTS, "U1", QUARTERS[1]) is None
    assert _open_spending(con, COSTS, "U1", YEAR) - sum(published) == 30_000.0
    findings = audit(read_open_tables(con, "open"), RULES).findings
    assert any(f.reason and f.cell["org_unit_id"] == "U1" and f.cell["period_label"] == "2019"
               and "2019Q2" in f.describe() for f in findings)  # fmt: skip

    result = suppress(con, RULES)
    assert result.unprotected == 0
    after = audit(read_open_tables(con, "open"), RULES)
    assert after.passed, [f.describe() for f in after.findings]
    # Each quarter-2 cell that is withheld (U1's and the partner chosen beside it) takes its
    # year and window with it, in both cost tables, with its budget line and budget total.
    withheld = {
        unit
        for (unit,) in con.execute(
            "select org_unit_id from open.ind_costs where period_label = '2019Q2' and is_suppressed"
        ).fetchall()
    }
    assert "U1" in withheld and len(withheld) >= 2
    for unit in withheld:
        for period in (YEAR, WINDOW):
            for table in (COSTS, CE):
                assert _open_spending(con, table, unit, period) is None, (table, unit, period)
        budget = con.execute(
            "select function, suppression from open.ind_budget where org_unit_id = ?", [unit]
        ).fetchall()
        assert sorted(budget) == [("5.38", "secondary"), ("all", "secondary")]
    # The units whose quarters are all published keep their year, and every published figure
    # is the one dbt computed.
    kept = {"U1", "U2", "U3"} - withheld
    assert kept and all(_open_spending(con, COSTS, u, YEAR) is not None for u in kept)
    for table, parts in (
        (COSTS, ""),
        (CE, " and coalesce(goals_suppression, ability_suppression) is null"),
        (BUDGET, ""),
    ):
        changed = con.execute(
            f"select * from open.{table} where suppression is null{parts} "
            f"except all select * from indicators.{table}"
        ).fetchall()
        assert changed == []


def test_a_partner_is_taken_from_the_units_before_the_administrations_total():
    """In a relation with a big administration cell and a small unit cell published, the unit
    goes: withheld, the administration's figure would take its year and windows with it."""
    system = _system([{0: 1.0, 1: 1.0, 2: -1.0}], 3)
    system = dataclasses.replace(
        system,
        cell=np.arange(3),
        value=np.array([np.nan, 40.0, 3.0]),
        cost=np.array([1.0, 100.0, 1.0]),
        headline=np.array([False, True, False]),
    )
    order = _cheapest_first(system, np.array([1, 2]), needed=10.0)
    assert system.cell[system.qid[order]].tolist() == [2, 1]
    # Without the administration's mark, a cell big enough to hide the small one goes first.
    plain = dataclasses.replace(system, headline=None)
    assert plain.cell[plain.qid[_cheapest_first(plain, np.array([1, 2]), 10.0)]].tolist() == [1, 2]
