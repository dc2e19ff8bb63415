-- Spending per period and unit (docs/indicators.md, "Costs"): what the payments for the days in
-- the period came to, for the provider of the intervention and, through the case, the
-- authority; in all and by target group, intervention type, legal basis and kontoplan function;
-- with the unit prices cost per citizen and cost per intervention-day.
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id', 'breakdown_by', 'breakdown'] %}
with periods as (
    {{ numbered_periods() }}
),

unit_citizens as (
    select * from {{ ref('int_cost_unit_citizens') }}
    where period_id in (select period_id from periods)
),

-- Each citizen once per unit: their target group is one, so `all` and the target groups count
-- from the same rows.
citizen_totals as (
    select period_id, org_role, org_unit_id, citizen_number, target_group,
        sum(amount_ore) as amount_ore, sum(intervention_days) as intervention_days
    from unit_citizens
    group by period_id, org_role, org_unit_id, citizen_number, target_group
),

-- Each citizen once per cell of the breakdowns a citizen can be in more than one of (a day is
-- an intervention-day once per intervention; on a function, once per intervention and function).
citizen_cells as (
    select period_id, org_role, org_unit_id, 'all' as breakdown_by, 'all' as breakdown,
        citizen_number, amount_ore, intervention_days
    from citizen_totals
    union all
    select period_id, org_role, org_unit_id, 'target_group', target_group,
        citizen_number, amount_ore, intervention_days
    from citizen_totals
    {%- for column in ['intervention_type', 'legal_basis', 'function'] %}
    union all
    select period_id, org_role, org_unit_id, '{{ column }}', {{ column }}, citizen_number,
        sum(amount_ore), sum({{ 'function_days' if column == 'function' else 'intervention_days' }})
    from unit_citizens
    group by period_id, org_role, org_unit_id, {{ column }}, citizen_number
    {%- endfor %}
),

figures as (
    select
        {{ key_columns | join(', ') }},
        count(*) as n_citizens,
        {{ divide('sum(amount_ore)', '100') }} as spending_dkk,
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
    cast({{ unless_suppressed(round_double('spending_dkk', 2)) }} as double) as spending_dkk,
    cast({{ unless_suppressed(round_double('spending_dkk / n_citizens', 2)) }} as double) as cost_per_citizen_dkk,
    cast({{ unless_suppressed('intervention_days') }} as bigint) as intervention_days,
    cast({{ unless_suppressed(round_double('spending_dkk / intervention_days', 2)) }} as double)
        as cost_per_intervention_day_dkk,
    {{ suppression_columns('cells') }}
from cells
{{ join_periods('cells') }}
