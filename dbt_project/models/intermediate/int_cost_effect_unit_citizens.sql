-- Per period, unit (each role, every level), citizen, target group and intervention type: the
-- spending of the citizen's interventions with spending in the period, and those interventions'
-- goals followed up in it and achieved. What ind_cost_effect counts from; a table of its own so
-- that its breakdowns do not attribute every intervention up the hierarchy again.
{%- set breakdowns = ['target_group', 'intervention_type'] %}
with periods as (
    {{ numbered_periods() }}
),

-- What each intervention cost in each period it had spending in.
intervention_spending as (
    select
        period_id, intervention_id, citizen_number, provider_org_unit_id, authority_org_unit_id,
        {{ breakdowns | join(', ') }},
        sum(amount_ore) as amount_ore
    from {{ ref('int_payment_periods') }}
    where period_id in (select period_id from periods)
    group by period_id, intervention_id, citizen_number, provider_org_unit_id, authority_org_unit_id,
        {{ breakdowns | join(', ') }}
),

-- Each goal's latest follow-up in the period, for the goals of interventions with spending in it.
goal_results as (
    select
        periods.period_id,
        goals.intervention_id,
        count(*) as n_goals,
        sum(case when followups.is_achieved then 1 else 0 end) as n_achieved
    from {{ ref('int_goal_period_followups') }} as followups
    inner join periods
        on periods.period_type = followups.period_type and periods.period_label = followups.period_label
    inner join {{ ref('fct_goals') }} as goals on goals.goal_id = followups.goal_id
    group by periods.period_id, goals.intervention_id
),

-- Not materialised, as int_cost_unit_citizens' leaf_amounts: read once per role below.
leaf_facts as {{ not_materialized() }} (
    select
        spending.*,
        coalesce(goal_results.n_goals, 0) as n_goals,
        coalesce(goal_results.n_achieved, 0) as n_achieved
    from intervention_spending as spending
    left join goal_results
        on goal_results.period_id = spending.period_id
        and goal_results.intervention_id = spending.intervention_id
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
