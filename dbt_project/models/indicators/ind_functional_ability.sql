-- Change in functional ability per instrument family and theme: per citizen and theme the
-- latest assessment in the period against the previous one (DOMAIN.md). Counts for the
-- authority unit of the assessment's case and for the providers of that case's interventions
-- that ran between the two assessments. Theme `all` pools the family's themes; VUM2008's
-- overall assessment keeps a row of its own.
{#- The hot path carries small integers (period, citizen) and short codes; labels, names,
    levels and parents join the few thousand cells at the end. #}
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id', 'instrument_family'] %}
{%- set change_counts -%}
        sum(case when change_step = 1 then 1 else 0 end) as n_improved,
        sum(case when change_step = 0 then 1 else 0 end) as n_unchanged,
        sum(case when change_step = -1 then 1 else 0 end) as n_worsened,
        max(case when crosses_data_break then 1 else 0 end) = 1 as any_crossing
{%- endset %}
with changes as (
    {{ with_citizen_numbers('fct_functional_ability_change') }}
),

periods as (
    {{ numbered_periods() }}
),

interventions as (
    select case_id, provider_org_unit_id, started_on, ended_on from {{ ref('stg_interventions') }}
),

ancestors as (
    select leaf_org_unit_id, org_role, org_level, org_unit_id from {{ ref('int_org_ancestors') }}
),

-- The delivered themes, numbered for this model. A family's `all` pools its themes: VUM's seven
-- and DIALOG's five. VUM2008's overall assessment is a judgement, not a theme, and VUM2 has
-- none: pooling it would change what `all` means at the 2017 break.
themes as (
    select
        delivered.instrument_family,
        delivered.theme,
        coalesce(codes.kind = 'theme', false) as is_pooled,
        row_number() over (order by delivered.instrument_family, delivered.theme) as theme_id
    from (
        select distinct instrument_family, theme from {{ ref('fct_functional_ability_change') }}
    ) as delivered
    left join {{ ref('assessment_themes') }} as codes
        on codes.instrument_family = delivered.instrument_family and codes.theme = delivered.theme
),

latest_in_period as (
    select
        periods.period_id,
        changes.citizen_number,
        changes.instrument_family,
        themes.theme_id,
        themes.is_pooled,
        case changes.change_class when 'improved' then 1 when 'worsened' then -1 else 0 end as change_step,
        changes.crosses_data_break,
        changes.case_id,
        changes.authority_org_unit_id,
        changes.assessed_on,
        changes.previous_assessed_on,
        row_number() over (
            partition by periods.period_id, changes.citizen_number, themes.theme_id
            order by changes.assessed_on desc, changes.assessment_id desc
        ) as recency
    from changes
    inner join themes on themes.instrument_family = changes.instrument_family and themes.theme = changes.theme
    inner join periods on changes.assessed_on between periods.period_start and periods.period_end
),

-- One comparison per citizen, family and theme in each period.
compared as (
    select * from latest_in_period where recency = 1
),

-- The level-3 units a comparison counts for: its case's authority, and the providers of the
-- case's interventions that ran between the two assessments.
comparison_leaves as (
    select
        period_id, citizen_number, instrument_family, theme_id, is_pooled, change_step, crosses_data_break,
        'authority' as org_role,
        authority_org_unit_id as leaf_org_unit_id
    from compared
    union all
    select distinct
        compared.period_id, compared.citizen_number, compared.instrument_family, compared.theme_id,
        compared.is_pooled, compared.change_step, compared.crosses_data_break,
        'provider',
        interventions.provider_org_unit_id
    from compared
    inner join interventions
        on interventions.case_id = compared.case_id
        and interventions.started_on <= compared.assessed_on
        and (interventions.ended_on is null or interventions.ended_on >= compared.previous_assessed_on)
),

-- And every unit above those. A comparison has one authority, and counts once for each
-- provider: only above the providers, where two of a citizen's providers can share an area,
-- does a comparison need the distinct. The two cells below read it as it is computed, not
-- stored whole first (ind_key_figures ran out of memory on such CTEs at 1,000,000 citizens).
{%- set unit_columns = ['period_id', 'org_role', 'instrument_family', 'theme_id', 'is_pooled',
                        'citizen_number', 'change_step', 'crosses_data_break'] %}
{%- set parts = [('', "ancestors.org_role = 'authority' or ancestors.org_level = 3"),
                 ('distinct', "ancestors.org_role = 'provider' and ancestors.org_level < 3")] %}
comparison_units as {{ not_materialized() }} (
    {%- for distinct, condition in parts %}
    select {{ distinct }}
        ancestors.org_unit_id,
        {%- for column in unit_columns %}
        comparison_leaves.{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from comparison_leaves
    inner join ancestors
        on ancestors.leaf_org_unit_id = comparison_leaves.leaf_org_unit_id
        and ancestors.org_role = comparison_leaves.org_role
    where {{ condition }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- Per theme a citizen has one comparison, so counting rows counts citizens.
theme_cells as (
    select
        {{ key_columns | join(', ') }},
        theme_id,
        count(*) as n_comparisons,
        count(*) as n_citizens,
        {{ change_counts }}
    from comparison_units
    group by {{ key_columns | join(', ') }}, theme_id
),

-- All themes together: every comparison of a pooled theme, each citizen once.
family_cells as (
    select
        {{ key_columns | join(', ') }},
        cast(null as bigint) as theme_id,
        count(*) as n_comparisons,
        count(distinct citizen_number) as n_citizens,
        {{ change_counts }}
    from comparison_units
    where is_pooled
    group by {{ key_columns | join(', ') }}
),

counted_cells as (
    select
        counted.period_id,
        counted.org_role,
        counted.org_unit_id,
        counted.instrument_family,
        coalesce(themes.theme, 'all') as theme,
        counted.n_comparisons,
        counted.n_citizens,
        counted.n_improved,
        counted.n_unchanged,
        counted.n_worsened,
        counted.any_crossing
    from (
        select * from theme_cells
        union all
        select * from family_cells
    ) as counted
    left join themes on themes.theme_id = counted.theme_id
),

cells as (
    {{ named_unit_cells('counted_cells', ['instrument_family', 'theme', 'n_comparisons', 'n_citizens',
                                          'n_improved', 'n_unchanged', 'n_worsened', 'any_crossing']) }}
)

select
    {{ indicator_key_columns('cells') }},
    cells.instrument_family,
    cells.theme,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    cast({{ unless_suppressed(divide('100 * n_improved', 'n_comparisons')) }} as double) as pct_improved,
    cast({{ unless_suppressed(divide('100 * n_unchanged', 'n_comparisons')) }} as double) as pct_unchanged,
    cast({{ unless_suppressed(divide('100 * n_worsened', 'n_comparisons')) }} as double) as pct_worsened,
    {{ suppression_columns('cells') }},
    periods.spans_data_break or cells.any_crossing as data_break
from cells
{{ join_periods('cells') }}
