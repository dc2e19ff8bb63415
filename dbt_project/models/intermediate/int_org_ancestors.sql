-- Each level-3 unit with itself and the units above it: a figure attributed to a unit rolls up
-- to its operating area (level 2) and the administration (level 1), closed units included.
-- A warehouse of several municipalities adds the national level (0) above their administrations,
-- so every figure exists per municipality and nationally; one municipality's has none.
with units as (
    select * from {{ ref('stg_org_units') }}
),

nation as (
    {{ has_national_level('units') }}
),

leaves as (
    select * from units where org_level = 3 and org_role is not null
),

own_level as (
    select
        leaves.org_unit_id as leaf_org_unit_id,
        leaves.org_role,
        leaves.org_level,
        leaves.org_unit_id,
        leaves.org_unit_name,
        leaves.parent_org_unit_id as org_parent_id
    from leaves
),

area_level as (
    select
        leaves.org_unit_id as leaf_org_unit_id,
        leaves.org_role,
        area.org_level,
        area.org_unit_id,
        area.org_unit_name,
        area.parent_org_unit_id as org_parent_id
    from leaves
    inner join units as area on area.org_unit_id = leaves.parent_org_unit_id
),

top_level as (
    select
        leaves.org_unit_id as leaf_org_unit_id,
        leaves.org_role,
        top_unit.org_level,
        top_unit.org_unit_id,
        top_unit.org_unit_name,
        case when nation.has_national_level then {{ national_unit_id() }}
            else top_unit.parent_org_unit_id end as org_parent_id
    from leaves
    inner join units as area on area.org_unit_id = leaves.parent_org_unit_id
    inner join units as top_unit on top_unit.org_unit_id = area.parent_org_unit_id
    cross join nation
),

national_level as (
    select
        leaves.org_unit_id as leaf_org_unit_id,
        leaves.org_role,
        0 as org_level,
        {{ national_unit_id() }} as org_unit_id,
        {{ national_unit_name() }} as org_unit_name,
        cast(null as {{ dbt.type_string() }}) as org_parent_id
    from leaves
    cross join nation
    where nation.has_national_level
)

select * from own_level
union all
select * from area_level
union all
select * from top_level
union all
select * from national_level
