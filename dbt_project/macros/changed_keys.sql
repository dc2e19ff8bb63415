{#- The delivery number the last successful build was built through, when this build builds on
    it; none when it builds everything. Read when the build runs from main.build_plan, which
    effekt writes before each build (orchestration/warehouse: planned_build), not passed as a
    dbt var: a var that changes with every build made dbt parse the whole project again each
    time (partial parsing keys on vars). Without the table (dbt run by hand) none; on Spark
    none, where every build computes everything (dbt_project.yml). -#}
{% macro since_seq() -%}
    {%- if execute and target.type != 'spark' %}
    {%- set plan = adapter.get_relation(database=target.database, schema='main', identifier='build_plan') %}
    {%- if plan is not none %}
    {%- set found = run_query('select since_seq from ' ~ plan) %}
    {%- if found.rows | length == 1 and found.rows[0][0] is not none %}
    {{- return(found.rows[0][0] | int) }}
    {%- endif %}
    {%- endif %}
    {%- endif %}
    {{- return(none) }}
{%- endmacro %}

{#- The values of `column` in the versions of the raw `entities` that changed since delivery
    number since_seq(): a version current then and closed since, or one that came since.
    Without since_seq (a build of everything) every value. A key-incremental model (config in
    dbt_project.yml) computes the rows of these keys again and keeps the others'. The values are
    the warehouse's (macros/municipalities.sql: a record number of its municipality). -#}
{% macro changed_keys(column, entities) -%}
    {%- set since_seq = since_seq() %}
    {%- for entity in entities %}
    select {{ municipal_number(column) }} from {{ source('raw', entity) }}
    {%- if since_seq is not none %}
    where _first_seq > {{ since_seq }} or _last_seq >= {{ since_seq }}
    {%- endif %}
    {% if not loop.last %}union {% endif %}
    {%- endfor %}
{%- endmacro %}

{#- Pre-hook of the key-incremental models: before the changed keys' rows are computed again,
    delete them (a key that is gone stays deleted); every other row is kept. -#}
{% macro keep_unchanged_keys(column, entities) -%}
    {%- if is_incremental() %}
    delete from {{ this }} where {{ column }} in ({{ changed_keys(column, entities) }})
    {%- endif %}
{%- endmacro %}

{#- The model's filter to the changed keys, when it builds on its earlier rows; `of_raw_rows`:
    the model filters raw rows, whose record numbers are as delivered. -#}
{% macro only_changed_keys(column, entities, of_raw_rows=false) -%}
    {%- if is_incremental() %}
    where {{ municipal_number(column) if of_raw_rows else column }} in ({{ changed_keys(column, entities) }})
    {%- endif %}
{%- endmacro %}
