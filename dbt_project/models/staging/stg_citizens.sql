-- The pseudonymisation boundary: the CPR number and names stop here.
with citizens as (
    {{ current_delivery_rows('citizens') }}
),

pseudonyms as (
    select * from {{ source('raw', 'citizen_pseudonyms') }}
)

select
    pseudonyms.citizen_key,
    pseudonyms.birth_year,
    pseudonyms.sex,
    pseudonyms.is_replacement_number,
    citizens.target_group,
    citizens._delivery_id as delivery_id,
    citizens._source_row as source_row
from citizens
inner join pseudonyms on citizens.cpr = pseudonyms.cpr
