select
    citizen_key,
    birth_year,
    sex,
    target_group,
    is_replacement_number
from {{ ref('stg_citizens') }}
