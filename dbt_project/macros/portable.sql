{#- Small pieces of SQL that differ between engines, dispatched like dbt's own cross-database
    macros, so models read the same on DuckDB, PostgreSQL and Spark. -#}

{#- The text at a top-level key of a JSON column. -#}
{% macro json_text(column, key) -%}
    {{ return(adapter.dispatch('json_text', 'effekt')(column, key)) }}
{%- endmacro %}
{% macro default__json_text(column, key) -%}
    json_extract_string({{ column }}, '$.{{ key }}')
{%- endmacro %}
{% macro postgres__json_text(column, key) -%}
    ({{ column }}::json ->> '{{ key }}')
{%- endmacro %}
{% macro spark__json_text(column, key) -%}
    get_json_object({{ column }}, '$.{{ key }}')
{%- endmacro %}

{#- A date written as YYYY-MM-DD or DD-MM-YYYY; null when it is neither. -#}
{% macro parse_date_any(text) -%}
    {{ return(adapter.dispatch('parse_date_any', 'effekt')(text)) }}
{%- endmacro %}
{% macro default__parse_date_any(text) -%}
    cast(coalesce(try_strptime({{ text }}, '%Y-%m-%d'), try_strptime({{ text }}, '%d-%m-%Y')) as date)
{%- endmacro %}
{% macro spark__parse_date_any(text) -%}
    coalesce(try_to_date({{ text }}, 'yyyy-MM-dd'), try_to_date({{ text }}, 'dd-MM-yyyy'))
{%- endmacro %}

{#- The elements of an array of text, joined by ', '. -#}
{% macro list_text(column) -%}
    {{ return(adapter.dispatch('list_text', 'effekt')(column)) }}
{%- endmacro %}
{% macro default__list_text(column) -%}
    array_to_string({{ column }}, ', ')
{%- endmacro %}
{% macro spark__list_text(column) -%}
    concat_ws(', ', {{ column }})
{%- endmacro %}

{#- Written after `name as` in a CTE that several parts of a model read, where the CTE is too
    big to hold: the engine then computes it where it is read instead of storing it whole
    first. DuckDB stores such CTEs by default, and at 1,000,000 citizens ran out of memory on
    them; PostgreSQL (12 and later) takes the same words; Spark never stores a CTE. -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized', 'effekt')()) }}
{%- endmacro %}
{% macro default__not_materialized() -%}
    not materialized
{%- endmacro %}
{% macro spark__not_materialized() -%}
{%- endmacro %}
