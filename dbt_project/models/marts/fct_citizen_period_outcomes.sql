-- Per citizen and period: their followed-up goals, how many were achieved (GAS >= 0), their
-- share achieved and their GAS T-score (weights from the goals, rho from var('gas_rho')).
with followed as (
    select * from {{ ref('int_goal_period_followups') }}
)

select
    period_type,
    period_label,
    period_start,
    period_end,
    citizen_key,
    cast(count(*) as bigint) as n_goals,
    cast(sum(case when is_achieved then 1 else 0 end) as bigint) as n_achieved,
    cast(100.0 * sum(case when is_achieved then 1 else 0 end) / count(*) as double) as goal_attainment_pct,
    cast({{ gas_t_score('sum(weight * gas_score)', 'sum(weight * weight)', 'sum(weight)') }} as double) as gas_t_score
from followed
group by period_type, period_label, period_start, period_end, citizen_key
