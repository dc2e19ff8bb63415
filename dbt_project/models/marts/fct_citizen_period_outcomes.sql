-- Per citizen and period: their followed-up goals, how many were achieved (GAS >= 0), their
-- share achieved and their GAS T-score (weights from the goals, rho from var('gas_rho')).
with periods as (
    {{ numbered_periods() }}
),

followed as (
    select followed.*
    from {{ ref('int_goal_period_followups') }} as followed
    inner join periods
        on periods.period_type = followed.period_type and periods.period_label = followed.period_label
)

select
    period_type,
    period_label,
    period_start,
    period_end,
    citizen_key,
    cast(count(*) as bigint) as n_goals,
    cast(sum(case when is_achieved then 1 else 0 end) as bigint) as n_achieved,
    cast({{ divide('100 * sum(case when is_achieved then 1 else 0 end)', 'count(*)') }} as double) as goal_attainment_pct,
    cast({{ gas_t_score('sum(weight * gas_score)', 'sum(weight * weight)', 'sum(weight)') }} as double) as gas_t_score
from followed
group by period_type, period_label, period_start, period_end, citizen_key
