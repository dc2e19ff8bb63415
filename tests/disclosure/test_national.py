"""Three municipalities under the national level, on hand-made cells: the nation is the sum of
the municipalities' administrations, and a count pinned by which rows exist is told apart from
one a published figure gives away (docs/disclosure-control.md, "Structural ranges")."""

from orchestration.disclosure import DisclosureRules
from orchestration.disclosure.audit import audit, read_open_tables
from orchestration.disclosure.suppression import suppress

RULES = DisclosureRules(threshold=5, protection_width=5, citizen_width=1)
FA = "ind_functional_ability"


def three_municipalities() -> list[tuple]:
    """Citizens with a functional-ability comparison, authority role (a comparison has one
    authority, so they add up the hierarchy), in two themes:

    - `mobility`: 461 has 3 (in its unit U1), 101 has 20 and 751 has 10, the nation 33. Only
      461 is primary; the nation minus 101 and 751 gives its 3 unless a partner is withheld.
    - `health`: the nation has 4, 101 and 751 one each, 461 two (one in each of its units).
      Every cell is primary, yet a reader who counts the rows knows the nation holds at least
      four units with a citizen each and at most 4 citizens: every count is exact, whatever
      is withheld."""
    cells = []
    for theme, counts in {
        "mobility": {"national": 33, "101:ORG-1": 20, "751:ORG-1": 10, "461:ORG-1": 3, "461:U1": 3},
        "health": {"national": 4, "101:ORG-1": 1, "751:ORG-1": 1, "461:ORG-1": 2, "461:U1": 1,
                   "461:U2": 1},
    }.items():  # fmt: skip
        for unit, citizens in counts.items():
            primary = "primary" if citizens < 5 else None
            cells.append((FA, "authority", unit, ("VUM", theme), {"n_citizens": citizens}, primary))
    return cells


def test_the_nation_is_the_sum_of_the_municipalities_and_row_pins_do_not_block(indicator_schema):
    con = indicator_schema(three_municipalities())
    before = audit(read_open_tables(con, "indicators"), RULES)
    # As dbt leaves them: 461's 3 citizens are the nation's minus 101's and 751's (a figure
    # gives them away), and every health count is exact from the rows alone.
    blocking = {(f.cell["theme"], f.cell["org_unit_id"]) for f in before.findings}
    assert blocking == {("mobility", "461:ORG-1"), ("mobility", "461:U1")}
    pinned = {(f.cell["theme"], f.cell["org_unit_id"], f.smallest) for f in before.structural}
    assert pinned == {("health", "national", 4), ("health", "101:ORG-1", 1),
                      ("health", "751:ORG-1", 1), ("health", "461:ORG-1", 2),
                      ("health", "461:U1", 1), ("health", "461:U2", 1)}  # fmt: skip

    result = suppress(con, RULES)
    assert (result.unprotected, result.structural) == (0, 6)
    after = audit(read_open_tables(con, "open"), RULES)
    assert after.passed, [f.describe() for f in after.findings]
    assert {(f.cell["theme"], f.cell["org_unit_id"]) for f in after.structural} == {
        (theme, unit) for theme, unit, _ in pinned
    }
    withheld = con.execute(
        f"select theme, org_unit_id, suppression from open.{FA} where suppression is not null"
    ).fetchall()
    # One partner at the national relation (the nation or another municipality), none for the
    # health cells: withholding could not widen them.
    partners = {(t, u) for t, u, s in withheld if s == "secondary"}
    assert len(partners) == 1 and partners <= {
        ("mobility", "national"),
        ("mobility", "101:ORG-1"),
        ("mobility", "751:ORG-1"),
    }
    assert {(t, u) for t, u, s in withheld if s == "primary"} == {
        ("mobility", "461:ORG-1"),
        ("mobility", "461:U1"),
        *((t, u) for t, u, _ in pinned),
    }


GA, GT, CM = "ind_goal_attainment", "ind_goal_type_achievement", "ind_case_mix"
# Goals followed up by provider at each administration and the nation: (citizens, goals,
# achieved); ind_case_mix's goals_achieved row counts the same goals.
GOALS = {"national": (23, 34, 23), "101:ORG-1": (12, 20, 15), "751:ORG-1": (8, 10, 6),
         "461:ORG-1": (3, 4, 2)}  # fmt: skip
# Functional-ability comparisons in 461 by theme (authority: citizens add up to the cases).
ABILITY = {"mobility": 2, "health": 6}
CASES = {"101": (15, 20, 11), "751": (7, 10, 4), "461": (6, 8, 3)}  # citizens, cases, improved


