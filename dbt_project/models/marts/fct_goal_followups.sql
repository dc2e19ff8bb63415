with followups as (
    select * from {{ ref('stg_goal_followups') }}
),

goals as (
    select * from {{ ref('fct_goals') }}
)

select
    followups.followup_id,
    followups.goal_id,
    goals.citizen_key,
    followups.followed_up_on,
    cast(followups.gas_score as integer) as gas_score,
    followups.gas_score >= 0 as is_achieved
from followups
inner join goals on goals.goal_id = followups.goal_id
