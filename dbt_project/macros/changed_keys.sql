{#- The values of `column` in the versions of the raw `entities` that changed since delivery
    number var('since_seq'): a version current then and closed since, or one that came since.
    Without since_seq (a build of everything) every value. A key-incremental model (config in
    dbt_project.yml) computes the rows of these keys again and keeps the others'. -#}
{% macro changed_keys(column, entities) -%}
    {%- set since_seq = var('since_seq', none) %}
    {%- for entity in entities %}
    select {{ column }} from {{ source('raw', entity) }}
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

{#- The model's filter to the changed keys, when it builds on its earlier rows. -#}
{% macro only_changed_keys(column, entities) -%}
    {%- if is_incremental() %}
    where {{ column }} in ({{ changed_keys(column, entities) }})
    {%- endif %}
{%- endmacro %}
