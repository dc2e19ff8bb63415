with org_units as (
    {{ current_delivery_rows('org_units') }}
)

select
    {{ municipal_name('org_unit_id') }} as org_unit_id,
    name as org_unit_name,
    level as org_level,
    {{ municipal_name('parent_org_unit_id') }} as parent_org_unit_id,
    org_role,
    operating_area,
    opened_on,
    closed_on,
    _municipality_code as municipality_code,
    _delivery_id as delivery_id,
    _source_row as source_row
from org_units
