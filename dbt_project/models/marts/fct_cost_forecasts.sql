-- Spending forecasts for the two quarters after each quarter, by two methods, beside what was
-- then spent (docs/indicators.md, "Forecast"): the back-test of the forecast a leader gets
-- today. From each quarter's last day (the origin): by the active grants (every grant in force
-- on the origin day continues at its rate to the horizon's end; ends and new grants are not
-- foreseen), and by the run-rate (the quarter's spending, continued). The actual is the
-- spending of the two quarters, once the payments reach their end. The spending is ind_costs'
-- (int_payment_periods), so the run-rate and the actual are its quarters' figures.
with delivery as (
    select extract_date from {{ ref('stg_current_delivery') }}
),

paid_through as (
    select least(max(payments.period_to), max(delivery.extract_date)) as paid_through
    from {{ ref('fct_payments') }} as payments
    cross join delivery
    where payments.paid_on <= delivery.extract_date
),

quarters as (
    select period_id, period_start, period_end
    from {{ ref('int_periods') }}
    where period_type = 'quarter'
),

-- Every quarter the payments reach the end of, and the two quarters after it (the horizon).
origins as (
    select
        quarters.period_id as origin_period_id,
        quarters.period_start as window_start,
        quarters.period_end as origin_date,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 9, 'quarters.period_start')) }} as date)
            as horizon_end,
        paid_through.paid_through
    from quarters
    cross join paid_through
    where quarters.period_end <= paid_through.paid_through
),

{%- set roles = {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'} %}
grant_days as (
    select * from {{ ref('int_grant_daily_rates') }}
),

-- Per origin and leaf unit: the grants in force, their citizens, and their cost to the horizon.
leaf_grants as (
    {%- for role, column in roles.items() %}
    select
        origins.origin_date, '{{ role }}' as org_role, grant_days.{{ column }} as leaf_org_unit_id,
        grant_days.citizen_key,
        cast(round(grant_days.daily_dkk * {{ dbt.datediff('origins.origin_date', 'origins.horizon_end', 'day') }} * 100)
            as bigint) as forecast_ore,
        cast(0 as bigint) as window_ore,
        cast(0 as bigint) as actual_ore
    from grant_days
    inner join origins
        on grant_days.valid_from <= origins.origin_date
        and (grant_days.valid_to is null or grant_days.valid_to >= origins.origin_date)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- Per origin and leaf unit: the spending of the origin's quarter and of the two after it.
shares as (
    select shares.*, quarters.period_start, quarters.period_end
    from {{ ref('int_payment_periods') }} as shares
    inner join quarters on quarters.period_id = shares.period_id
),

leaf_spending as (
    {%- for role, column in roles.items() %}
    select
        origins.origin_date, '{{ role }}' as org_role, shares.{{ column }} as leaf_org_unit_id,
        cast(null as {{ dbt.type_string() }}) as citizen_key,
        cast(0 as bigint) as forecast_ore,
        case when shares.period_id = origins.origin_period_id then shares.amount_ore else 0 end
            as window_ore,
        case when shares.period_start > origins.origin_date then shares.amount_ore else 0 end
            as actual_ore
    from shares
    inner join origins
        on shares.period_start >= origins.window_start and shares.period_end <= origins.horizon_end
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

unit_rows as (
    select
        facts.origin_date, ancestors.org_role, ancestors.org_level, ancestors.org_unit_id,
        facts.citizen_key, facts.forecast_ore, facts.window_ore, facts.actual_ore
    from (select * from leaf_grants union all select * from leaf_spending) as facts
    inner join {{ ref('int_org_ancestors') }} as ancestors
        on ancestors.leaf_org_unit_id = facts.leaf_org_unit_id and ancestors.org_role = facts.org_role
),

figures as (
    select
        unit_rows.origin_date,
        unit_rows.org_role,
        unit_rows.org_level,
        unit_rows.org_unit_id,
        count(distinct unit_rows.citizen_key) as n_citizens,
        {{ divide('sum(unit_rows.forecast_ore)', '100') }} as forecast_by_grants_dkk,
        {{ divide('sum(unit_rows.window_ore)', '100') }} as window_dkk,
        {{ divide('sum(unit_rows.actual_ore)', '100') }} as actual_dkk
    from unit_rows
    group by unit_rows.origin_date, unit_rows.org_role, unit_rows.org_level, unit_rows.org_unit_id
),

forecasts as (
    select
        figures.*,
        origins.horizon_end,
        origins.horizon_end <= origins.paid_through as is_over,
        figures.window_dkk
            * {{ dbt.datediff('origins.origin_date', 'origins.horizon_end', 'day') }}
            / ({{ dbt.datediff('origins.window_start', 'origins.origin_date', 'day') }} + 1)
            as forecast_by_run_rate_dkk
    from figures
    inner join origins on origins.origin_date = figures.origin_date
)

select
    origin_date,
    horizon_end,
    org_role,
    cast(org_level as integer) as org_level,
    org_unit_id,
    cast(n_citizens as bigint) as n_citizens,
    cast(forecast_by_grants_dkk as double) as forecast_by_grants_dkk,
    cast({{ round_double('forecast_by_run_rate_dkk', 2) }} as double) as forecast_by_run_rate_dkk,
    cast(case when is_over then actual_dkk end as double) as actual_dkk,
    cast(case when is_over and actual_dkk > 0
        then 100 * (forecast_by_grants_dkk - actual_dkk) / actual_dkk end as double)
        as error_by_grants_pct,
    cast(case when is_over and actual_dkk > 0
        then 100 * (forecast_by_run_rate_dkk - actual_dkk) / actual_dkk end as double)
        as error_by_run_rate_pct
from forecasts
