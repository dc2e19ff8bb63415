"""Generated cost files (contract 1.1): consistent snapshots, realistic and correct amounts."""

import datetime as dt

import pytest

from tests.conftest import load_checked


@pytest.fixture(scope="module")
def late(make_delivery):
    return load_checked(make_delivery(citizens=400, costs=True).path)


@pytest.fixture(scope="module")
def early(make_delivery):
    return load_checked(
        make_delivery(citizens=400, costs=True, extract_at=dt.date(2018, 6, 30)).path
    )


def rows(con, sql):
    return con.execute(sql).fetchall()


def test_a_clean_delivery_with_cost_files_meets_the_contract(late, early):
    for con in (late, early):
        assert rows(con, "select count(*) from raw.findings") == [(0,)]
        for entity in ("grants", "payments", "budgets"):
            assert rows(con, f"select count(*) > 0 from raw.{entity}") == [(True,)], entity


def test_an_earlier_extract_is_a_consistent_snapshot_of_the_same_costs(early, late):
    # A grant's rate and start never change; a period closed early stays closed the same.
    grants = "select grant_id, intervention_id, rate_dkk, rate_unit, function, valid_from{} from raw.grants"
    closed = set(rows(early, grants.format(", valid_to") + " where valid_to <> ''"))
    assert closed and closed <= set(rows(late, grants.format(", valid_to")))
    assert set(rows(early, grants.format(""))) < set(rows(late, grants.format("")))
    # Every payment made by then is there later, for the same period; only a correction
    # (a few, 60 days or more after booking) changes an amount.
    pay = "select payment_id, grant_id, period_from, period_to, paid_on{} from raw.payments"
    assert set(rows(early, pay.format(""))) < set(rows(late, pay.format("")))
    late.register("early_payments", early.execute("select * from raw.payments").df())
    changed = rows(late, """
        select count(*), count(*) filter (where p.paid_on__v > date '2018-06-30' - 60)
        from chk.payments p join early_payments e using (payment_id)
        where e.amount_dkk <> p.amount_dkk""")  # fmt: skip
    (total,) = rows(early, "select count(*) from raw.payments")[0]
    assert 0 < changed[0][0] < 0.06 * total and changed[0][1] == changed[0][0]
    # A budget line adopted or revised by then is the same later.
    budgets = "select budget_year, org_unit_id, function, amount_dkk, revised_on from raw.budgets"
    assert set(rows(early, budgets)) < set(rows(late, budgets))


def test_payments_lie_in_their_grant_and_equal_rate_times_days(late):
    (outside,) = rows(late, """
        select count(*) from chk.payments p join chk.grants g on g.grant_id__v = p.grant_id__v
        where p.period_from__v < g.valid_from__v or p.period_to__v > coalesce(g.valid_to__v, p.period_to__v)
           or p.intervention_id__v <> g.intervention_id__v""")[0]  # fmt: skip
    assert outside == 0
    # Rate times days covered (an hour rate times the weekly hours): exact but for corrections.
    share_exact = rows(late, """
        select avg((abs(p.amount_dkk__v - round(
            (p.period_to__v - p.period_from__v + 1) * case g.rate_unit
                when 'day' then g.rate_dkk__v when 'week' then g.rate_dkk__v / 7
                when 'hour' then g.rate_dkk__v * g.hours_per_week__v / 7 end, 2)) < 0.011)::int)
        from chk.payments p join chk.grants g on g.grant_id__v = p.grant_id__v""")[0][0]  # fmt: skip
    assert 0.95 < share_exact < 1
    # Some months have no payment: the gaps real payment data has.
    (months, paid) = rows(late, """
        select sum(datediff('month', valid_from__v, coalesce(valid_to__v, date '2019-04-30')) + 1),
               (select count(*) from chk.payments)
        from chk.grants where valid_from__v <= date '2019-04-30'""")[0]  # fmt: skip
    assert 0.9 * months < paid < months


def test_rates_are_regulated_yearly_and_booked_by_legal_basis(late):
    # A running intervention's rate rises 2% from one calendar year to the next.
    ratios = rows(late, """
        select round(b.rate_dkk__v / a.rate_dkk__v, 2), count(*) from chk.grants a
        join chk.grants b on b.intervention_id__v = a.intervention_id__v
         and year(b.valid_from__v) = year(a.valid_from__v) + 1 and a.rate_unit = 'day'
        group by 1""")  # fmt: skip
    assert dict(ratios).keys() == {1.02}
    # Children's interventions (SEL_52) on the children's main function 5.28, adults' on 5.38.
    mapping = rows(late, """
        select distinct i.legal_basis = 'SEL_52', left(g.function, 4) from chk.grants g
        join chk.interventions i on i.intervention_id__v = g.intervention_id__v order by 1""")  # fmt: skip
    assert mapping == [(False, "5.38"), (True, "5.28")]
    # Budgets: adopted on 1 October before the year, some revised on 30 June.
    days = rows(
        late, "select distinct strftime(revised_on__v, '%m-%d') from chk.budgets order by 1"
    )
    assert days == [("06-30",), ("10-01",)]
