-- The assessor's comment is free text and stays in the raw layer.
with assessments as (
    select * from ({{ current_delivery_rows('assessments') }}) as current_rows
    {{ only_changed_keys('assessment_id', ['assessments'], of_raw_rows=true) }}
),

pseudonyms as (
    select cpr, citizen_key from {{ source('raw', 'citizen_pseudonyms') }}
)

select
    {{ municipal_number('assessments.assessment_id', 'assessments._municipality_code') }} as assessment_id,
    pseudonyms.citizen_key,
    {{ municipal_number('assessments.case_id', 'assessments._municipality_code') }} as case_id,
    assessments.instrument,
    assessments.assessed_on,
    {{ municipal_name('assessments.assessor_org_unit_id', 'assessments._municipality_code') }} as assessor_org_unit_id,
    assessments._municipality_code as municipality_code,
    assessments._delivery_id as delivery_id,
    assessments._source_row as source_row
from assessments
inner join pseudonyms on assessments.cpr = pseudonyms.cpr
