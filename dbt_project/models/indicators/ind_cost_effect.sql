-- Cost next to effect per period and unit (docs/indicators.md, "Cost next to effect"): for the
-- interventions with spending in the period, what they cost, how their goals went and whether
-- their citizens' functional ability improved; in all and by target group and intervention type.
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id', 'breakdown_by', 'breakdown'] %}
with periods as (
    {{ numbered_periods() }}
),

-- Per citizen and period: their latest comparison per instrument family and pooled theme.
theme_changes as (
    select
        periods.period_id,
        numbers.citizen_number,
        changes.change_class,
        row_number() over (
            partition by periods.period_id, numbers.citizen_number, changes.instrument_family, changes.theme
            order by changes.assessed_on desc, changes.assessment_id desc
        ) as recency
    from {{ ref('fct_functional_ability_change') }} as changes
    inner join {{ ref('int_citizen_numbers') }} as numbers on numbers.citizen_key = changes.citizen_key
    inner join {{ ref('assessment_themes') }} as themes
        on themes.instrument_family = changes.instrument_family and themes.theme = changes.theme
        and themes.kind = 'theme'
    inner join periods on changes.assessed_on between periods.period_start and periods.period_end
),

-- A citizen improved in the period when more of their themes improved than worsened.
citizen_changes as (
    select
        period_id,
        citizen_number,
        sum(case when change_class = 'improved' then 1 else 0 end)
            > sum(case when change_class = 'worsened' then 1 else 0 end) as is_improved
    from theme_changes
    where recency = 1
    group by period_id, citizen_number
),

-- Not materialised: each breakdown below reads it on its own, and a scan of the table streams.
unit_citizens as {{ not_materialized() }} (
    select * from {{ ref('int_cost_effect_unit_citizens') }}
    where period_id in (select period_id from periods)
),

-- Each citizen once per cell: per unit in all, by target group and by intervention type. One
-- aggregate per breakdown: one over the three together (a row per citizen, cell and breakdown,
-- 400 million at 1,000,000 citizens) ran out of 3 GB where each alone fits.
{%- set breakdowns = {'all': none, 'target_group': 'target_group', 'intervention_type': 'intervention_type'} %}
cell_sums as (
    {%- for breakdown_by, breakdown in breakdowns.items() %}
    select
        period_id, org_role, org_unit_id, '{{ breakdown_by }}' as breakdown_by,
        {{ breakdown or "'all'" }} as breakdown,
        citizen_number,
        sum(amount_ore) as amount_ore,
        sum(n_goals) as n_goals,
        sum(n_achieved) as n_achieved
    from unit_citizens
    group by period_id, org_role, org_unit_id, {{ breakdown ~ ', ' if breakdown }}citizen_number
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- With whether each citizen was assessed and improved in the period (one row per citizen).
citizen_cells as (
    select
        cells.*,
        case when changes.citizen_number is not null then 1 else 0 end as is_assessed,
        case when changes.is_improved then 1 else 0 end as is_improved
    from cell_sums as cells
    left join citizen_changes as changes
        on changes.period_id = cells.period_id and changes.citizen_number = cells.citizen_number
),

figures as (
    select
        {{ key_columns | join(', ') }},
        count(*) as n_citizens,
        {{ divide('sum(amount_ore)', '100') }} as spending_dkk,
        sum(n_goals) as n_goals,
        sum(n_achieved) as n_goals_achieved,
        -- Each citizen's share as an exact decimal, so that the mean does not depend on the
        -- order the engine adds them in (the same figures from build to build).
        {{ exact_mean("case when n_goals > 0 then cast(" ~ divide('n_achieved', 'n_goals') ~ " as decimal(18, 12)) end") }}
            as mean_share_achieved,
        sum(case when n_goals > 0 then 1 else 0 end) as n_citizens_with_goals,
        sum(is_assessed) as n_citizens_assessed,
        sum(is_improved) as n_citizens_improved
    from citizen_cells
    group by {{ key_columns | join(', ') }}
),

cells as (
    {{ named_unit_cells('figures', ['breakdown_by', 'breakdown', 'n_citizens', 'spending_dkk', 'n_goals',
                                    'n_goals_achieved', 'mean_share_achieved', 'n_citizens_with_goals',
                                    'n_citizens_assessed', 'n_citizens_improved']) }}
),

-- The goal and functional-ability figures are about fewer citizens than the cell's: each part
-- is withheld too when its own citizens are fewer than the threshold (but not none).
parts as (
    select
        cells.*,
        cells.is_suppressed or (n_citizens_with_goals > 0 and {{ is_small_cell('n_citizens_with_goals') }})
            as goals_suppressed,
        cells.is_suppressed or (n_citizens_assessed > 0 and {{ is_small_cell('n_citizens_assessed') }})
            as ability_suppressed
    from cells
)

select
    {{ indicator_key_columns('cells') }},
    cells.breakdown_by,
    cells.breakdown,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    cast({{ unless_suppressed(round_double('spending_dkk', 2)) }} as double) as spending_dkk,
    cast({{ unless_suppressed(round_double('spending_dkk / n_citizens', 2)) }} as double) as cost_per_citizen_dkk,
    cast({{ unless_suppressed('n_citizens_with_goals', 'goals_suppressed') }} as bigint) as n_citizens_with_goals,
    cast({{ unless_suppressed('n_goals', 'goals_suppressed') }} as bigint) as n_goals,
    cast({{ unless_suppressed('n_goals_achieved', 'goals_suppressed') }} as bigint) as n_goals_achieved,
    cast({{ unless_suppressed('100 * mean_share_achieved', 'goals_suppressed') }} as double)
        as avg_goal_attainment_pct,
    cast({{ unless_suppressed(round_double('spending_dkk / nullif(n_goals_achieved, 0)', 2), 'goals_suppressed') }} as double)
        as spending_per_achieved_goal_dkk,
    cast({{ unless_suppressed('n_citizens_assessed', 'ability_suppressed') }} as bigint) as n_citizens_assessed,
    cast({{ unless_suppressed('n_citizens_improved', 'ability_suppressed') }} as bigint) as n_citizens_improved,
    cast({{ unless_suppressed(divide('100 * n_citizens_improved', 'nullif(n_citizens_assessed, 0)'), 'ability_suppressed') }} as double)
        as pct_citizens_improved,
    cast({{ unless_suppressed(round_double('spending_dkk / nullif(n_citizens_improved, 0)', 2), 'ability_suppressed') }} as double)
        as spending_per_improved_citizen_dkk,
    {{ suppression_columns('cells') }},
    -- Each part's own status, for the open copies' secondary suppression to mark as well.
    case when cells.goals_suppressed then 'primary' end as goals_suppression,
    case when cells.ability_suppressed then 'primary' end as ability_suppression
from parts as cells
{{ join_periods('cells') }}
