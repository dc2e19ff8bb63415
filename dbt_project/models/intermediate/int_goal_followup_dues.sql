-- For each period, the goals that owed follow-ups in it, and whether each was overdue at some
-- day of it. A goal owes follow-ups in a period when it ran in the period and had run for at
-- least one follow-up interval by the period's end (or by the extract, for a running period).
-- It is overdue on the days more than the interval plus the grace after its setting or its
-- latest follow-up, while it still runs (same rule as ind_key_figures' overdue_followups).
{%- set due_days = var('followup_interval_days') + var('followup_grace_days') %}
with goals as (
    select * from {{ ref('fct_goals') }}
),

interventions as (
    select * from {{ ref('stg_interventions') }}
),

followups as (
    select * from {{ ref('fct_goal_followups') }}
),

periods as (
    select * from {{ ref('int_periods') }}
),

-- A goal runs from the day it is set to its due day or its intervention's end, whichever is
-- first; runs_until is null while it has neither.
goal_runs as (
    select
        goals.goal_id,
        goals.citizen_key,
        goals.provider_org_unit_id,
        goals.authority_org_unit_id,
        goals.set_on,
        case
            when interventions.ended_on is not null
                and (goals.due_on is null or interventions.ended_on < goals.due_on)
                then interventions.ended_on
            else goals.due_on
        end as runs_until
    from goals
    left join interventions on interventions.intervention_id = goals.intervention_id
),

goal_events as (
    select goal_id, set_on as event_on from goal_runs
    union all
    select goal_id, followed_up_on from followups
),

events_with_next as (
    select
        goal_id,
        event_on,
        lead(event_on) over (partition by goal_id order by event_on) as next_event_on
    from goal_events
),

-- Spells of overdue days: from interval + grace after an event to the day before the next
-- event, or to the goal's last running day when none came.
overdue_spells as (
    select
        events_with_next.goal_id,
        {{ dbt.dateadd('day', due_days + 1, 'events_with_next.event_on') }} as overdue_from,
        case
            when events_with_next.next_event_on is not null
                and (goal_runs.runs_until is null
                     or {{ dbt.dateadd('day', -1, 'events_with_next.next_event_on') }} < goal_runs.runs_until)
                then {{ dbt.dateadd('day', -1, 'events_with_next.next_event_on') }}
            else goal_runs.runs_until
        end as overdue_until
    from events_with_next
    inner join goal_runs on goal_runs.goal_id = events_with_next.goal_id
),

goals_owing as (
    select
        periods.period_type,
        periods.period_label,
        periods.period_start,
        periods.observed_end,
        goal_runs.goal_id,
        goal_runs.citizen_key,
        goal_runs.provider_org_unit_id,
        goal_runs.authority_org_unit_id
    from goal_runs
    inner join periods
        on (goal_runs.runs_until is null or goal_runs.runs_until >= periods.period_start)
        and {{ dbt.dateadd('day', var('followup_interval_days'), 'goal_runs.set_on') }}
            <= case when goal_runs.runs_until < periods.observed_end
                    then goal_runs.runs_until else periods.observed_end end
)

select
    goals_owing.period_type,
    goals_owing.period_label,
    goals_owing.goal_id,
    goals_owing.citizen_key,
    goals_owing.provider_org_unit_id,
    goals_owing.authority_org_unit_id,
    max(case when overdue_spells.goal_id is not null then 1 else 0 end) = 1 as is_overdue
from goals_owing
left join overdue_spells
    on overdue_spells.goal_id = goals_owing.goal_id
    and (overdue_spells.overdue_until is null or overdue_spells.overdue_from <= overdue_spells.overdue_until)
    and overdue_spells.overdue_from <= goals_owing.observed_end
    and (overdue_spells.overdue_until is null or overdue_spells.overdue_until >= goals_owing.period_start)
group by
    goals_owing.period_type,
    goals_owing.period_label,
    goals_owing.goal_id,
    goals_owing.citizen_key,
    goals_owing.provider_org_unit_id,
    goals_owing.authority_org_unit_id
