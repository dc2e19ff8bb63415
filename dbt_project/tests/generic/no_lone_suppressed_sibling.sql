{#- In a group of siblings whose sum is published as a total, exactly one suppressed member next
    to published ones could be recovered by subtraction. `partition_by` may use
    parent_org_unit_id, the unit above the row's unit. -#}
{% test no_lone_suppressed_sibling(model, partition_by, sibling_filter) %}
with cells as (
    select cells.*, units.parent_org_unit_id
    from {{ model }} as cells
    inner join {{ ref('dim_org_unit') }} as units on units.org_unit_id = cells.org_unit_id
)

select {{ partition_by }}, count(*) as siblings
from cells
where {{ sibling_filter }}
group by {{ partition_by }}
having sum(case when is_suppressed then 1 else 0 end) = 1 and count(*) > 1
{% endtest %}
