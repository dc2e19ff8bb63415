-- Budget follow-up per budget year, unit and kontoplan function (docs/indicators.md, "Budget
-- follow-up"): the budget in force, what was spent up to the day the payments reach, and the
-- expected year-end result by the active grants and by the run-rate, with the deviations.
{%- set key_columns = ['budget_year', 'org_role', 'org_unit_id', 'function'] %}
with delivery as (
    select extract_date from {{ ref('stg_current_delivery') }}
),

-- The last day the delivery's payments reach: spending after it is not booked yet.
paid_through as (
    select
        least(max(payments.period_to), max(delivery.extract_date)) as paid_through
    from {{ ref('fct_payments') }} as payments
    cross join delivery
    where payments.paid_on <= delivery.extract_date
),

-- The budget lines of level-3 units, summed over target groups, with each year's days.
budget_lines as (
    select
        budgets.budget_year,
        units.org_role,
        budgets.org_unit_id as leaf_org_unit_id,
        budgets.function,
        sum(budgets.budget_dkk) as budget_dkk,
        sum(budgets.adopted_budget_dkk) as adopted_budget_dkk
    from {{ ref('fct_budgets') }} as budgets
    inner join {{ ref('stg_org_units') }} as units
        on units.org_unit_id = budgets.org_unit_id and units.org_level = 3 and units.org_role is not null
    group by budgets.budget_year, units.org_role, budgets.org_unit_id, budgets.function
),

years as (
    select
        years.budget_year,
        years.year_start,
        years.year_end,
        paid_through.paid_through,
        least(coalesce(paid_through.paid_through, cast('1900-01-01' as date)), years.year_end) as booked_end,
        -- The first day of the year the payments do not reach yet.
        greatest(cast({{ dbt.dateadd('day', 1, "coalesce(paid_through.paid_through, cast('1900-01-01' as date))") }} as date), years.year_start) as rest_start
    from (
        select distinct
            budget_year,
            cast({{ dbt.dateadd('year', 'budget_year - 1970', "cast('1970-01-01' as date)") }} as date) as year_start,
            cast({{ dbt.dateadd('day', -1, dbt.dateadd('year', 'budget_year - 1969', "cast('1970-01-01' as date)")) }} as date) as year_end
        from budget_lines
    ) as years
    cross join paid_through
),

-- Payments for the days of the year, pro rata by day: the year's spending in ind_costs (its
-- quarters' shares, int_payment_periods), at the units they count for in each role. No payment
-- covers a day after booked_end but one paid in advance.
{%- set roles = {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'} %}
year_payments as (
    {%- for role, column in roles.items() %}
    select
        years.budget_year,
        '{{ role }}' as org_role,
        shares.{{ column }} as leaf_org_unit_id,
        shares.function,
        cast(shares.citizen_number as {{ dbt.type_string() }}) as citizen_key,
        cast(shares.amount_ore / 100.0 as decimal(18, 2)) as amount_dkk
    from {{ ref('int_payment_periods') }} as shares
    inner join {{ ref('int_periods') }} as periods
        on periods.period_id = shares.period_id and periods.period_type = 'year'
    inner join years on years.year_start = periods.period_start
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- The grants' cost for the rest of the year, from the day after booked_end: a running grant
-- (no end) runs to the year's end.
grant_rates as (
    select * from {{ ref('int_grant_daily_rates') }}
),

remaining_grants as (
    {%- for role, column in roles.items() %}
    select
        years.budget_year,
        '{{ role }}' as org_role,
        grant_rates.{{ column }} as leaf_org_unit_id,
        grant_rates.function,
        cast(round(grant_rates.daily_dkk * ({{ dbt.datediff(
            'greatest(grant_rates.valid_from, years.rest_start)',
            'least(coalesce(grant_rates.valid_to, years.year_end), years.year_end)',
            'day') }} + 1), 2) as decimal(18, 2)) as amount_dkk
    from grant_rates
    inner join years
        on years.rest_start <= years.year_end
        and grant_rates.valid_from <= years.year_end
        and (grant_rates.valid_to is null or grant_rates.valid_to >= years.rest_start)
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

leaf_spending as (
    select budget_year, org_role, leaf_org_unit_id, function, citizen_key, sum(amount_dkk) as amount_dkk
    from year_payments
    group by budget_year, org_role, leaf_org_unit_id, function, citizen_key
),

leaf_remaining as (
    select budget_year, org_role, leaf_org_unit_id, function, sum(amount_dkk) as amount_dkk
    from remaining_grants
    group by budget_year, org_role, leaf_org_unit_id, function
),

ancestors as (
    select leaf_org_unit_id, org_role, org_unit_id from {{ ref('int_org_ancestors') }}
),

-- Everything at every unit it rolls up to, per function and for all functions.
{#- Amounts spent and remaining stay exact decimals (sums of øre), whatever order they add in. -#}
{%- set amount = 'decimal(38, 2)' %}
{%- set sources = [('budget_lines', 'budget_dkk, adopted_budget_dkk, cast(null as ' ~ amount ~ ') as spent_dkk, cast(null as ' ~ amount ~ ') as remaining_dkk, cast(null as ' ~ dbt.type_string() ~ ') as citizen_key'),
                   ('leaf_spending', 'cast(null as double), cast(null as double), amount_dkk, cast(null as ' ~ amount ~ '), citizen_key'),
                   ('leaf_remaining', 'cast(null as double), cast(null as double), cast(null as ' ~ amount ~ '), amount_dkk, cast(null as ' ~ dbt.type_string() ~ ')')] %}
unit_rows as (
    {%- for relation, columns in sources %}
    select {{ relation }}.budget_year, ancestors.org_role, ancestors.org_unit_id, {{ relation }}.function, {{ columns }}
    from {{ relation }}
    inner join ancestors
        on ancestors.leaf_org_unit_id = {{ relation }}.leaf_org_unit_id and ancestors.org_role = {{ relation }}.org_role
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

both_functions as (
    select * from unit_rows
    union all
    select budget_year, org_role, org_unit_id, 'all', budget_dkk, adopted_budget_dkk, spent_dkk, remaining_dkk, citizen_key
    from unit_rows
),

-- Every line with a budget or with spending (spending on a function no one budgeted for has
-- a line without a budget): so a unit's lines add up to its area's, as everywhere else.
figures as (
    select
        {{ key_columns | join(', ') }},
        sum(rows.budget_dkk) as budget_dkk,
        sum(rows.adopted_budget_dkk) as adopted_budget_dkk,
        coalesce(sum(rows.spent_dkk), 0) as spent_dkk,
        coalesce(sum(rows.remaining_dkk), 0) as remaining_dkk,
        count(distinct rows.citizen_key) as n_citizens
    from both_functions as rows
    group by {{ key_columns | join(', ') }}
),

units as (
    select distinct org_role, org_level, org_unit_id, org_unit_name, org_parent_id
    from {{ ref('int_org_ancestors') }}
),

cells as (
    select
        figures.*,
        units.org_level,
        units.org_unit_name,
        units.org_parent_id,
        years.year_start,
        years.year_end,
        years.booked_end,
        {{ dbt.datediff('years.year_start', 'years.booked_end', 'day') }} + 1 as days_booked,
        {{ dbt.datediff('years.year_start', 'years.year_end', 'day') }} + 1 as days_in_year,
        -- A line nobody was paid on is about no citizen: shown, with nothing spent.
        figures.n_citizens > 0 and {{ is_small_cell('figures.n_citizens') }} as is_suppressed
    from figures
    inner join units on units.org_role = figures.org_role and units.org_unit_id = figures.org_unit_id
    inner join years on years.budget_year = figures.budget_year
)

select
    cast(cells.budget_year as integer) as budget_year,
    cells.year_start,
    cells.year_end,
    case when cells.booked_end >= cells.year_start then cells.booked_end end as booked_through,
    cells.booked_end >= cells.year_end as year_complete,
    cells.org_role,
    cast(cells.org_level as integer) as org_level,
    cells.org_unit_id,
    cells.org_unit_name,
    cells.org_parent_id as parent_org_unit_id,
    cells.function,
    cast(round(cells.budget_dkk, 2) as double) as budget_dkk,
    cast(round(cells.adopted_budget_dkk, 2) as double) as adopted_budget_dkk,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    cast({{ unless_suppressed('round(spent_dkk, 2)') }} as double) as spent_to_date_dkk,
    cast({{ unless_suppressed('round(100 * spent_dkk / nullif(budget_dkk, 0), 2)') }} as double) as consumption_pct,
    cast({{ unless_suppressed('round(spent_dkk + remaining_dkk, 2)') }} as double) as expected_by_grants_dkk,
    cast({{ unless_suppressed('round(case when days_booked > 0 then spent_dkk * days_in_year / days_booked end, 2)') }} as double)
        as expected_by_run_rate_dkk,
    cast({{ unless_suppressed('round(budget_dkk - spent_dkk - remaining_dkk, 2)') }} as double) as deviation_by_grants_dkk,
    cast({{ unless_suppressed('round(case when days_booked > 0 then budget_dkk - spent_dkk * days_in_year / days_booked end, 2)') }} as double)
        as deviation_by_run_rate_dkk,
    {{ suppression_columns('cells') }}
from cells
