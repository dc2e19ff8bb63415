-- Achieved against not-achieved goals by goal type, from each goal's latest follow-up in the period.
{%- set cell_columns = ['period_type', 'period_label', 'org_role', 'org_level', 'org_unit_id',
    'org_unit_name', 'org_parent_id', 'goal_type'] %}
with goal_cells as (
    select * from {{ ref('int_goal_cells') }}
),

typed as (
    select {{ cell_columns[:7] | join(', ') }}, goal_type, citizen_key, is_achieved from goal_cells
    union all
    select {{ cell_columns[:7] | join(', ') }}, 'all', citizen_key, is_achieved from goal_cells
),

cells as (
    select
        {{ cell_columns | join(', ') }},
        count(*) as n_goals,
        sum(case when is_achieved then 1 else 0 end) as n_achieved,
        count(distinct citizen_key) as n_citizens,
        {{ is_small_cell('count(distinct citizen_key)') }} as is_suppressed
    from typed
    group by {{ cell_columns | join(', ') }}
),

{{ secondary_suppression(
    'cells',
    columns=cell_columns + ['n_goals', 'n_achieved', 'n_citizens'],
    groups=[
        ("period_type, period_label, org_role, org_unit_id", "goal_type <> 'all'"),
        ("period_type, period_label, org_role, org_parent_id, goal_type", "org_level > 1"),
    ],
    order_by='n_citizens, org_unit_id, goal_type',
) }}

select
    {{ indicator_key_columns('cells_suppressed') }},
    cells_suppressed.goal_type,
    cast({{ unless_suppressed('n_goals') }} as bigint) as n_goals,
    cast({{ unless_suppressed('n_achieved') }} as bigint) as n_achieved,
    cast({{ unless_suppressed('100.0 * n_achieved / n_goals') }} as double) as pct_achieved,
    cast({{ unless_suppressed('100.0 - 100.0 * n_achieved / n_goals') }} as double) as pct_not_achieved,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    cells_suppressed.is_suppressed
from cells_suppressed
{{ join_periods('cells_suppressed') }}
