with cases as (
    {{ current_delivery_rows('cases') }}
),

pseudonyms as (
    select cpr, citizen_key from {{ source('raw', 'citizen_pseudonyms') }}
)

select
    {{ municipal_number('cases.case_id', 'cases._municipality_code') }} as case_id,
    pseudonyms.citizen_key,
    {{ municipal_name('cases.authority_org_unit_id', 'cases._municipality_code') }} as authority_org_unit_id,
    {{ municipal_name('cases.caseworker_id', 'cases._municipality_code') }} as caseworker_id,
    cases.legal_basis,
    cases.opened_on,
    cases.closed_on,
    cases._municipality_code as municipality_code,
    cases._delivery_id as delivery_id,
    cases._source_row as source_row
from cases
inner join pseudonyms on cases.cpr = pseudonyms.cpr
