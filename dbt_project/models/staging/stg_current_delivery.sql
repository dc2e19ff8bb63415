-- The delivery that is the current state, and the day it describes.
select
    delivery_id,
    cast(extract_time as date) as extract_date
from {{ source('raw', 'current_delivery') }}
