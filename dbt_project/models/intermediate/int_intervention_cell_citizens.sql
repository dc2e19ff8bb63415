-- Each citizen once per period, unit, role and legal basis, with what their interventions
-- active there were: the key figures on interventions are sums of these rows and their citizen
-- counts plain counts of them. A table of its own, so that this aggregate (the largest of the
-- key figures, 114 million attributed rows at 1,000,000 citizens) has the memory to itself.
{%- set can_have_goals = "interventions.intervention_type in ('developing', 'maintaining')" %}
with periods as (
    {{ numbered_periods() }}
),

cases as (
    {{ with_citizen_numbers('stg_cases') }}
),

first_goal as (
    select intervention_id, min(set_on) as first_goal_on
    from {{ ref('fct_goals') }}
    group by intervention_id
),

-- Interventions active in the period, for their provider and for their case's authority.
intervention_periods as (
    select
        periods.period_id,
        cases.citizen_number,
        interventions.legal_basis,
        interventions.provider_org_unit_id,
        cases.authority_org_unit_id,
        coalesce(interventions.ended_on between periods.period_start and periods.period_end, false)
            as ended_in_period,
        {{ can_have_goals }} as can_have_goals,
        {{ can_have_goals }} and coalesce(first_goal.first_goal_on <= periods.period_end, false)
            as has_goal
    from {{ ref('stg_interventions') }} as interventions
    inner join cases on cases.case_id = interventions.case_id
    inner join periods
        on interventions.started_on <= periods.period_end
        and (interventions.ended_on is null or interventions.ended_on >= periods.period_start)
    left join first_goal on first_goal.intervention_id = interventions.intervention_id
),

intervention_cells as (
    {{ attribute_to_units('intervention_periods',
                          {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
)

select
    period_id,
    org_role,
    org_unit_id,
    legal_basis,
    citizen_number,
    count(*) as n_interventions,
    sum(case when ended_in_period then 1 else 0 end) as n_ended,
    sum(case when can_have_goals then 1 else 0 end) as n_can_have_goals,
    sum(case when has_goal then 1 else 0 end) as n_with_goals
from intervention_cells
group by period_id, org_role, org_unit_id, legal_basis, citizen_number