def case_mix_and_what_it_equals() -> list[tuple]:
    cells = []
    for unit, (citizens, goals, achieved) in GOALS.items():
        primary = "primary" if citizens < 5 else None
        counts = {"n_citizens": citizens, "n_goals": goals, "n_achieved": achieved}
        for role in ("authority", "provider"):  # the administrations count them in both roles
            cells.append((GT, role, unit, ("all",), counts, primary))
            cells.append((GA, role, unit, ("all", "all"), counts, primary))
        code = "000" if unit == "national" else unit.split(":")[0]
        mix = {"n_citizens": citizens, "n_cases": goals, "observed": achieved}
        cells.append((CM, None, code, ("goals_achieved",), mix, primary))
    for theme, citizens in ABILITY.items():
        primary = "primary" if citizens < 5 else None
        counts = {"n_citizens": citizens}
        cells.append((FA, "authority", "461:ORG-1", ("VUM", theme), counts, primary))
    for code, (citizens, cases, improved) in {**CASES, "000": (28, 38, 18)}.items():
        mix = {"n_citizens": citizens, "n_cases": cases, "observed": improved}
        cells.append((CM, None, code, ("ability_improved",), mix, None))
    return cells


def test_the_case_mix_rows_are_the_nations_sum_and_the_unit_tables_cells(indicator_schema):
    con = indicator_schema(case_mix_and_what_it_equals())
    before = audit(read_open_tables(con, "indicators"), RULES)
    found = {(f.table, f.cell.get("org_unit_id", f.cell.get("municipality_code")), f.count,
              f.smallest) for f in before.findings}  # fmt: skip
    # 461's goals: the nation's minus 101's and 751's (in either table); its mobility citizens:
    # its ability cases (8) minus its health citizens (6).
    assert {(CM, "461", "n_cases", 4), (CM, "461", "observed", 2), (GT, "461:ORG-1", "n_goals", 4),
            (FA, "461:ORG-1", "n_citizens", 2)} <= found  # fmt: skip
    assert not before.structural

    result = suppress(con, RULES)
    assert (result.unprotected, result.structural) == (0, 0)
    tables = read_open_tables(con, "open")
    after = audit(tables, RULES)
    assert after.passed, [f.describe() for f in after.findings]
    mix, goals = tables[CM], tables[GT]
    withheld_mix = set(mix.loc[mix["is_suppressed"], ["municipality_code", "indicator"]].itertuples(
        index=False, name=None))  # fmt: skip
    assert ("461", "ability_improved") in withheld_mix or tables[FA]["is_suppressed"].all()
    # A municipality's goals row and its administration's goal-type cell are withheld together:
    # one published beside the other withheld would give it away.
    provider = goals[goals["org_role"] == "provider"]
    for row in provider.itertuples():
        code = "000" if row.org_unit_id == "national" else row.org_unit_id.split(":")[0]
        assert row.is_suppressed == ((code, "goals_achieved") in withheld_mix), row.org_unit_id
    # The audit uses that link: publish the case-mix twins of the withheld goal-type cells
    # (101's and 751's), and 461's goals are the nation's minus theirs again.
    reopened = {**tables, CM: mix.copy()}
    for unit in ("101:ORG-1", "751:ORG-1"):
        assert provider.loc[provider["org_unit_id"] == unit, "suppression"].eq("secondary").all()
        twin = (mix["municipality_code"] == unit[:3]) & (mix["indicator"] == "goals_achieved")
        reopened[CM].loc[twin, ["n_citizens", "n_cases", "observed"]] = list(GOALS[unit])
        reopened[CM].loc[twin, ["is_suppressed", "suppression"]] = [False, None]
    exposed = {(f.table, f.count, f.smallest, f.largest) for f in audit(reopened, RULES).findings}
    assert {(GT, "n_goals", 4, 4), (CM, "n_cases", 4, 4)} <= exposed


def test_publishing_the_case_mix_changes_no_cell_of_the_other_tables(indicator_schema):
    """The unit tables are protected first, as if ind_case_mix were not published; its rows are
    fitted around them, withholding only its own: here 461's ability row (its cases minus its
    health citizens would give its mobility citizens)."""
    cells = case_mix_and_what_it_equals()
    con = indicator_schema(cells)
    suppress(con, RULES)
    with_mix = read_open_tables(con, "open")
    con = indicator_schema([c for c in cells if c[0] != CM])
    suppress(con, RULES)
    without = read_open_tables(con, "open")
    for table, frame in without.items():
        if table != CM:
            assert frame.equals(with_mix[table]), table
    mix = with_mix[CM].set_index(["municipality_code", "indicator"])
    assert mix.loc[("461", "ability_improved"), "suppression"] == "secondary"
    assert audit(with_mix, RULES).passed
