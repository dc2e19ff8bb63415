-- Per period, unit (in each role, every level) and citizen, their spending and intervention-days
-- by the attributes the cost breakdowns are by: what ind_costs counts its citizens from. A table
-- of its own, built once, so that the breakdowns count from it instead of from every payment's
-- share attributed up the hierarchy again for each (which ran out of 3 GB at tier M).
{%- set attributes = ['target_group', 'intervention_type', 'legal_basis', 'function'] %}
with periods as (
    {{ numbered_periods() }}
),

-- Not materialised: read once per role below, DuckDB would otherwise hold all of it until the
-- query ends; computed twice it streams (at 100,000 citizens in ten municipalities the build's
-- statement needs 200 MB this way against more than 400 MB; at 1,000,000 it ran out of 3 GB).
leaf_amounts as {{ not_materialized() }} (
    select
        shares.period_id, provider_org_unit_id, authority_org_unit_id, citizen_number,
        {{ attributes | join(', ') }},
        sum(amount_ore) as amount_ore,
        sum(new_days) as intervention_days,
        sum(new_function_days) as function_days
    from {{ ref('int_payment_periods') }} as shares
    inner join periods on periods.period_id = shares.period_id
    group by shares.period_id, provider_org_unit_id, authority_org_unit_id, citizen_number,
        {{ attributes | join(', ') }}
),

unit_amounts as {{ not_materialized() }} (
    {{ attribute_to_units('leaf_amounts',
                          {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
)

select
    period_id, org_role, org_unit_id, citizen_number,
    {{ attributes | join(', ') }},
    sum(amount_ore) as amount_ore,
    sum(intervention_days) as intervention_days,
    sum(function_days) as function_days
from unit_amounts
group by period_id, org_role, org_unit_id, citizen_number, {{ attributes | join(', ') }}
