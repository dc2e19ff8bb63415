-- Each payment's share of every period it covers days of: spending is counted when the days
-- it pays for fall (accrual), pro rata by day, not when it is booked. A payment for one month
-- falls in one quarter; one that spans two shares its amount between them by days. A quarter's
-- share is rounded to whole øre; a year's or rolling window's is the sum of its quarters', so
-- that a year's spending is exactly its quarters' (what disclosure control relies on).
with payments as (
    {{ with_citizen_numbers('fct_payments') }}
),

periods as (
    {{ numbered_periods() }}
),

-- Each payment's share of each quarter, in whole øre.
quarter_shares as (
    select
        payments.payment_id,
        quarters.period_start as quarter_start,
        quarters.period_end as quarter_end,
        cast(round(payments.amount_dkk * ({{ dbt.datediff(
            'greatest(payments.period_from, quarters.period_start)',
            'least(payments.period_to, quarters.period_end)',
            'day') }} + 1) / payments.days_covered * 100) as bigint) as amount_ore
    from payments
    inner join {{ ref('int_periods') }} as quarters
        on quarters.period_type = 'quarter'
        and payments.period_from <= quarters.period_end
        and payments.period_to >= quarters.period_start
),

payments_in_periods as (
    select
        greatest(payments.period_from, periods.period_start) as first_day,
        least(payments.period_to, periods.period_end) as last_day,
        periods.period_id,
        payments.payment_id,
        payments.intervention_id,
        payments.citizen_number,
        payments.provider_org_unit_id,
        payments.authority_org_unit_id,
        payments.target_group,
        payments.intervention_type,
        payments.legal_basis,
        payments.function,
        payments.amount_dkk,
        payments.days_covered,
        payments.period_from,
        periods.period_start,
        periods.period_end,
        {{ dbt.datediff(
            'greatest(payments.period_from, periods.period_start)',
            'least(payments.period_to, periods.period_end)',
            'day') }} + 1 as days_in_period
    from payments
    inner join periods
        on payments.period_from <= periods.period_end
        and payments.period_to >= periods.period_start
),

-- Per payment and period, its quarters' shares summed.
period_amounts as (
    select
        payments_in_periods.period_id,
        payments_in_periods.payment_id,
        sum(quarter_shares.amount_ore) as amount_ore
    from payments_in_periods
    inner join quarter_shares
        on quarter_shares.payment_id = payments_in_periods.payment_id
        and quarter_shares.quarter_start >= payments_in_periods.period_start
        and quarter_shares.quarter_end <= payments_in_periods.period_end
    group by payments_in_periods.period_id, payments_in_periods.payment_id
),

-- The last day the intervention's earlier payments (by first day) reach in the period, in all
-- and on the payment's function: a day paid twice is one intervention-day.
reached as (
    select
        payments_in_periods.*,
        max(last_day) over (
            partition by period_id, intervention_id order by first_day, payment_id
            rows between unbounded preceding and 1 preceding
        ) as reached_before,
        max(last_day) over (
            partition by period_id, intervention_id, function order by first_day, payment_id
            rows between unbounded preceding and 1 preceding
        ) as reached_before_on_function
    from payments_in_periods
)

select
    reached.period_id,
    reached.payment_id,
    intervention_id,
    citizen_number,
    provider_org_unit_id,
    authority_org_unit_id,
    target_group,
    intervention_type,
    legal_basis,
    function,
    cast(days_in_period as integer) as days_in_period,
    {%- for column, reach in [('new_days', 'reached_before'), ('new_function_days', 'reached_before_on_function')] %}
    cast(case
        when {{ reach }} is null then days_in_period
        when {{ reach }} >= last_day then 0
        else {{ dbt.datediff('greatest(first_day, ' ~ dbt.dateadd('day', 1, reach) ~ ')', 'last_day', 'day') }} + 1
    end as integer) as {{ column }},
    {%- endfor %}
    -- Whole øre, as an integer: every sum of them is exact whatever order the engine adds in, so
    -- the published figures are the same from build to build, and the disclosure control's
    -- relations (units add up to their area, quarters to their year) hold exactly.
    cast(coalesce(period_amounts.amount_ore, 0) as bigint) as amount_ore
from reached
left join period_amounts
    on period_amounts.period_id = reached.period_id and period_amounts.payment_id = reached.payment_id
