-- The caseworker's note is free text and stays in the raw layer.
with interventions as (
    {{ current_delivery_rows('interventions') }}
)

select
    {{ municipal_number('intervention_id') }} as intervention_id,
    {{ municipal_number('case_id') }} as case_id,
    {{ municipal_name('provider_org_unit_id') }} as provider_org_unit_id,
    intervention_type,
    legal_basis,
    started_on,
    ended_on,
    _municipality_code as municipality_code,
    _delivery_id as delivery_id,
    _source_row as source_row
from interventions
