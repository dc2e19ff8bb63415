"""Generated deliveries meet the contract and follow DOMAIN.md."""

import datetime as dt

import pytest

from orchestration.contract import load_contract
from tests.conftest import END, load_checked


@pytest.fixture(scope="module")
def con(clean_delivery):
    return load_checked(clean_delivery.path)


def one(con, sql):
    return con.execute(sql).fetchone()[0]


def test_clean_delivery_validates_against_the_contract(con, clean_delivery):
    findings = con.execute(
        "select entity, reason, count(*) from raw.findings group by all"
    ).fetchall()
    assert findings == []
    for entry in clean_delivery.manifest["files"]:
        assert one(con, f"select count(*) from raw.{entry['entity']}") == entry["rows"] > 0


def test_no_goal_on_a_compensating_intervention(con):
    assert one(con, """select count(*) from chk.goals g join chk.interventions i
                       on g.intervention_id__v = i.intervention_id__v
                       where i.intervention_type = 'compensating'""") == 0  # fmt: skip
    assert one(con, "select count(*) from chk.goals") > 500


def test_follow_ups_come_after_their_goal(con):
    assert one(con, """select count(*) from chk.goal_followups f join chk.goals g
                       on f.goal_id__v = g.goal_id__v
                       where f.followed_up_on__v < g.set_on__v""") == 0  # fmt: skip


def test_vum2008_only_before_the_change_and_vum2_only_after(con):
    change = load_contract().vum2_change_date
    rows = dict(con.execute(
        "select instrument, [min(assessed_on__v), max(assessed_on__v)] from chk.assessments group by 1"
    ).fetchall())  # fmt: skip
    assert rows["VUM2008"][1] < change <= rows["VUM2"][0]
    assert set(rows) == {"VUM2008", "VUM2", "DIALOG"}


def test_dialog_only_for_children_and_vum_only_for_adults(con):
    ages = dict(con.execute("""
        select instrument = 'DIALOG', [min(age), max(age)] from (
            select instrument, completed_years(cpr_birth_date(cpr), assessed_on__v) as age
            from chk.assessments) group by 1""").fetchall())  # fmt: skip
    assert ages[True][1] < 18 <= ages[False][0]


def test_every_reference_resolves(con):
    assert one(con, "select count(*) from raw.findings where reason = 'orphan_reference'") == 0
    assert one(con, """select count(*) from chk.assessments a
                       join chk.cases c on a.case_id__v = c.case_id__v
                       where a.cpr <> c.cpr""") == 0  # fmt: skip


def test_vum2_assessments_score_every_sub_theme(con):
    counts = con.execute("""select distinct count(*) from chk.assessment_scores s
                            join chk.assessments a on s.assessment_id__v = a.assessment_id__v
                            where a.instrument = 'VUM2' group by s.assessment_id""").fetchall()
    assert counts == [(75,)]


def test_organisation_has_three_levels_both_roles_and_closed_units(con):
    levels = dict(con.execute("select level__v, count(*) from chk.org_units group by 1").fetchall())
    assert levels[1] == 1 and levels[2] == 3 and levels[3] >= 12
    roles = {
        r
        for (r,) in con.execute(
            "select distinct org_role from chk.org_units where level__v = 3"
        ).fetchall()
    }
    assert roles == {"authority", "provider"}
    assert (
        one(
            con,
            "select count(*) from chk.org_units where name = 'Døgncentret' and closed_on__v is not null",
        )
        == 1
    )
    assert one(con, "select count(*) from chk.org_units where closed_on__v is not null") >= 1


def test_children_youth_adults_and_all_intervention_and_goal_types_occur(con):
    assert {"children", "youth", "adults"} == {
        r for (r,) in con.execute("select distinct target_group from chk.citizens").fetchall()
    }
    assert one(con, "select count(distinct intervention_type) from chk.interventions") == 3
    assert one(con, "select count(distinct goal_type) from chk.goals") == 3
    assert one(con, "select count(*) from chk.goals where parent_goal_id__v is not null") > 0
    assert one(con, "select count(distinct legal_basis) from chk.cases") >= 8


def test_danish_letters_survive_windows_1252(con):
    assert (
        one(con, "select count(*) from chk.citizens where regexp_matches(last_name, '[æøåÆØÅ]')")
        > 0
    )
    assert one(con, "select count(*) from chk.org_units where regexp_matches(name, '[æøåÆØÅ]')") > 0


def test_average_goal_attainment_is_near_the_seeds_50_to_60_percent(con):
    """DOMAIN.md: latest follow-up per goal in the period, share achieved per citizen, mean."""
    pct = one(con, """
        with latest as (
            select f.goal_id__v, arg_max(f.gas_score__v, f.followed_up_on__v) as gas
            from chk.goal_followups f
            where f.followed_up_on__v between date '2018-01-01' and date '2018-12-31' group by 1),
        per_citizen as (
            select c.cpr, avg(case when l.gas >= 0 then 1 else 0 end) as share
            from latest l join chk.goals g on l.goal_id__v = g.goal_id__v
            join chk.interventions i on g.intervention_id__v = i.intervention_id__v
            join chk.cases c on i.case_id__v = c.case_id__v group by 1)
        select 100 * avg(share) from per_citizen""")  # fmt: skip
    assert 48 <= pct <= 62


def test_nothing_is_dated_after_the_extract(con):
    end = END
    for entity, column in [("cases", "opened_on"), ("goals", "set_on"),
                           ("goal_followups", "followed_up_on"), ("assessments", "assessed_on")]:  # fmt: skip
        assert one(con, f"select max({column}__v) from chk.{entity}") <= end


def test_earlier_extract_is_a_consistent_snapshot_of_the_same_history(make_delivery):
    early = load_checked(make_delivery(citizens=400, extract_at=dt.date(2018, 6, 30)).path)
    late = load_checked(make_delivery(citizens=400).path)
    assert one(early, "select count(*) from raw.findings") == 0
    early_goals = set(
        early.execute("select goal_id, set_on, intervention_id from raw.goals").fetchall()
    )
    late_goals = set(
        late.execute("select goal_id, set_on, intervention_id from raw.goals").fetchall()
    )
    assert early_goals and early_goals < late_goals
    early_fu = set(
        early.execute("select followup_id, gas_score from raw.goal_followups").fetchall()
    )
    late_fu = set(late.execute("select followup_id, gas_score from raw.goal_followups").fetchall())
    assert early_fu < late_fu
    # A case closed after the early extract is still open in it.
    reopened = one(early, "select count(*) from chk.cases where closed_on__v > date '2018-06-30'")
    assert reopened == 0
