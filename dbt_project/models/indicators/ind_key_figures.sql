-- Key figures (nøgletal) per period and unit: cases for the authority; interventions and
-- follow-ups for the provider and, through the case, the authority.
{#- Figures are counted by period number, unit id and citizen number; labels, names, levels and
    parents join the few cells at the end. #}
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id'] %}
{%- set can_have_goals = "intervention_type in ('developing', 'maintaining')" %}
{%- set due_days = var('followup_interval_days') + var('followup_grace_days') %}
{#- The detail CTEs below are read by several figures; computed where read rather than stored
    whole first, they stay out of memory: stored, they left too little of DuckDB's 3 GB cap for
    the per-citizen counts at 1,000,000 citizens. #}
with periods as (
    {{ numbered_periods() }}
),

cases as {{ not_materialized() }} (
    {{ with_citizen_numbers('stg_cases') }}
),

interventions as {{ not_materialized() }} (
    select
        interventions.*,
        cases.citizen_number,
        cases.authority_org_unit_id
    from {{ ref('stg_interventions') }} as interventions
    inner join cases on cases.case_id = interventions.case_id
),

goals as {{ not_materialized() }} (
    {{ with_citizen_numbers('fct_goals') }}
),

first_goal as (
    select intervention_id, min(set_on) as first_goal_on from goals group by intervention_id
),

followups as {{ not_materialized() }} (
    select
        followups.goal_id,
        followups.followup_id,
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

-- Cases active in the period (open at any time in it), for the authority that owns them.
case_periods as (
    select
        periods.period_id, cases.case_id, cases.citizen_number, cases.caseworker_id,
        cases.authority_org_unit_id,
        cases.opened_on between periods.period_start and periods.period_end as is_new,
        coalesce(cases.closed_on between periods.period_start and periods.period_end, false) as is_closed
    from cases
    inner join periods
        on cases.opened_on <= periods.period_end
        and (cases.closed_on is null or cases.closed_on >= periods.period_start)
),

case_cells as {{ not_materialized() }} (
    {{ attribute_to_units('case_periods', {'authority': 'authority_org_unit_id'}) }}
),

-- Each citizen once per cell, with how many of their cases there were active, new and closed:
-- the citizen counts are then plain counts, which spill to disk where count(distinct) did not.
case_citizens as (
    select
        {{ key_columns | join(', ') }},
        citizen_number,
        count(*) as n_cases,
        sum(case when is_new then 1 else 0 end) as n_new,
        sum(case when is_closed then 1 else 0 end) as n_closed
    from case_cells
    group by {{ key_columns | join(', ') }}, citizen_number
),

case_caseworkers as (
    select {{ key_columns | join(', ') }}, count(distinct caseworker_id) as n_caseworkers
    from case_cells
    group by {{ key_columns | join(', ') }}
),

-- Every case figure of a cell in one pass over its citizens; one row per figure below.
case_counts as (
    select
        {{ key_columns | join(', ') }},
        sum(citizens.n_cases) as n_active,
        count(*) as n_citizens_active,
        sum(citizens.n_new) as n_new,
        sum(case when citizens.n_new > 0 then 1 else 0 end) as n_citizens_new,
        sum(citizens.n_closed) as n_closed,
        sum(case when citizens.n_closed > 0 then 1 else 0 end) as n_citizens_closed,
        max(caseworkers.n_caseworkers) as n_caseworkers
    from case_citizens as citizens
    inner join case_caseworkers as caseworkers using ({{ key_columns | join(', ') }})
    group by {{ key_columns | join(', ') }}
),

case_figures as (
    select {{ key_columns | join(', ') }}, 'active_cases' as figure, 'all' as breakdown,
        cast(n_active as double) as value, 'cases' as unit, n_citizens_active as n_citizens
    from case_counts
    union all
    select {{ key_columns | join(', ') }}, 'new_cases', 'all', cast(n_new as double), 'cases', n_citizens_new
    from case_counts
    union all
    select {{ key_columns | join(', ') }}, 'closed_cases', 'all', cast(n_closed as double), 'cases', n_citizens_closed
    from case_counts
    union all
    select {{ key_columns | join(', ') }}, 'cases_per_caseworker', 'all',
        1.0 * n_active / n_caseworkers, 'cases_per_caseworker', n_citizens_active
    from case_counts
),

-- Interventions active in the period, for their provider and for their case's authority.
intervention_periods as (
    select
        periods.period_id, periods.period_end,
        interventions.intervention_id, interventions.citizen_number, interventions.legal_basis,
        interventions.intervention_type, interventions.provider_org_unit_id,
        interventions.authority_org_unit_id,
        interventions.ended_on between periods.period_start and periods.period_end as ended_in_period,
        {{ dbt.datediff('interventions.started_on', 'interventions.ended_on', 'day') }} as duration_days,
        coalesce(first_goal.first_goal_on <= periods.period_end, false) as has_goal
    from interventions
    inner join periods
        on interventions.started_on <= periods.period_end
        and (interventions.ended_on is null or interventions.ended_on >= periods.period_start)
    left join first_goal on first_goal.intervention_id = interventions.intervention_id
),

intervention_cells as {{ not_materialized() }} (
    {{ attribute_to_units('intervention_periods',
                          {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
),

-- Each citizen once per cell and legal basis, with what their interventions there were: a
-- cell's counts are sums of these rows and its citizen counts plain counts of them, which
-- spill to disk where count(distinct) beside a median did not (at 1,000,000 citizens).
intervention_citizens as (
    select
        {{ key_columns | join(', ') }},
        legal_basis,
        citizen_number,
        count(*) as n_interventions,
        sum(case when ended_in_period then 1 else 0 end) as n_ended,
        sum(case when {{ can_have_goals }} then 1 else 0 end) as n_can_have_goals,
        sum(case when {{ can_have_goals }} and has_goal then 1 else 0 end) as n_with_goals
    from intervention_cells
    group by {{ key_columns | join(', ') }}, legal_basis, citizen_number
),

-- Each citizen once per cell.
intervention_cell_citizens as (
    select
        {{ key_columns | join(', ') }},
        citizen_number,
        sum(n_interventions) as n_interventions,
        sum(n_ended) as n_ended,
        sum(n_can_have_goals) as n_can_have_goals,
        sum(n_with_goals) as n_with_goals
    from intervention_citizens
    group by {{ key_columns | join(', ') }}, citizen_number
),

-- Every count of a cell in one pass over its citizens.
intervention_counts as (
    select
        {{ key_columns | join(', ') }},
        sum(n_interventions) as n_active,
        count(*) as n_citizens_active,
        sum(n_ended) as n_ended,
        sum(case when n_ended > 0 then 1 else 0 end) as n_citizens_ended,
        sum(n_can_have_goals) as n_can_have_goals,
        sum(n_with_goals) as n_with_goals,
        sum(case when n_can_have_goals > 0 then 1 else 0 end) as n_citizens_can_have_goals
    from intervention_cell_citizens
    group by {{ key_columns | join(', ') }}
),

-- The median length of the interventions that ended in the period, where some did.
intervention_medians as (
    select {{ key_columns | join(', ') }}, {{ median('duration_days') }} as median_days
    from intervention_cells
    where ended_in_period
    group by {{ key_columns | join(', ') }}
),

intervention_figures as (
    select {{ key_columns | join(', ') }}, 'active_interventions' as figure, 'all' as breakdown,
        cast(n_active as double) as value, 'interventions' as unit, n_citizens_active as n_citizens
    from intervention_counts
    union all
    select {{ key_columns | join(', ') }}, 'active_interventions', legal_basis,
        cast(sum(n_interventions) as double), 'interventions', count(*)
    from intervention_citizens group by {{ key_columns | join(', ') }}, legal_basis
    union all
    select {{ key_columns | join(', ') }}, 'median_intervention_days', 'all',
        cast(medians.median_days as double), 'days', counts.n_citizens_ended
    from intervention_medians as medians
    inner join intervention_counts as counts using ({{ key_columns | join(', ') }})
    union all
    select {{ key_columns | join(', ') }}, 'share_interventions_with_goals', 'all',
        100.0 * n_with_goals / n_can_have_goals, 'percent', n_citizens_can_have_goals
    from intervention_counts where n_can_have_goals > 0
),

-- Follow-ups on time: within the interval plus grace of the goal's previous follow-up (or of
-- the day it was set). Overdue: goals running at the period's end (or at the extract, for the
-- current period) whose last follow-up is older than that.
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
    inner join interventions on interventions.intervention_id = goals.intervention_id
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
),

-- Each citizen once per cell and kind of event, with their events and hits: the citizen counts
-- are then plain counts.
goal_event_citizens as (
    select
        {{ key_columns | join(', ') }},
        kind,
        citizen_number,
        count(*) as n_events,
        sum(hit) as n_hits
    from goal_event_cells
    group by {{ key_columns | join(', ') }}, kind, citizen_number
),

goal_figures as (
    select {{ key_columns | join(', ') }}, 'share_followups_on_time' as figure, 'all' as breakdown,
        100.0 * sum(n_hits) / sum(n_events) as value, 'percent' as unit, count(*) as n_citizens
    from goal_event_citizens where kind = 'on_time' group by {{ key_columns | join(', ') }}
    union all
    select {{ key_columns | join(', ') }}, 'overdue_followups', 'all',
        cast(sum(n_hits) as double), 'goals', sum(case when n_hits > 0 then 1 else 0 end)
    from goal_event_citizens where kind = 'overdue' group by {{ key_columns | join(', ') }}
),

figures as (
    select * from case_figures
    union all
    select * from intervention_figures
    union all
    select * from goal_figures
),

cells as (
    {{ named_unit_cells('figures', ['figure', 'breakdown', 'value', 'unit', 'n_citizens']) }}
)

select
    {{ indicator_key_columns('cells') }},
    cells.figure,
    cells.breakdown,
    cast({{ unless_suppressed('value') }} as double) as value,
    cells.unit,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    {{ suppression_columns('cells') }}
from cells
{{ join_periods('cells') }}
