-- Per period, unit (each role, every level), citizen, target group and intervention type: the
-- spending of the citizen's interventions with spending in the period, and those interventions'
-- goals followed up in it and achieved. What ind_cost_effect counts from; a table of its own so
-- that its breakdowns do not attribute every intervention up the hierarchy again.
with periods as (
    {{ numbered_periods() }}
),

-- Not materialised: read once per role below; a scan of the table each time streams.
leaf_facts as {{ not_materialized() }} (
    select leaves.*
    from {{ ref('int_intervention_period_spending') }} as leaves
    inner join periods on periods.period_id = leaves.period_id
),

unit_facts as {{ not_materialized() }} (
    {{ attribute_to_units('leaf_facts',
                          {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
)

select
    period_id, org_role, org_unit_id, citizen_number, target_group, intervention_type,
    sum(amount_ore) as amount_ore,
    sum(n_goals) as n_goals,
    sum(n_achieved) as n_achieved
from unit_facts
group by period_id, org_role, org_unit_id, citizen_number, target_group, intervention_type
