-- Budget lines of the current delivery: each adoption or revision of a year's budget for a unit
-- and function (optionally a target group). Empty when the delivery has no cost files.
with budgets as (
    {{ current_delivery_rows('budgets') }}
)

select
    budget_year,
    {{ municipal_name('org_unit_id') }} as org_unit_id,
    function,
    target_group,
    amount_dkk,
    revised_on,
    _delivery_id as delivery_id,
    _source_row as source_row
from budgets
