-- The organisation: every municipality's units, and in a warehouse of several municipalities the
-- national level (0, 'Hele landet') that their administrations report to (int_org_ancestors).
with units as (
    select * from {{ ref('stg_org_units') }}
),

areas as (
    select * from {{ ref('operating_areas') }}
),

municipalities as (
    select * from {{ ref('municipalities') }}
),

nation as (
    {{ has_national_level('units') }}
),

municipal_units as (
    select
        units.org_unit_id,
        units.org_unit_name,
        cast(units.org_level as integer) as org_level,
        case when units.org_level = 1 and nation.has_national_level then {{ national_unit_id() }}
            else units.parent_org_unit_id end as parent_org_unit_id,
        units.org_role,
        units.operating_area,
        areas.label_da as operating_area_name_da,
        areas.label_en as operating_area_name_en,
        units.municipality_code,
        municipalities.name_da as municipality_name,
        units.opened_on,
        units.closed_on,
        units.closed_on is not null as is_closed
    from units
    cross join nation
    left join areas on areas.operating_area = units.operating_area
    left join municipalities on municipalities.municipality_code = units.municipality_code
),

national_unit as (
    select
        {{ national_unit_id() }} as org_unit_id,
        {{ national_unit_name() }} as org_unit_name,
        0 as org_level,
        cast(null as {{ dbt.type_string() }}) as parent_org_unit_id,
        cast(null as {{ dbt.type_string() }}) as org_role,
        cast(null as {{ dbt.type_string() }}) as operating_area,
        cast(null as {{ dbt.type_string() }}) as operating_area_name_da,
        cast(null as {{ dbt.type_string() }}) as operating_area_name_en,
        cast(null as {{ dbt.type_string() }}) as municipality_code,
        cast(null as {{ dbt.type_string() }}) as municipality_name,
        (select min(opened_on) from units) as opened_on,
        cast(null as date) as closed_on,
        false as is_closed
    from nation
    where nation.has_national_level
)

select * from municipal_units
union all
select * from national_unit
