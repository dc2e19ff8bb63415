-- Followed-up goals per period, attributed to the provider unit of their intervention and to
-- the authority unit of their case, and to every unit above those (DOMAIN.md: "Attribution").
with followed as (
    select * from {{ ref('int_goal_period_followups') }}
),

ancestors as (
    select * from {{ ref('int_org_ancestors') }}
),

by_provider as (
    select followed.*, ancestors.org_role, ancestors.org_level, ancestors.org_unit_id,
        ancestors.org_unit_name, ancestors.org_parent_id
    from followed
    inner join ancestors
        on ancestors.leaf_org_unit_id = followed.provider_org_unit_id
        and ancestors.org_role = 'provider'
),

by_authority as (
    select followed.*, ancestors.org_role, ancestors.org_level, ancestors.org_unit_id,
        ancestors.org_unit_name, ancestors.org_parent_id
    from followed
    inner join ancestors
        on ancestors.leaf_org_unit_id = followed.authority_org_unit_id
        and ancestors.org_role = 'authority'
)

select * from by_provider
union all
select * from by_authority
