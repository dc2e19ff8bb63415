with cases as (
    {{ current_delivery_rows('cases') }}
),

pseudonyms as (
    select cpr, citizen_key from {{ source('raw', 'citizen_pseudonyms') }}
)

select
    cases.case_id,
    pseudonyms.citizen_key,
    cases.authority_org_unit_id,
    cases.caseworker_id,
    cases.legal_basis,
    cases.opened_on,
    cases.closed_on,
    cases._delivery_id as delivery_id,
    cases._source_row as source_row
from cases
inner join pseudonyms on cases.cpr = pseudonyms.cpr
