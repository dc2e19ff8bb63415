-- Average goal attainment per life theme and sub-theme, period and unit (DOMAIN.md):
-- per citizen the share of their followed-up goals achieved, then the mean over citizens.
{#- Counted by unit id; names, levels and parents join the few cells at the end. #}
{%- set key_columns = ['period_type', 'period_label', 'org_role', 'org_unit_id'] %}
{%- set citizen_sums = ['n_goals', 'n_achieved', 'sum_wx', 'sum_w2', 'sum_w'] %}
with goal_cells as (
    select * from {{ ref('int_goal_cells') }}
),

-- A goal counts once in a unit's period (one intervention, one case), so a citizen's sums over
-- their goals add up from sub-theme to life theme to all.
per_citizen_sub_theme as (
    select
        {{ key_columns | join(', ') }},
        life_theme,
        sub_theme,
        citizen_key,
        count(*) as n_goals,
        sum(case when is_achieved then 1 else 0 end) as n_achieved,
        sum(weight * gas_score) as sum_wx,
        sum(weight * weight) as sum_w2,
        sum(weight) as sum_w
    from goal_cells
    group by {{ key_columns | join(', ') }}, life_theme, sub_theme, citizen_key
),

per_citizen_life_theme as (
    select
        {{ key_columns | join(', ') }},
        life_theme,
        'all' as sub_theme,
        citizen_key,
        {%- for column in citizen_sums %}
        sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from per_citizen_sub_theme
    group by {{ key_columns | join(', ') }}, life_theme, citizen_key
),

per_citizen_all as (
    select
        {{ key_columns | join(', ') }},
        'all' as life_theme,
        'all' as sub_theme,
        citizen_key,
        {%- for column in citizen_sums %}
        sum({{ column }}) as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from per_citizen_life_theme
    group by {{ key_columns | join(', ') }}, citizen_key
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
        avg(cast(100.0 * n_achieved / n_goals as {{ dbt.type_numeric() }})) as avg_goal_attainment_pct,
        avg(cast({{ gas_t_score('sum_wx', 'sum_w2', 'sum_w') }} as {{ dbt.type_numeric() }})) as avg_gas_t_score
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
