{#- The definitions of ../shared/DOMAIN.md, section "Indicator definitions", in one place. -#}

{#- GAS T-score (Kiresuk and Sherman) from a citizen's sums over followed-up goals:
    T = 50 + 10 * sum(w*x) / sqrt((1 - rho) * sum(w^2) + rho * (sum w)^2). -#}
{% macro gas_t_score(sum_wx, sum_w2, sum_w) -%}
    (50 + 10 * {{ sum_wx }} / sqrt((1 - {{ var('gas_rho') }}) * {{ sum_w2 }}
        + {{ var('gas_rho') }} * {{ sum_w }} * {{ sum_w }}))
{%- endmacro %}

{#- Support need on 0-1, whatever the instrument: VUM 0-4 means more need as it rises,
    the dialogue ruler 1-10 means less need as it rises. -#}
{% macro support_need(instrument_family, score) -%}
    case {{ instrument_family }}
        when 'VUM' then {{ divide(score, '4') }}
        when 'DIALOG' then {{ divide('10 - ' ~ score, '9') }}
    end
{%- endmacro %}

{#- One step of the instrument's scale on the support-need scale. -#}
{% macro scale_step(instrument_family) -%}
    case {{ instrument_family }} when 'VUM' then {{ divide('1', '4') }} when 'DIALOG' then {{ divide('1', '9') }} end
{%- endmacro %}

{#- A figure about fewer than var('min_cell_citizens') distinct citizens is suppressed. -#}
{% macro is_small_cell(n_citizens) -%}
    ({{ n_citizens }} < {{ var('min_cell_citizens') }})
{%- endmacro %}

{#- The value, or null where the cell is suppressed. Secondary suppression, which needs every open
    table at once, is decided after the build (orchestration/disclosure) and applied to the
    published copies. -#}
{% macro unless_suppressed(value, is_suppressed='is_suppressed') -%}
    case when {{ is_suppressed }} then null else {{ value }} end
{%- endmacro %}

{#- Rows of `relation` repeated for every unit they count for (DOMAIN.md, "Attribution"): for
    each role, the level-3 unit in `leaf_columns[role]` and every unit above it, as `org_role`
    and `org_unit_id` (names, levels and parents join the few cells at the end). -#}
{% macro attribute_to_units(relation, leaf_columns) -%}
    {%- for role, column in leaf_columns.items() %}
    select
        {{ relation }}.*,
        ancestors.org_role,
        ancestors.org_unit_id
    from {{ relation }}
    inner join {{ ref('int_org_ancestors') }} as ancestors
        on ancestors.leaf_org_unit_id = {{ relation }}.{{ column }}
        and ancestors.org_role = '{{ role }}'
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}

{#- The periods this build computes, numbered (int_periods.period_id), so the hot path carries
    one integer instead of a type and a label; the cells join their labels back at the end. In
    a period-incremental model (dbt_project.yml) built on an earlier build, only the periods
    the changes touched (int_touched_periods); the others' rows are kept. -#}
{% macro numbered_periods() -%}
    {%- set touched = ref('int_touched_periods') %}
    select all_periods.*
    from {{ ref('int_periods') }} as all_periods
    {%- if is_incremental() %}
    inner join {{ touched }} as touched
        on touched.period_id = all_periods.period_id and touched.is_touched
    {%- endif %}
{%- endmacro %}

{#- The rows of a model with each citizen's number (int_citizen_numbers) beside the pseudonym:
    the indicator models join and count by the number. -#}
{% macro with_citizen_numbers(model) -%}
    select numbered.*, citizen_numbers.citizen_number
    from {{ ref(model) }} as numbered
    inner join {{ ref('int_citizen_numbers') }} as citizen_numbers
        on citizen_numbers.citizen_key = numbered.citizen_key
{%- endmacro %}

{#- The period and unit columns every indicator table starts with, from a cell relation
    joined to int_periods as `periods`. -#}
{% macro indicator_key_columns(relation) -%}
    {{ relation }}.period_type,
    {{ relation }}.period_label,
    periods.period_start,
    periods.period_end,
    periods.is_complete as period_complete,
    {{ relation }}.org_role,
    cast({{ relation }}.org_level as integer) as org_level,
    {{ relation }}.org_unit_id,
    {{ relation }}.org_unit_name,
    {{ relation }}.org_parent_id as parent_org_unit_id
{%- endmacro %}

{#- is_suppressed and why: 'primary' for a cell about too few citizens. The disclosure step
    marks the cells it hides to protect them 'secondary' in the published tables. -#}
{% macro suppression_columns(relation) -%}
    {{ relation }}.is_suppressed,
    case when {{ relation }}.is_suppressed then 'primary' end as suppression
{%- endmacro %}

{#- Join a cell relation to its period. -#}
{% macro join_periods(relation) -%}
    inner join {{ ref('int_periods') }} as periods
        on periods.period_type = {{ relation }}.period_type
        and periods.period_label = {{ relation }}.period_label
{%- endmacro %}

{#- Cells counted by period number and unit id alone (cheaper to group on) with the period's
    type and label (from the model's `periods`, numbered_periods()) and the unit's level, name
    and parent joined back, in the order indicator_key_columns expects, and primary suppression
    on `n_citizens`. `columns` are the relation's columns after org_unit_id. -#}
{% macro named_unit_cells(relation, columns, periods='periods') -%}
    select
        {{ periods }}.period_type,
        {{ periods }}.period_label,
        {{ relation }}.org_role,
        units.org_level,
        {{ relation }}.org_unit_id,
        units.org_unit_name,
        units.org_parent_id,
        {%- for column in columns %}
        {{ relation }}.{{ column }},
        {%- endfor %}
        {{ is_small_cell(relation ~ '.n_citizens') }} as is_suppressed
    from {{ relation }}
    inner join {{ periods }} on {{ periods }}.period_id = {{ relation }}.period_id
    inner join (
        select distinct org_role, org_level, org_unit_id, org_unit_name, org_parent_id
        from {{ ref('int_org_ancestors') }}
    ) as units
        on units.org_role = {{ relation }}.org_role
        and units.org_unit_id = {{ relation }}.org_unit_id
{%- endmacro %}

{#- Pre-hook of the period-incremental models: before the touched periods are computed again,
    delete their rows and those of periods that no longer exist; every other row is kept. -#}
{% macro keep_untouched_periods(key_columns=['period_id']) -%}
    {%- set touched = ref('int_touched_periods') %}
    {%- if is_incremental() %}
    delete from {{ this }}
    where not exists (
        select 1 from {{ touched }} as kept
        where not kept.is_touched
        {%- for column in key_columns %}
            and kept.{{ column }} = {{ this }}.{{ column }}
        {%- endfor %}
    )
    {%- endif %}
{%- endmacro %}

{#- Byar's approximation to the exact Poisson interval of a standardised ratio observed /
    expected at the normal quantile z (1.959964: 95%, 3.090232: 99.8%); 0 below when nothing was
    observed (docs/comparison.md). -#}
{% macro byar_lower(observed, expected, z) -%}
    case when {{ observed }} = 0 then {{ divide(0, 1) }}
        else {{ observed }} * power(1 - {{ divide(1, '(9 * ' ~ observed ~ ')') }} - {{ z }} / (3 * sqrt({{ observed }})), 3)
            / nullif({{ expected }}, 0) end
{%- endmacro %}
{% macro byar_upper(observed, expected, z) -%}
    ({{ observed }} + 1) * power(1 - {{ divide(1, '(9 * (' ~ observed ~ ' + 1))') }} + {{ z }} / (3 * sqrt({{ observed }} + 1)), 3)
        / nullif({{ expected }}, 0)
{%- endmacro %}
