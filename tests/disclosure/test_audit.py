"""The audit's ranges against brute force, and what it finds on hand-made tables."""

import itertools
import json

import pandas as pd

from orchestration.disclosure import DisclosureRules
from orchestration.disclosure.audit import audit, ranges_of
from tests.disclosure.conftest import frames

RULES = DisclosureRules(threshold=5, protection_width=5, citizen_width=1)
GT = "ind_goal_type_achievement"


def goal_types(pattern: dict[tuple[str, str], str]) -> list[tuple]:
    """Goals by type in an area of two units (authority) and at the administration in both
    roles; `pattern` withholds (unit, type) cells: 'primary' or 'secondary'.

                 progression  maintenance  all
        U1            3            8        11
        U2            6            9        15
        ORG-10        9           17        26   (= ORG-1, in both roles)
    """
    goals = {"U1": (3, 8), "U2": (6, 9), "ORG-10": (9, 17), "ORG-1": (9, 17)}
    achieved = {"U1": (2, 5), "U2": (1, 2), "ORG-10": (3, 7), "ORG-1": (3, 7)}
    cells = []
    for unit, (progression, maintenance) in goals.items():
        roles = ("authority", "provider") if unit == "ORG-1" else ("authority",)
        done = achieved[unit]
        for role in roles:
            for goal_type, n, a in (("progression", progression, done[0]),
                                    ("maintenance", maintenance, done[1]),
                                    ("all", progression + maintenance, sum(done))):  # fmt: skip
                counts = {"n_goals": n, "n_achieved": a, "n_citizens": n - 1}
                cells.append((GT, role, unit, (goal_type,), counts, pattern.get((unit, goal_type))))
    return cells


def brute_force(pattern, truth) -> dict[str, tuple[int, int]]:
    """Every integer assignment to the withheld n_goals that satisfies the table's sums and
    what the labels say (primary: at least one goal; secondary: at least the threshold)."""
    hidden = sorted(pattern)
    feasible = []
    for values in itertools.product(range(0, 27), repeat=len(hidden)):
        guess = dict(truth) | dict(zip(hidden, values, strict=True))
        if any(guess[c] < (1 if pattern[c] == "primary" else 5) for c in hidden):
            continue
        rows_add_up = all(
            guess[(u, "progression")] + guess[(u, "maintenance")] == guess[(u, "all")]
            for u in ("U1", "U2", "ORG-10")
        )
        units_add_up = all(
            guess[("U1", t)] + guess[("U2", t)] == guess[("ORG-10", t)]
            for t in ("progression", "maintenance", "all")
        )
        if rows_add_up and units_add_up:
            feasible.append(guess)
    return {
        c: (min(g[c] for g in feasible), max(g[c] for g in feasible))
        for c in hidden
        if pattern[c] == "primary"
    }


TRUTH = {
    (u, t): n
    for u, row in {"U1": (3, 8), "U2": (6, 9), "ORG-10": (9, 17)}.items()
    for t, n in zip(("progression", "maintenance", "all"), (*row, sum(row)), strict=True)
}
PATTERNS = {
    # A lone withheld cell: its row total minus its sibling.
    "lone": {("U1", "progression"): "primary"},
    # A rectangle of four: partners known to hold at least 5 goals narrow U1 to 1..4.
    "rectangle": {("U1", "progression"): "primary", ("U1", "maintenance"): "secondary",
                  ("U2", "progression"): "secondary", ("U2", "maintenance"): "secondary"},
    # The rectangle with the area's progression withheld as well: the total no longer pins it.
    "open_total": {("U1", "progression"): "primary", ("U1", "maintenance"): "secondary",
                   ("U2", "progression"): "secondary", ("U2", "maintenance"): "secondary",
                   ("ORG-10", "progression"): "secondary", ("ORG-10", "maintenance"): "secondary",
                   ("ORG-1", "progression"): "secondary", ("ORG-1", "maintenance"): "secondary"},
}  # fmt: skip


