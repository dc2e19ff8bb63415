-- Achieved against not-achieved goals by goal type, from each goal's latest follow-up in the period.
{#- Counted by unit id; names, levels and parents join the few cells at the end. #}
{%- set key_columns = ['period_type', 'period_label', 'org_role', 'org_unit_id'] %}
with goal_cells as (
    select * from {{ ref('int_goal_cells') }}
),

-- One row per citizen and goal type in a unit's period, then per citizen over all types: each
-- cell counts its citizens by counting rows.
per_citizen_type as (
    select
        {{ key_columns | join(', ') }},
        goal_type,
        citizen_key,
        count(*) as n_goals,
        sum(case when is_achieved then 1 else 0 end) as n_achieved
    from goal_cells
    group by {{ key_columns | join(', ') }}, goal_type, citizen_key
),

per_citizen as (
    select * from per_citizen_type
    union all
    select {{ key_columns | join(', ') }}, 'all', citizen_key, sum(n_goals), sum(n_achieved)
    from per_citizen_type
    group by {{ key_columns | join(', ') }}, citizen_key
),

counted_cells as (
    select
        {{ key_columns | join(', ') }},
        goal_type,
        sum(n_goals) as n_goals,
        sum(n_achieved) as n_achieved,
        count(*) as n_citizens
    from per_citizen
    group by {{ key_columns | join(', ') }}, goal_type
),

cells as (
    {{ named_unit_cells('counted_cells', ['goal_type', 'n_goals', 'n_achieved', 'n_citizens']) }}
)

select
    {{ indicator_key_columns('cells') }},
    cells.goal_type,
    cast({{ unless_suppressed('n_goals') }} as bigint) as n_goals,
    cast({{ unless_suppressed('n_achieved') }} as bigint) as n_achieved,
    cast({{ unless_suppressed('100.0 * n_achieved / n_goals') }} as double) as pct_achieved,
    cast({{ unless_suppressed('100.0 - 100.0 * n_achieved / n_goals') }} as double) as pct_not_achieved,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    {{ suppression_columns('cells') }}
from cells
{{ join_periods('cells') }}
