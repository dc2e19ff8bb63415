-- Six-month spending forecasts from each quarter's end, by two methods, beside what was then
-- spent (docs/indicators.md, "Forecast"): the back-test of the forecast a leader gets today.
-- From each origin: by the active grants (every grant in force on the origin day continues at
-- its rate for the six months; ends and new grants are not foreseen), and by the run-rate (the
-- spending of the three months up to the origin, continued). The actual is the spending of the
-- six months after it, once the payments reach their end. Restricted (not an open table yet).
with payments as (
    select * from {{ ref('fct_payments') }}
),

delivery as (
    select extract_date from {{ ref('stg_current_delivery') }}
),

paid_through as (
    select least(max(payments.period_to), max(delivery.extract_date)) as paid_through
    from payments
    cross join delivery
    where payments.paid_on <= delivery.extract_date
),

-- Every quarter's last day the payments reach, the six months after it, and the three before.
origins as (
    select
        periods.period_end as origin_date,
        cast({{ dbt.dateadd('month', 6, 'periods.period_end') }} as date) as horizon_end,
        cast({{ dbt.dateadd('month', -3, 'periods.period_end') }} as date) as window_start,
        paid_through.paid_through
    from {{ ref('int_periods') }} as periods
    cross join paid_through
    where periods.period_type = 'quarter' and periods.period_end <= paid_through.paid_through
),

{%- set roles = {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'} %}
grant_days as (
    select * from {{ ref('int_grant_daily_rates') }}
),

-- Per origin and leaf unit: the grants in force, their citizens, and their six months' cost.
leaf_grants as (
    {%- for role, column in roles.items() %}
    select
        origins.origin_date, '{{ role }}' as org_role, grant_days.{{ column }} as leaf_org_unit_id,
        grant_days.citizen_key,
        cast(round(grant_days.daily_dkk * {{ dbt.datediff('origins.origin_date', 'origins.horizon_end', 'day') }}, 2)
            as decimal(18, 2)) as forecast_dkk,
        cast(0 as decimal(18, 2)) as window_dkk,
        cast(0 as decimal(18, 2)) as actual_dkk
    from grant_days
    inner join origins
        on grant_days.valid_from <= origins.origin_date
        and (grant_days.valid_to is null or grant_days.valid_to >= origins.origin_date)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- Per origin and leaf unit: spending of the three months before and the six months after.
leaf_spending as (
    {%- for role, column in roles.items() %}
    select
        origins.origin_date, '{{ role }}' as org_role, payments.{{ column }} as leaf_org_unit_id,
        cast(null as varchar) as citizen_key,
        cast(0 as decimal(18, 2)) as forecast_dkk,
        case when payments.period_to <= origins.origin_date then cast(round(payments.amount_dkk * ({{ dbt.datediff(
            'greatest(payments.period_from, ' ~ dbt.dateadd('day', 1, 'origins.window_start') ~ ')',
            'least(payments.period_to, origins.origin_date)', 'day') }} + 1) / payments.days_covered, 2)
            as decimal(18, 2)) else 0 end as window_dkk,
        case when payments.period_from > origins.origin_date then cast(round(payments.amount_dkk * ({{ dbt.datediff(
            'greatest(payments.period_from, ' ~ dbt.dateadd('day', 1, 'origins.origin_date') ~ ')',
            'least(payments.period_to, origins.horizon_end)', 'day') }} + 1) / payments.days_covered, 2)
            as decimal(18, 2)) else 0 end as actual_dkk
    from payments
    inner join origins
        on payments.period_to > origins.window_start and payments.period_from <= origins.horizon_end
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

unit_rows as (
    select
        facts.origin_date, ancestors.org_role, ancestors.org_level, ancestors.org_unit_id,
        facts.citizen_key, facts.forecast_dkk, facts.window_dkk, facts.actual_dkk
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
        sum(unit_rows.forecast_dkk) as forecast_by_grants_dkk,
        sum(unit_rows.window_dkk) as window_dkk,
        sum(unit_rows.actual_dkk) as actual_dkk
    from unit_rows
    group by unit_rows.origin_date, unit_rows.org_role, unit_rows.org_level, unit_rows.org_unit_id
)

select
    figures.origin_date,
    origins.horizon_end,
    figures.org_role,
    cast(figures.org_level as integer) as org_level,
    figures.org_unit_id,
    cast(figures.n_citizens as bigint) as n_citizens,
    cast(round(figures.forecast_by_grants_dkk, 2) as double) as forecast_by_grants_dkk,
    cast(round(figures.window_dkk * {{ dbt.datediff('origins.origin_date', 'origins.horizon_end', 'day') }}
        / {{ dbt.datediff('origins.window_start', 'origins.origin_date', 'day') }}, 2) as double)
        as forecast_by_run_rate_dkk,
    cast(case when origins.horizon_end <= origins.paid_through then round(figures.actual_dkk, 2) end as double)
        as actual_dkk,
    cast(case when origins.horizon_end <= origins.paid_through and figures.actual_dkk > 0
        then 100 * (figures.forecast_by_grants_dkk - figures.actual_dkk) / figures.actual_dkk end as double)
        as error_by_grants_pct,
    cast(case when origins.horizon_end <= origins.paid_through and figures.actual_dkk > 0
        then 100 * (figures.window_dkk * {{ dbt.datediff('origins.origin_date', 'origins.horizon_end', 'day') }}
            / {{ dbt.datediff('origins.window_start', 'origins.origin_date', 'day') }} - figures.actual_dkk)
            / figures.actual_dkk end as double)
        as error_by_run_rate_pct
from figures
inner join origins on origins.origin_date = figures.origin_date
