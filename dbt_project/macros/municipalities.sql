{#- One warehouse, several municipalities (contract 1.2). Case systems number their records and
    name their units independently, so two municipalities' case 7 or unit ORG-1 are different
    things. From staging on every identifier is the municipality's: a unit or caseworker
    '<kommunekode>:<id as delivered>', a record number kommunekode * 10^12 + the number delivered
    (the number itself is `id % 1000000000000`). A delivery that names no municipality (before
    contract 1.2, no EFFEKT_MUNICIPALITY_CODE) keeps its identifiers as delivered, so such a
    warehouse publishes what it did before. The raw layer keeps what was delivered. -#}

{%- macro municipal_number_base() -%}1000000000000{%- endmacro %}

{#- A record number (integer column) of the raw row's municipality (`_municipality_code`). -#}
{% macro municipal_number(column, code='_municipality_code') -%}
    case when {{ code }} is null then {{ column }}
        else cast({{ code }} as {{ dbt.type_bigint() }}) * {{ municipal_number_base() }} + {{ column }} end
{%- endmacro %}

{#- A unit's or caseworker's identifier (text column) of the raw row's municipality. -#}
{% macro municipal_name(column, code='_municipality_code') -%}
    case when {{ code }} is null or {{ column }} is null then {{ column }}
        else {{ dbt.concat([code, "':'", column]) }} end
{%- endmacro %}

{#- A record number as a quarantined row holds it (text) of `code`'s municipality, as text: as
    delivered when the municipality is not named, null when the text is no number. -#}
{% macro municipal_number_text(column, code) -%}
    case when {{ code }} is null then {{ column }}
        else cast(cast({{ code }} as {{ dbt.type_bigint() }}) * {{ municipal_number_base() }}
            + {{ text_to_bigint(column) }} as {{ dbt.type_string() }}) end
{%- endmacro %}

{% macro text_to_bigint(text) -%}
    {{ return(adapter.dispatch('text_to_bigint', 'effekt')(text)) }}
{%- endmacro %}
{% macro default__text_to_bigint(text) -%}
    try_cast(trim({{ text }}) as {{ dbt.type_bigint() }})
{%- endmacro %}

{#- The national level (0) above the municipalities' administrations, in a warehouse of several. -#}
{% macro national_unit_id() -%}'national'{%- endmacro %}
{% macro national_unit_name() -%}'Hele landet'{%- endmacro %}

{#- Whether the units (a relation with municipality_code) are several municipalities', and so
    get the national level above their administrations: one row, has_national_level. -#}
{% macro has_national_level(units) -%}
    select count(distinct coalesce(municipality_code, '')) > 1 as has_national_level
    from {{ units }}
{%- endmacro %}
