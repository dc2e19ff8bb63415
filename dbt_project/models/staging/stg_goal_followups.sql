-- The caseworker's comment is free text and stays in the raw layer.
with followups as (
    {{ current_delivery_rows('goal_followups') }}
)

select
    followup_id,
    goal_id,
    followed_up_on,
    gas_score,
    caseworker_id,
    _delivery_id as delivery_id,
    _source_row as source_row
from followups
