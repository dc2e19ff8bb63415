with units as (
    select * from {{ ref('stg_org_units') }}
),

areas as (
    select * from {{ ref('operating_areas') }}
)

select
    units.org_unit_id,
    units.org_unit_name,
    cast(units.org_level as integer) as org_level,
    units.parent_org_unit_id,
    units.org_role,
    units.operating_area,
    areas.label_da as operating_area_name_da,
    areas.label_en as operating_area_name_en,
    units.opened_on,
    units.closed_on,
    units.closed_on is not null as is_closed
from units
left join areas on areas.operating_area = units.operating_area
