-- For each goal and period, the latest GAS follow-up dated inside the period (DOMAIN.md:
-- "Follow-up in a period"). Goals without one do not count in attainment.
with followups as (
    select * from {{ ref('fct_goal_followups') }}
),

periods as (
    {{ numbered_periods() }}
),

goals as (
    select * from {{ ref('fct_goals') }}
),

followups_in_period as (
    select
        periods.period_type,
        periods.period_label,
        periods.period_start,
        periods.period_end,
        followups.goal_id,
        followups.followup_id,
        followups.followed_up_on,
        followups.gas_score,
        row_number() over (
            partition by periods.period_type, periods.period_label, followups.goal_id
            order by followups.followed_up_on desc, followups.followup_id desc
        ) as recency
    from followups
    inner join periods
        on followups.followed_up_on between periods.period_start and periods.period_end
)

select
    followups_in_period.period_type,
    followups_in_period.period_label,
    followups_in_period.period_start,
    followups_in_period.period_end,
    followups_in_period.goal_id,
    followups_in_period.followup_id,
    followups_in_period.followed_up_on,
    followups_in_period.gas_score,
    followups_in_period.gas_score >= 0 as is_achieved,
    goals.citizen_key,
    goals.weight,
    goals.life_theme,
    goals.sub_theme,
    goals.goal_type,
    goals.provider_org_unit_id,
    goals.authority_org_unit_id
from followups_in_period
inner join goals on goals.goal_id = followups_in_period.goal_id
where followups_in_period.recency = 1
