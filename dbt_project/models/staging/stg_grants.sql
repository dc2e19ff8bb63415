-- Grants (bevillinger) of the current delivery: a rate per day, week, month or hour for a
-- validity period. Empty when the delivery has no cost files (stg_current_delivery.has_cost_data).
with grants as (
    {{ current_delivery_rows('grants') }}
)

select
    {{ municipal_number('grant_id') }} as grant_id,
    {{ municipal_number('intervention_id') }} as intervention_id,
    rate_dkk,
    rate_unit,
    hours_per_week,
    function,
    valid_from,
    valid_to,
    _delivery_id as delivery_id,
    _source_row as source_row
from grants
