-- A small integer for each citizen's pseudonym, for the joins and distinct counts of the
-- indicator models: a 64-character pseudonym costs far more to hash and compare than an
-- integer. Made once per build and never published: a number means nothing outside it.
with pseudonyms as (
    select citizen_key from {{ ref('stg_citizens') }}
    union
    select citizen_key from {{ ref('stg_cases') }}
    union
    select citizen_key from {{ ref('stg_assessments') }}
)

select
    citizen_key,
    cast(row_number() over (order by citizen_key) as integer) as citizen_number
from pseudonyms
