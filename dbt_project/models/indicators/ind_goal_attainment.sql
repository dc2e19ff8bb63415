-- Average goal attainment per life theme and sub-theme, period and unit (DOMAIN.md):
-- per citizen the share of their followed-up goals achieved, then the mean over citizens.
{#- Each citizen's sums are made once at the level-3 units and added up the hierarchy; the hot
    path carries small integers (period, citizen), and labels, names, levels and parents join
    the few thousand cells at the end. #}
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id'] %}
{%- set citizen_sums = ['n_goals', 'n_achieved', 'sum_wx', 'sum_w2', 'sum_w'] %}
with periods as (
    {{ numbered_periods() }}
),

ancestors as (
    select leaf_org_unit_id, org_role, org_unit_id from {{ ref('int_org_ancestors') }}
),

followed as (
    select periods.period_id, followed.citizen_number, followed.life_theme, followed.sub_theme, followed.provider_org_unit_id, followed.authority_org_unit_id, followed.is_achieved, followed.weight, followed.gas_score
    from ({{ with_citizen_numbers('int_goal_period_followups') }}) as followed
    inner join periods
        on periods.period_type = followed.period_type and periods.period_label = followed.period_label
),

-- Per citizen and sub-theme, at the level-3 units a goal counts for: its intervention's
-- provider and its case's authority (DOMAIN.md: "Attribution").
{%- set leaf_sums %}
        count(*) as n_goals,
        sum(case when is_achieved then 1 else 0 end) as n_achieved,
        sum(weight * gas_score) as sum_wx,
        sum(weight * weight) as sum_w2,
        sum(weight) as sum_w
{%- endset %}
leaf_citizen_sums as (
    {%- for role in ['provider', 'authority'] %}
    select
        period_id, '{{ role }}' as org_role, {{ role }}_org_unit_id as leaf_org_unit_id,
        life_theme, sub_theme, citizen_number,
        {{ leaf_sums }}
    from followed
    group by period_id, {{ role }}_org_unit_id, life_theme, sub_theme, citizen_number
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- And every unit above. A goal counts once in a unit's period (one intervention, one case), so
-- a citizen's sums add up from units to areas, and from sub-theme to life theme to all.
per_citizen_sub_theme as (
    select
        {% for column in key_columns %}{{ 'ancestors' if column == 'org_unit_id' else 'sums' }}.{{ column }}, {% endfor %}
        sums.life_theme,
        sums.sub_theme,
        sums.citizen_number,
        {%- for column in citizen_sums %}
        sum(sums.{{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from leaf_citizen_sums as sums
    inner join ancestors
        on ancestors.leaf_org_unit_id = sums.leaf_org_unit_id and ancestors.org_role = sums.org_role
    group by sums.period_id, sums.org_role, ancestors.org_unit_id, sums.life_theme, sums.sub_theme,
        sums.citizen_number
),

per_citizen_life_theme as (
    select
        {{ key_columns | join(', ') }},
        life_theme,
        'all' as sub_theme,
        citizen_number,
        {%- for column in citizen_sums %}
        sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from per_citizen_sub_theme
    group by {{ key_columns | join(', ') }}, life_theme, citizen_number
),

per_citizen_all as (
    select
        {{ key_columns | join(', ') }},
        'all' as life_theme,
        'all' as sub_theme,
        citizen_number,
        {%- for column in citizen_sums %}
        sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from per_citizen_life_theme
    group by {{ key_columns | join(', ') }}, citizen_number
),

per_citizen as (
    select * from per_citizen_sub_theme
    union all
    select * from per_citizen_life_theme
    union all
    select * from per_citizen_all
),

counted_cells as (
    select
        {{ key_columns | join(', ') }},
        life_theme,
        sub_theme,
        count(*) as n_citizens,
        sum(n_goals) as n_goals,
        -- Averaged as fixed-point numbers: a float sum depends on the order rows arrive in, and
        -- the same data must publish the same figures to the last digit.
        {{ exact_mean('cast(' ~ divide('100 * n_achieved', 'n_goals') ~ ' as ' ~ dbt.type_numeric() ~ ')') }} as avg_goal_attainment_pct,
        {{ exact_mean('cast(' ~ gas_t_score('sum_wx', 'sum_w2', 'sum_w') ~ ' as ' ~ dbt.type_numeric() ~ ')') }} as avg_gas_t_score
    from per_citizen
    group by {{ key_columns | join(', ') }}, life_theme, sub_theme
),

cells as (
    {{ named_unit_cells('counted_cells', ['life_theme', 'sub_theme', 'n_citizens', 'n_goals',
                                          'avg_goal_attainment_pct', 'avg_gas_t_score']) }}
)

select
    {{ indicator_key_columns('cells') }},
    cells.life_theme,
    cells.sub_theme,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    cast({{ unless_suppressed('n_goals') }} as bigint) as n_goals,
    cast({{ unless_suppressed('avg_goal_attainment_pct') }} as double) as avg_goal_attainment_pct,
    cast({{ unless_suppressed('avg_gas_t_score') }} as double) as avg_gas_t_score,
    {{ suppression_columns('cells') }},
    periods.spans_data_break as data_break
from cells
{{ join_periods('cells') }}
