-- Spending per period and unit (docs/indicators.md, "Costs"): what the payments for the days in
-- the period came to, for the provider of the intervention and, through the case, the
-- authority; in all and by target group, intervention type, legal basis and kontoplan function;
-- with the unit prices cost per citizen and cost per intervention-day.
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id', 'breakdown_by', 'breakdown'] %}
{%- set breakdowns = ['target_group', 'intervention_type', 'legal_basis', 'function'] %}
with periods as (
    select * from {{ ref('int_periods') }}
),

-- Per period, leaf units, attributes and citizen first: few rows to attribute up the hierarchy.
leaf_amounts as (
    select
        period_id, provider_org_unit_id, authority_org_unit_id, citizen_number,
        {{ breakdowns | join(', ') }},
        sum(amount_dkk) as amount_dkk,
        sum(new_days) as intervention_days,
        sum(new_function_days) as function_days
    from {{ ref('int_payment_periods') }}
    group by period_id, provider_org_unit_id, authority_org_unit_id, citizen_number,
        {{ breakdowns | join(', ') }}
),

unit_amounts as {{ not_materialized() }} (
    {{ attribute_to_units('leaf_amounts',
                          {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
),

-- Every row once in all and once under each breakdown.
broken_down as (
    select period_id, org_role, org_unit_id, 'all' as breakdown_by, 'all' as breakdown,
        citizen_number, amount_dkk, intervention_days
    from unit_amounts
    {%- for column in breakdowns %}
    union all
    select period_id, org_role, org_unit_id, '{{ column }}', {{ column }},
        citizen_number, amount_dkk, {{ 'function_days' if column == 'function' else 'intervention_days' }}
    from unit_amounts
    {%- endfor %}
),

-- Each citizen once per cell, so that the citizens are a plain count.
citizen_cells as (
    select
        {{ key_columns | join(', ') }}, citizen_number,
        sum(amount_dkk) as amount_dkk,
        sum(intervention_days) as intervention_days
    from broken_down
    group by {{ key_columns | join(', ') }}, citizen_number
),

figures as (
    select
        {{ key_columns | join(', ') }},
        count(*) as n_citizens,
        sum(amount_dkk) as spending_dkk,
        sum(intervention_days) as intervention_days
    from citizen_cells
    group by {{ key_columns | join(', ') }}
),

cells as (
    {{ named_unit_cells('figures', ['breakdown_by', 'breakdown', 'n_citizens', 'spending_dkk',
                                    'intervention_days']) }}
)

select
    {{ indicator_key_columns('cells') }},
    cells.breakdown_by,
    cells.breakdown,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    cast({{ unless_suppressed('round(spending_dkk, 2)') }} as double) as spending_dkk,
    cast({{ unless_suppressed('round(spending_dkk / n_citizens, 2)') }} as double) as cost_per_citizen_dkk,
    cast({{ unless_suppressed('intervention_days') }} as bigint) as intervention_days,
    cast({{ unless_suppressed('round(spending_dkk / intervention_days, 2)') }} as double)
        as cost_per_intervention_day_dkk,
    {{ suppression_columns('cells') }}
from cells
{{ join_periods('cells') }}
