{#- The rows of one raw entity as the current delivery (the loaded delivery with the newest
    extract) holds them. The raw layer keeps one row per version with the deliveries it was first
    and last seen in; the versions still open (_last_seq is null) are the current state. -#}
{% macro current_delivery_rows(entity) -%}
    select *
    from {{ source('raw', entity) }}
    where _last_seq is null
{%- endmacro %}
