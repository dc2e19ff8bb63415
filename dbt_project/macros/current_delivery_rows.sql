{#- The rows of one raw entity in the current delivery: the loaded delivery with the newest
    extract time. Older deliveries stay in the raw layer, queryable by _delivery_id. -#}
{% macro current_delivery_rows(entity) -%}
    select *
    from {{ source('raw', entity) }}
    where _delivery_id = (select delivery_id from {{ source('raw', 'current_delivery') }})
{%- endmacro %}
