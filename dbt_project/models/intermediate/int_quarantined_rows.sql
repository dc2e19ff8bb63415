-- The current delivery's quarantined rows, each placed at one level-3 unit by one rule, for the
-- data-quality indicator and the quality coordinators' reports alike:
-- 1. the unit the row names, if it is a level-3 unit of the role the row's entity counts for
--    (cases and assessments: authority; interventions: provider; budget lines: the unit's own);
-- 2. else the unit of the row it refers to, loaded or itself quarantined: a case's authority for
--    assessments and interventions, an assessment's assessor for scores, an intervention's
--    provider for goals, grants and payments, a goal's provider for follow-ups (a quarantined
--    goal's: its intervention's provider);
-- 3. else unplaced (citizens, org units, orphan references, unknown units): the
--    administration's report lists these, the indicator cannot count them for a unit.
-- A row counts in the period of its own date, else its parent's, else (no readable date, or one
-- outside the reported periods) the extract day, so every placed row counts once per period type.
with quarantine as (
    select * from {{ ref('stg_quarantine') }}
),

current_delivery as (
    select * from {{ ref('stg_current_delivery') }}
),

first_period as (
    select min(period_start) as first_day from {{ ref('int_periods') }}
),

leaf_units as (
    select org_unit_id, org_role from {{ ref('stg_org_units') }}
    where org_level = 3 and org_role is not null
),

interventions as (
    select * from {{ ref('stg_interventions') }}
),

-- The rows a quarantined row can refer to, with the unit and date each one counts for.
loaded_parents as (
    select 'cases' as entity, cast(case_id as {{ dbt.type_string() }}) as row_key,
        authority_org_unit_id as org_unit_id, 'authority' as org_role, opened_on as row_date
    from {{ ref('stg_cases') }}
    union all
    select 'assessments', cast(assessment_id as {{ dbt.type_string() }}), assessor_org_unit_id, 'authority',
        assessed_on
    from {{ ref('stg_assessments') }}
    union all
    select 'interventions', cast(intervention_id as {{ dbt.type_string() }}), provider_org_unit_id, 'provider',
        started_on
    from interventions
    union all
    select 'goals', cast(goals.goal_id as {{ dbt.type_string() }}), interventions.provider_org_unit_id,
        'provider', goals.set_on
    from {{ ref('stg_goals') }} as goals
    inner join interventions on interventions.intervention_id = goals.intervention_id
),

-- Rows refer to each other by the warehouse's record numbers (`row_ref`, `parent_ref`: of the
-- row's municipality), `row_key` and `parent_key` are as delivered.
quarantined_units as (
    select entity, row_ref as row_key, min(org_unit_id) as org_unit_id,
        case when entity in ('cases', 'assessments') then 'authority' else 'provider' end as org_role,
        min(row_date) as row_date
    from quarantine
    where entity in ('cases', 'assessments', 'interventions') and row_ref is not null
    group by entity, row_ref
),

-- A quarantined goal names no unit: it counts for its intervention's provider (the intervention
-- loaded or quarantined itself), so that its follow-ups, quarantined with it, are placed too.
quarantined_goals as (
    select 'goals' as entity, goals.row_ref as row_key,
        min(coalesce(loaded_intervention.provider_org_unit_id, quarantined_intervention.org_unit_id))
            as org_unit_id,
        'provider' as org_role,
        min(goals.row_date) as row_date
    from quarantine as goals
    left join interventions as loaded_intervention
        on cast(loaded_intervention.intervention_id as {{ dbt.type_string() }}) = goals.parent_ref
    left join quarantined_units as quarantined_intervention
        on quarantined_intervention.entity = 'interventions'
        and quarantined_intervention.row_key = goals.parent_ref
    where goals.entity = 'goals' and goals.row_ref is not null
    group by goals.row_ref
),

quarantined_parents as (
    select * from quarantined_units
    union all
    select * from quarantined_goals
),

with_roles as (
    select
        quarantine.*,
        case
            when quarantine.entity in ('cases', 'assessments') then 'authority'
            when quarantine.entity = 'interventions' then 'provider'
        end as own_org_role,
        quarantine.entity = 'budgets' as counts_for_own_role,
        case quarantine.entity
            when 'assessments' then 'cases'
            when 'interventions' then 'cases'
            when 'assessment_scores' then 'assessments'
            when 'goals' then 'interventions'
            when 'goal_followups' then 'goals'
            when 'grants' then 'interventions'
            when 'payments' then 'interventions'
        end as parent_entity
    from quarantine
),

candidates as (
    select
        with_roles.*,
        own_unit.org_unit_id as own_leaf_id,
        own_unit.org_role as own_leaf_role,
        coalesce(loaded_parent.org_unit_id, quarantined_parent.org_unit_id) as parent_org_unit_id,
        coalesce(loaded_parent.org_role, quarantined_parent.org_role) as parent_org_role,
        coalesce(loaded_parent.row_date, quarantined_parent.row_date) as parent_row_date
    from with_roles
    left join leaf_units as own_unit
        on own_unit.org_unit_id = with_roles.org_unit_id
        and (own_unit.org_role = with_roles.own_org_role or with_roles.counts_for_own_role)
    left join loaded_parents as loaded_parent
        on loaded_parent.entity = with_roles.parent_entity and loaded_parent.row_key = with_roles.parent_ref
    left join quarantined_parents as quarantined_parent
        on loaded_parent.row_key is null
        and quarantined_parent.entity = with_roles.parent_entity
        and quarantined_parent.row_key = with_roles.parent_ref
),

placed as (
    select
        candidates.*,
        parent_unit.org_unit_id as parent_leaf_id
    from candidates
    left join leaf_units as parent_unit
        on candidates.own_leaf_id is null
        and parent_unit.org_unit_id = candidates.parent_org_unit_id
        and parent_unit.org_role = candidates.parent_org_role
),

dated as (
    select
        placed.*,
        coalesce(placed.row_date, placed.parent_row_date) as own_or_parent_date
    from placed
)

select
    dated.delivery_id,
    dated.entity,
    dated.source_file,
    dated.source_row,
    dated.reason,
    dated.reason_columns,
    dated.row_key,
    dated.parent_entity,
    dated.parent_key,
    dated.org_unit_id as named_org_unit_id,
    case
        when dated.own_leaf_id is not null then 'own_unit'
        when dated.parent_leaf_id is not null then 'parent_unit'
        else 'unplaced'
    end as placed_by,
    case
        when dated.own_leaf_id is not null then dated.own_leaf_role
        when dated.parent_leaf_id is not null then dated.parent_org_role
    end as org_role,
    coalesce(dated.own_leaf_id, dated.parent_leaf_id) as org_unit_id,
    dated.own_or_parent_date as row_date,
    case
        when dated.own_or_parent_date between first_period.first_day and current_delivery.extract_date
            then dated.own_or_parent_date
        else current_delivery.extract_date
    end as counted_on
from dated
cross join first_period
cross join current_delivery
