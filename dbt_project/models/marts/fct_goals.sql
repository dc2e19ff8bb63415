-- Goals with the citizen, the intervention's provider and the case's authority they count for.
with goals as (
    select * from {{ ref('stg_goals') }}
),

interventions as (
    select * from {{ ref('stg_interventions') }}
),

cases as (
    select * from {{ ref('stg_cases') }}
)

select
    goals.goal_id,
    cases.citizen_key,
    goals.intervention_id,
    interventions.case_id,
    interventions.provider_org_unit_id,
    cases.authority_org_unit_id,
    interventions.intervention_type,
    goals.parent_goal_id,
    goals.life_theme,
    goals.sub_theme,
    goals.goal_type,
    cast(goals.weight as double) as weight,
    goals.set_on,
    goals.due_on
from goals
inner join interventions on interventions.intervention_id = goals.intervention_id
inner join cases on cases.case_id = interventions.case_id