def test_the_audits_ranges_are_those_of_brute_force_enumeration():
    for name in ("lone", "rectangle"):
        pattern = PATTERNS[name]
        expected = brute_force(pattern, TRUTH)
        found = ranges_of(frames(goal_types(pattern)), RULES)
        goals = found[(found["table"] == GT) & (found["count_name"] == "n_goals")]
        got = {(r.org_unit_id, r.goal_type): (r.smallest, r.largest) for r in goals.itertuples()}
        assert got == expected, name
    assert expected == {("U1", "progression"): (1, 4)}
    # With the area's cells withheld too, only U1's own total (11) bounds it: U1's maintenance
    # holds at least 5 (a secondary cell has at least 5 citizens, each with a goal).
    found = ranges_of(frames(goal_types(PATTERNS["open_total"])), RULES)
    goals = found[(found["table"] == GT) & (found["count_name"] == "n_goals")]
    assert list(zip(goals["smallest"], goals["largest"], strict=True)) == [(1, 6)]


def test_a_lone_or_hemmed_in_primary_cell_is_a_finding_that_names_it():
    for name in ("lone", "rectangle"):
        result = audit(frames(goal_types(PATTERNS[name])), RULES)
        assert not result.passed
        texts = [f.describe() for f in result.findings if f.count == "n_goals"]
        assert any("org_unit_id=U1" in t and "goal_type=progression" in t for t in texts), name
    lone = audit(frames(goal_types(PATTERNS["lone"])), RULES).summary()["findings"]
    assert {"count": "n_goals", "smallest": 3, "largest": 3} in [
        {k: f[k] for k in ("count", "smallest", "largest")} for f in lone
    ]


def test_an_open_total_protects_the_cell():
    result = audit(frames(goal_types(PATTERNS["open_total"])), RULES)
    assert result.passed, [f.describe() for f in result.findings]
    assert result.checked_counts == 3  # n_goals, n_achieved and n_citizens of U1's cell


def test_the_protection_width_is_configurable():
    # 1..4 is wide enough when only exact values count.
    exact_only = DisclosureRules(threshold=5, protection_width=1, citizen_width=1)
    assert audit(frames(goal_types(PATTERNS["rectangle"])), exact_only).passed
    assert not audit(frames(goal_types(PATTERNS["rectangle"])), RULES).passed


def test_a_period_published_beside_a_withheld_quarter_is_a_finding():
    """Years, windows and budget lines are sums of quarters; the ranges are per period, so the
    audit also finds every published sum that reaches a withheld cell."""
    costs = {"n_citizens": 9, "spending_dkk": 90_000.0, "intervention_days": 270}
    line = {"n_citizens": 9, "spent_to_date_dkk": 90_000.0, "expected_by_grants_dkk": 99_000.0}
    secondary = "secondary"
    periods = {
        ("quarter", "2019Q1"): [("ind_costs", "authority", "U1", ("all", "all"), costs, secondary),
                                ("ind_costs", "authority", "U2", ("all", "all"), costs, None)],
        ("year", "2019"): [
            ("ind_costs", "authority", "U1", ("all", "all"), costs, None),
            ("ind_costs", "authority", "U1", ("function", "5.38"), costs, secondary),
            ("ind_costs", "authority", "U2", ("all", "all"), costs, secondary),
            ("ind_cost_effect", "authority", "U2", ("all", "all"), costs, None),
            ("ind_budget", "authority", "U1", ("5.38",), line, None),
            ("ind_budget", "authority", "U2", ("5.38",), line, secondary),
            ("ind_budget", "authority", "U2", ("all",), line, None),
        ],
    }  # fmt: skip
    by_period = [frames(cells, period) for period, cells in periods.items()]
    tables = {
        t: pd.concat([f[t] for f in by_period if len(f[t])] or [by_period[0][t]], ignore_index=True)
        for t in by_period[0]
    }
    result = audit(tables, RULES)
    assert not result.passed
    found = {
        (f.table, f.cell["org_unit_id"], f.cell.get("function", f.cell.get("breakdown")))
        for f in result.findings
        if f.reason
    }
    assert found == {
        ("ind_costs", "U1", "all"),  # the year beside its withheld 2019Q1
        ("ind_cost_effect", "U2", "all"),  # the same cell as ind_costs' withheld one
        ("ind_budget", "U1", "5.38"),  # its year's spending on 5.38 is withheld
        ("ind_budget", "U2", "all"),  # its line 5.38 is withheld
    }
    texts = [f["text"] for f in json.loads(json.dumps(result.summary()))["findings"]]
    assert any("period_label=2019" in t and "quarter 2019Q1 is withheld" in t for t in texts)
