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
