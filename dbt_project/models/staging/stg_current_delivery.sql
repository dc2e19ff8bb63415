-- The delivery that is the current state, the day it describes, and whether it holds cost
-- data (contract 1.1's cost files were delivered: the ingest logs a line for each delivered file).
with current_delivery as (
    select * from {{ source('raw', 'current_delivery') }}
),

cost_files as (
    select delivery_id, count(*) as n_cost_files
    from {{ source('raw', 'ingest_log') }}
    where entity in ('grants', 'payments', 'budgets')
    group by delivery_id
)

select
    current_delivery.delivery_id,
    cast(current_delivery.extract_time as date) as extract_date,
    coalesce(cost_files.n_cost_files, 0) > 0 as has_cost_data
from current_delivery
left join cost_files on cost_files.delivery_id = current_delivery.delivery_id
