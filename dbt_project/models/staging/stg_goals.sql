-- The goal's description is free text and stays in the raw layer. An empty weight means 1.
with goals as (
    {{ current_delivery_rows('goals') }}
)

select
    {{ municipal_number('goal_id') }} as goal_id,
    {{ municipal_number('intervention_id') }} as intervention_id,
    {{ municipal_number('parent_goal_id') }} as parent_goal_id,
    life_theme,
    sub_theme,
    goal_type,
    coalesce(weight, 1.0) as weight,
    set_on,
    due_on,
    _delivery_id as delivery_id,
    _source_row as source_row
from goals
