-- The delivery that is the current state, the day it describes, and whether it holds cost
-- data (contract 1.1's cost files were delivered: the ingest logs a line for each delivered file).
-- With several municipalities, each has a current delivery: the delivery is the one loaded last,
-- the day the earliest of theirs (a period is complete only when every municipality's extract
-- has passed it), and cost data held when any of them holds it.
with current_deliveries as (
    select * from {{ source('raw', 'current_deliveries') }}
),

current_delivery as (
    select * from {{ source('raw', 'current_delivery') }}
),

cost_files as (
    select count(*) as n_cost_files
    from {{ source('raw', 'ingest_log') }}
    where entity in ('grants', 'payments', 'budgets')
        and delivery_id in (select delivery_id from current_deliveries)
),

extract_days as (
    select
        min(cast(extract_time as date)) as extract_date,
        count(*) as n_municipalities
    from current_deliveries
)

select
    current_delivery.delivery_id,
    extract_days.extract_date,
    extract_days.n_municipalities,
    cost_files.n_cost_files > 0 as has_cost_data
from current_delivery
cross join extract_days
cross join cost_files
