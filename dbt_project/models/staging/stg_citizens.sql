-- The pseudonymisation boundary: the CPR number and names stop here.
-- A citizen who moved is in two municipalities' deliveries (one pseudonym under the national
-- key): one row, the version delivered last (then the lower municipality code).
with current_rows as (
    {{ current_delivery_rows('citizens') }}
),

numbered as (
    select
        current_rows.*,
        row_number() over (
            partition by current_rows.cpr
            order by current_rows._first_seq desc, current_rows._municipality_code
        ) as nth_version
    from current_rows
),

citizens as (
    select * from numbered where nth_version = 1
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
