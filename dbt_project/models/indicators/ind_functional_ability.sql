-- Change in functional ability per instrument family and theme: per citizen and theme the
-- latest assessment in the period against the previous one (DOMAIN.md). Counts for the
-- authority unit of the assessment's case and for the providers of that case's interventions
-- that ran between the two assessments. Theme `all` pools the family's themes; VUM2008's
-- overall assessment keeps a row of its own.
{%- set fa_columns = ['period_type', 'period_label', 'citizen_key', 'instrument_family', 'theme',
    'change_class', 'crosses_data_break'] %}
{%- set key_columns = ['period_type', 'period_label', 'org_role', 'org_unit_id', 'instrument_family'] %}
{%- set comparison_columns = key_columns + ['theme', 'citizen_key', 'change_class', 'crosses_data_break'] %}
{%- set change_counts -%}
        sum(case when change_class = 'improved' then 1 else 0 end) as n_improved,
        sum(case when change_class = 'unchanged' then 1 else 0 end) as n_unchanged,
        sum(case when change_class = 'worsened' then 1 else 0 end) as n_worsened,
        max(case when crosses_data_break then 1 else 0 end) = 1 as any_crossing
{%- endset %}
with changes as (
    select * from {{ ref('fct_functional_ability_change') }}
),

periods as (
    select * from {{ ref('int_periods') }}
),

interventions as (
    select * from {{ ref('stg_interventions') }}
),

-- The themes a family's `all` pools: VUM's seven and DIALOG's five. VUM2008's overall
-- assessment is a judgement, not a theme, and VUM2 has none: pooling it would change what
-- `all` means at the 2017 break.
pooled_themes as (
    select instrument_family, theme from {{ ref('assessment_themes') }} where kind = 'theme'
),

latest_in_period as (
    select
        periods.period_type,
        periods.period_label,
        changes.*,
        row_number() over (
            partition by periods.period_type, periods.period_label,
                changes.citizen_key, changes.instrument_family, changes.theme
            order by changes.assessed_on desc, changes.assessment_id desc
        ) as recency
    from changes
    inner join periods on changes.assessed_on between periods.period_start and periods.period_end
),

compared as (
    select {{ fa_columns | join(', ') }}, case_id, authority_org_unit_id, assessed_on, previous_assessed_on
    from latest_in_period
    where recency = 1
),

provider_comparisons as (
    select distinct
        {% for column in fa_columns %}compared.{{ column }}, {% endfor %}interventions.provider_org_unit_id
    from compared
    inner join interventions
        on interventions.case_id = compared.case_id
        and interventions.started_on <= compared.assessed_on
        and (interventions.ended_on is null or interventions.ended_on >= compared.previous_assessed_on)
),

-- Units are carried by id alone; their names, levels and parents join the few cells at the end.
-- A comparison has one case and so one authority: its rows are one per citizen and theme in each
-- unit's period already. Two of a citizen's providers can share an area, so their rows need the
-- distinct.
distinct_comparisons as (
    select {{ comparison_columns | join(', ') }}
    from ({{ attribute_to_units('compared', {'authority': 'authority_org_unit_id'}) }}) as by_authority
    union all
    select distinct {{ comparison_columns | join(', ') }}
    from ({{ attribute_to_units('provider_comparisons', {'provider': 'provider_org_unit_id'}) }}) as by_provider
),

-- Per theme a citizen has one comparison, so counting rows counts citizens.
theme_cells as (
    select
        {{ key_columns | join(', ') }},
        theme,
        count(*) as n_comparisons,
        count(*) as n_citizens,
        {{ change_counts }}
    from distinct_comparisons
    group by {{ key_columns | join(', ') }}, theme
),

-- All themes together: every comparison of a pooled theme, each citizen once.
family_cells as (
    select
        {% for column in key_columns %}distinct_comparisons.{{ column }}, {% endfor %}
        'all' as theme,
        count(*) as n_comparisons,
        count(distinct distinct_comparisons.citizen_key) as n_citizens,
        {{ change_counts }}
    from distinct_comparisons
    inner join pooled_themes
        on pooled_themes.instrument_family = distinct_comparisons.instrument_family
        and pooled_themes.theme = distinct_comparisons.theme
    group by {% for column in key_columns %}distinct_comparisons.{{ column }}{{ ", " if not loop.last }}{% endfor %}
),

counted_cells as (
    select * from theme_cells
    union all
    select * from family_cells
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
    cast({{ unless_suppressed('100.0 * n_improved / n_comparisons') }} as double) as pct_improved,
    cast({{ unless_suppressed('100.0 * n_unchanged / n_comparisons') }} as double) as pct_unchanged,
    cast({{ unless_suppressed('100.0 * n_worsened / n_comparisons') }} as double) as pct_worsened,
    {{ suppression_columns('cells') }},
    periods.spans_data_break or cells.any_crossing as data_break
from cells
{{ join_periods('cells') }}
