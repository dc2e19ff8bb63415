-- Payments (udbetalinger) of the current delivery, each for a period, with corrections already
-- in their amounts. Empty when the delivery has no cost files.
with payments as (
    {{ current_delivery_rows('payments') }}
)

select
    {{ municipal_number('payment_id') }} as payment_id,
    {{ municipal_number('intervention_id') }} as intervention_id,
    {{ municipal_number('grant_id') }} as grant_id,
    period_from,
    period_to,
    amount_dkk,
    function,
    paid_on,
    _delivery_id as delivery_id,
    _source_row as source_row
from payments
