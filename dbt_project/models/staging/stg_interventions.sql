-- The caseworker's note is free text and stays in the raw layer.
with interventions as (
    {{ current_delivery_rows('interventions') }}
)

select
    intervention_id,
    case_id,
    provider_org_unit_id,
    intervention_type,
    legal_basis,
    started_on,
    ended_on,
    _delivery_id as delivery_id,
    _source_row as source_row
from interventions
