-- Each payment's share of every period it covers days of: spending is counted when the days
-- it pays for fall (accrual), pro rata by day, not when it is booked. A payment for one month
-- falls in one quarter; one that spans two shares its amount between them by days.
with payments as (
    {{ with_citizen_numbers('fct_payments') }}
),

periods as (
    select period_id, period_start, period_end from {{ ref('int_periods') }}
),

payments_in_periods as (
    select
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
        {{ dbt.datediff(
            'greatest(payments.period_from, periods.period_start)',
            'least(payments.period_to, periods.period_end)',
            'day') }} + 1 as days_in_period
    from payments
    inner join periods
        on payments.period_from <= periods.period_end
        and payments.period_to >= periods.period_start
)

select
    period_id,
    payment_id,
    intervention_id,
    citizen_number,
    provider_org_unit_id,
    authority_org_unit_id,
    target_group,
    intervention_type,
    legal_basis,
    function,
    cast(days_in_period as integer) as days_in_period,
    amount_dkk * days_in_period / days_covered as amount_dkk
from payments_in_periods
