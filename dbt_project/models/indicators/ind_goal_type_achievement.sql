-- Achieved against not-achieved goals by goal type, from each goal's latest follow-up in the period.
{#- Each citizen's counts are made once at the level-3 units and added up the hierarchy; names,
    levels and parents join the few thousand cells at the end. #}
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id'] %}
with periods as (
    {{ numbered_periods() }}
),

ancestors as (
    select leaf_org_unit_id, org_role, org_unit_id from {{ ref('int_org_ancestors') }}
),

followed as (
    select periods.period_id, followed.citizen_number, followed.goal_type, followed.provider_org_unit_id, followed.authority_org_unit_id, followed.is_achieved
    from ({{ with_citizen_numbers('int_goal_period_followups') }}) as followed
    inner join periods
        on periods.period_type = followed.period_type and periods.period_label = followed.period_label
),

-- Per citizen and goal type, at the level-3 units a goal counts for: its intervention's
-- provider and its case's authority (DOMAIN.md: "Attribution").
leaf_citizen_counts as (
    {%- for role in ['provider', 'authority'] %}
    select
        period_id, '{{ role }}' as org_role, {{ role }}_org_unit_id as leaf_org_unit_id, goal_type,
        citizen_number,
        count(*) as n_goals,
        sum(case when is_achieved then 1 else 0 end) as n_achieved
    from followed
    group by period_id, {{ role }}_org_unit_id, goal_type, citizen_number
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- And every unit above: a goal counts once in a unit's period, so the counts add up. One row
-- per citizen and goal type in a unit's period, then per citizen over all types: each cell
-- counts its citizens by counting rows.
per_citizen_type as (
    select
        counts.period_id,
        counts.org_role,
        ancestors.org_unit_id,
        counts.goal_type,
        counts.citizen_number,
        sum(counts.n_goals) as n_goals,
        sum(counts.n_achieved) as n_achieved
    from leaf_citizen_counts as counts
    inner join ancestors
        on ancestors.leaf_org_unit_id = counts.leaf_org_unit_id and ancestors.org_role = counts.org_role
    group by counts.period_id, counts.org_role, ancestors.org_unit_id, counts.goal_type, counts.citizen_number
),

per_citizen as (
    select * from per_citizen_type
    union all
    select {{ key_columns | join(', ') }}, 'all', citizen_number, sum(n_goals), sum(n_achieved)
    from per_citizen_type
    group by {{ key_columns | join(', ') }}, citizen_number
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
    cast({{ unless_suppressed(divide('100 * n_achieved', 'n_goals')) }} as double) as pct_achieved,
    cast({{ unless_suppressed('100 - ' ~ divide('100 * n_achieved', 'n_goals')) }} as double) as pct_not_achieved,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    {{ suppression_columns('cells') }}
from cells
{{ join_periods('cells') }}
