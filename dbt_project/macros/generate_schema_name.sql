{#- Layers get plain schema names (staging, marts, indicators), not target-prefixed ones,
    because BI tools bind to them. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
