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

{#- numerator / denominator in double precision on every engine. DuckDB divides in doubles
    whatever the operands; Spark divides a decimal (100.0 * n) in decimals, rounded at its own
    scale, and PostgreSQL whole numbers in whole numbers: each a different last digit. -#}
{% macro divide(numerator, denominator) -%}
    {{ return(adapter.dispatch('divide', 'effekt')(numerator, denominator)) }}
{%- endmacro %}
{% macro default__divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / {{ denominator }})
{%- endmacro %}
{% macro postgres__divide(numerator, denominator) -%}
    (cast({{ numerator }} as double precision) / {{ denominator }})
{%- endmacro %}

{#- The mean of exact decimals as a double: their exact sum over their count. DuckDB's avg() of
    decimals is a double and Spark's a decimal rounded at its own scale; this is one double on
    both, the same whatever order the rows are added in. -#}
{% macro exact_mean(value) -%}
    {{ divide('sum(' ~ value ~ ')', 'count(' ~ value ~ ')') }}
{%- endmacro %}

{#- A double rounded to `places` decimals, half away from zero, as DuckDB rounds: the value
    times 10^places rounded to a whole number, divided back. Spark's round() of a double rounds
    the shortest decimal that prints it, which differs where that product is just below a half
    (82020.285 to 82020.29, where DuckDB gives 82020.28). -#}
{% macro round_double(value, places) -%}
    {{ return(adapter.dispatch('round_double', 'effekt')(value, places)) }}
{%- endmacro %}
{% macro default__round_double(value, places) -%}
    round({{ value }}, {{ places }})
{%- endmacro %}
{% macro spark__round_double(value, places) -%}
    (round(({{ value }}) * 1e{{ places }}) / 1e{{ places }})
{%- endmacro %}
