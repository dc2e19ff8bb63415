-- Key figures (nøgletal) per period and unit: cases for the authority; interventions and
-- follow-ups for the provider and, through the case, the authority.
{#- Figures are counted by period number, unit id and citizen number; labels, names, levels and
    parents join the few cells at the end. #}
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id'] %}
{#- The per-citizen rows of interventions and follow-ups are tables of their own
    (int_intervention_cell_citizens, int_goal_event_cell_citizens): in one query with the rest,
    their aggregates ran out of DuckDB's 3 GB cap at 1,000,000 citizens. #}
with periods as (
    {{ numbered_periods() }}
),

cases as (
    {{ with_citizen_numbers('stg_cases') }}
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
        {{ divide('n_active', 'n_caseworkers') }}, 'cases_per_caseworker', n_citizens_active
    from case_counts
),

-- Interventions that ended in the period, by their provider and their case's authority.
ended_interventions as (
    select
        periods.period_id,
        interventions.provider_org_unit_id,
        cases.authority_org_unit_id,
        {{ dbt.datediff('interventions.started_on', 'interventions.ended_on', 'day') }} as duration_days
    from {{ ref('stg_interventions') }} as interventions
    inner join cases on cases.case_id = interventions.case_id
    inner join periods
        on interventions.ended_on between periods.period_start and periods.period_end
        and interventions.started_on <= periods.period_end
),

intervention_citizens as {{ not_materialized() }} (
    select cells.* from {{ ref('int_intervention_cell_citizens') }} as cells
    inner join periods on periods.period_id = cells.period_id
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

-- The median length of the interventions that ended in the period, where some did, from how
-- many ended after each whole number of days: counted per leaf unit, then added up the
-- hierarchy, a few rows per cell instead of every intervention held by a holistic median.
intervention_day_counts as (
    select period_id, provider_org_unit_id, authority_org_unit_id, duration_days, count(*) as n_ended
    from ended_interventions
    group by period_id, provider_org_unit_id, authority_org_unit_id, duration_days
),

intervention_day_cells as (
    {{ attribute_to_units('intervention_day_counts',
                          {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
),

intervention_day_histogram as (
    select {{ key_columns | join(', ') }}, duration_days, sum(n_ended) as n_ended
    from intervention_day_cells
    group by {{ key_columns | join(', ') }}, duration_days
),

-- Each length with how many ended before it and up to it, of how many in the cell.
intervention_day_ranks as (
    select
        {{ key_columns | join(', ') }},
        duration_days,
        n_ended,
        sum(n_ended) over (
            partition by {{ key_columns | join(', ') }} order by duration_days
            rows between unbounded preceding and current row
        ) as n_through,
        sum(n_ended) over (partition by {{ key_columns | join(', ') }}) as n_total
    from intervention_day_histogram
),

-- The median is the mean of the values at the two middle positions (one when the count is
-- odd): positions floor((n - 1) / 2) and floor(n / 2), counted from 0, as percentile_cont(0.5).
intervention_medians as (
    select {{ key_columns | join(', ') }}, avg(duration_days) as median_days
    from intervention_day_ranks
    where 2 * (n_through - n_ended) <= n_total and 2 * n_through > n_total - 1
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
        {{ divide('100 * n_with_goals', 'n_can_have_goals') }}, 'percent', n_citizens_can_have_goals
    from intervention_counts where n_can_have_goals > 0
),

goal_event_citizens as {{ not_materialized() }} (
    select cells.* from {{ ref('int_goal_event_cell_citizens') }} as cells
    inner join periods on periods.period_id = cells.period_id
),

goal_figures as (
    select {{ key_columns | join(', ') }}, 'share_followups_on_time' as figure, 'all' as breakdown,
        {{ divide('100 * sum(n_hits)', 'sum(n_events)') }} as value, 'percent' as unit, count(*) as n_citizens
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
