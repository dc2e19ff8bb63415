"""The contract is self-consistent, and its document is rendered from it."""

from orchestration.contract import codelist, codelist_values, load_contract
from orchestration.contract.docs import DOC, render

ENTITY_ORDER = [
    "org_units", "citizens", "cases", "interventions",
    "assessments", "assessment_scores", "goals", "goal_followups",
    "grants", "payments", "budgets",  # optional, since contract 1.1
]  # fmt: skip


def test_entities_are_the_eight_of_v1_and_the_three_cost_files_in_load_order():
    assert list(load_contract().entities) == ENTITY_ORDER


def test_every_reference_points_up_the_load_order_to_a_key():
    contract = load_contract()
    for position, entity in enumerate(contract.entities.values()):
        for column in entity.columns:
            if column.reference:
                parent, parent_column = column.reference
                assert ENTITY_ORDER.index(parent) <= position, (entity.name, column.name)
                assert contract.entity(parent).key == (parent_column,)


def test_every_code_list_named_by_a_column_exists_with_values():
    for entity in load_contract().entities.values():
        for column in entity.columns:
            if column.codelist:
                assert codelist_values(column.codelist), (entity.name, column.name)


def test_crosswalk_maps_about_75_vum2_sub_themes_to_the_seven_vum_themes():
    crosswalk = codelist("vum2_crosswalk")
    themes = {r["theme"] for r in codelist("assessment_themes") if r["instrument_family"] == "VUM"}
    assert len(crosswalk) == 75
    assert len({r["sub_theme"] for r in crosswalk}) == 75
    assert {r["vum_theme"] for r in crosswalk} == themes - {"overall"}


def test_life_themes_match_domain_md():
    pairs = {(r["life_theme"], r["sub_theme"]) for r in codelist("life_themes")}
    assert pairs == {
        ("learning_and_self_support", "school_daycare_employment"),
        ("network_and_citizenship", "family_relations"),
        ("network_and_citizenship", "leisure_and_friendships"),
        ("personal_development", "health"),
        ("personal_development", "development_and_behaviour"),
    }


def test_personal_and_free_text_columns_are_marked():
    contract = load_contract()
    assert contract.entity("citizens").column("cpr").personal
    texts = {
        (e.name, c.name) for e in contract.entities.values() for c in e.columns if c.is_free_text
    }
    assert {
        ("goals", "description"),
        ("goal_followups", "comment"),
        ("assessments", "comment"),
    } <= texts


def test_the_document_shows_the_contract_as_it_is():
    assert render() in DOC.read_text(encoding="utf-8"), (
        "docs/extract-contract.md is stale: run python -m orchestration.contract.docs"
    )
