-- Followed-up goals per period, attributed to the provider unit of their intervention and to
-- the authority unit of their case, and to every unit above those (DOMAIN.md: "Attribution").
with followed as (
    select * from {{ ref('int_goal_period_followups') }}
)

{{ attribute_to_units('followed', {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
