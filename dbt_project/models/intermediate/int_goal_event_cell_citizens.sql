-- Each citizen once per period, unit, role and kind of follow-up event, with their events and
-- how many of them hit: follow-ups on time (within the interval plus grace of the goal's
-- previous follow-up, or of the day it was set) and goals overdue (running at the period's end,
-- or at the extract for the running period, with their last follow-up older than that). The
-- key figures on follow-ups are sums and plain counts of these rows; a table of its own, so
-- that this aggregate has the memory to itself at national scale.
{%- set due_days = var('followup_interval_days') + var('followup_grace_days') %}
with periods as (
    {{ numbered_periods() }}
),

goals as {{ not_materialized() }} (
    {{ with_citizen_numbers('fct_goals') }}
),

followups as {{ not_materialized() }} (
    select
        followups.goal_id,
        followups.followed_up_on,
        goals.citizen_number,
        goals.provider_org_unit_id,
        goals.authority_org_unit_id,
        {{ dbt.datediff(
            "coalesce(lag(followups.followed_up_on) over (partition by followups.goal_id order by followups.followed_up_on, followups.followup_id), goals.set_on)",
            'followups.followed_up_on', 'day') }} as days_since_previous
    from {{ ref('fct_goal_followups') }} as followups
    inner join goals on goals.goal_id = followups.goal_id
),

followup_periods as (
    select periods.period_id, followups.*
    from followups
    inner join periods on followups.followed_up_on between periods.period_start and periods.period_end
),

last_followup_by_end as (
    select
        periods.period_id, periods.observed_end, goals.goal_id, goals.citizen_number,
        goals.provider_org_unit_id, goals.authority_org_unit_id,
        coalesce(max(followups.followed_up_on), goals.set_on) as last_event_on
    from goals
    inner join periods on goals.set_on <= periods.observed_end and goals.due_on >= periods.observed_end
    inner join {{ ref('stg_interventions') }} as interventions
        on interventions.intervention_id = goals.intervention_id
        and (interventions.ended_on is null or interventions.ended_on >= periods.observed_end)
    left join followups on followups.goal_id = goals.goal_id and followups.followed_up_on <= periods.observed_end
    group by periods.period_id, periods.observed_end, goals.goal_id, goals.citizen_number,
        goals.provider_org_unit_id, goals.authority_org_unit_id, goals.set_on
),

goal_events as (
    select period_id, citizen_number, provider_org_unit_id, authority_org_unit_id,
        'on_time' as kind, case when days_since_previous <= {{ due_days }} then 1 else 0 end as hit
    from followup_periods
    union all
    select period_id, citizen_number, provider_org_unit_id, authority_org_unit_id,
        'overdue', case when {{ dbt.datediff('last_event_on', 'observed_end', 'day') }} > {{ due_days }} then 1 else 0 end
    from last_followup_by_end
),

goal_event_cells as (
    {{ attribute_to_units('goal_events',
                          {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
)

select
    period_id,
    org_role,
    org_unit_id,
    kind,
    citizen_number,
    count(*) as n_events,
    sum(hit) as n_hits
from goal_event_cells
group by period_id, org_role, org_unit_id, kind, citizen_number
