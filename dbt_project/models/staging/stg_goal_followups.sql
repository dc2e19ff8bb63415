-- The caseworker's comment is free text and stays in the raw layer.
with followups as (
    {{ current_delivery_rows('goal_followups') }}
)

select
    {{ municipal_number('followup_id') }} as followup_id,
    {{ municipal_number('goal_id') }} as goal_id,
    followed_up_on,
    gas_score,
    {{ municipal_name('caseworker_id') }} as caseworker_id,
    _delivery_id as delivery_id,
    _source_row as source_row
from followups
