-- Each budget line (year, unit, function, target group) as in force on the extract day: the
-- latest revision on or before it, beside the amount first adopted.
with budgets as (
    select * from {{ ref('stg_budgets') }}
),

extract_day as (
    select extract_date from {{ ref('stg_current_delivery') }}
),

known as (
    select
        budgets.*,
        row_number() over (
            partition by budget_year, org_unit_id, function, target_group order by revised_on desc
        ) as newest_first,
        row_number() over (
            partition by budget_year, org_unit_id, function, target_group order by revised_on
        ) as oldest_first,
        count(*) over (partition by budget_year, org_unit_id, function, target_group) as n_versions
    from budgets
    inner join extract_day on budgets.revised_on <= extract_day.extract_date
),

adopted as (
    select budget_year, org_unit_id, function, target_group, amount_dkk as adopted_dkk
    from known
    where oldest_first = 1
)

select
    cast(known.budget_year as integer) as budget_year,
    known.org_unit_id,
    known.function,
    known.target_group,
    cast(known.amount_dkk as double) as budget_dkk,
    cast(adopted.adopted_dkk as double) as adopted_budget_dkk,
    known.revised_on as in_force_since,
    cast(known.n_versions - 1 as integer) as n_revisions
from known
inner join adopted
    on adopted.budget_year = known.budget_year
    and adopted.org_unit_id = known.org_unit_id
    and adopted.function = known.function
    and adopted.target_group is not distinct from known.target_group
where known.newest_first = 1
