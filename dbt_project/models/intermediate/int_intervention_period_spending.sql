-- Per period and intervention with spending in it: what it cost, its citizen, units and
-- breakdowns, and its goals followed up in the period (latest follow-up) and achieved. The
-- leaves int_cost_effect_unit_citizens attributes up the hierarchy, once per role: a table of
-- their own, since one statement computing them and attributing them ran out of 3 GB at
-- 1,000,000 citizens (docs/performance.md, national tier), and from a table it does not.
{%- set breakdowns = ['target_group', 'intervention_type'] %}
with periods as (
    {{ numbered_periods() }}
),

-- What each intervention cost in each period it had spending in.
intervention_spending as (
    select
        period_id, intervention_id, citizen_number, provider_org_unit_id, authority_org_unit_id,
        {{ breakdowns | join(', ') }},
        sum(amount_ore) as amount_ore
    from {{ ref('int_payment_periods') }}
    where period_id in (select period_id from periods)
    group by period_id, intervention_id, citizen_number, provider_org_unit_id, authority_org_unit_id,
        {{ breakdowns | join(', ') }}
),

-- Each goal's latest follow-up in the period, for the goals of interventions with spending in it.
goal_results as (
    select
        periods.period_id,
        goals.intervention_id,
        count(*) as n_goals,
        sum(case when followups.is_achieved then 1 else 0 end) as n_achieved
    from {{ ref('int_goal_period_followups') }} as followups
    inner join periods
        on periods.period_type = followups.period_type and periods.period_label = followups.period_label
    inner join {{ ref('fct_goals') }} as goals on goals.goal_id = followups.goal_id
    group by periods.period_id, goals.intervention_id
),

leaf_facts as (
    select
        spending.*,
        coalesce(goal_results.n_goals, 0) as n_goals,
        coalesce(goal_results.n_achieved, 0) as n_achieved
    from intervention_spending as spending
    left join goal_results
        on goal_results.period_id = spending.period_id
        and goal_results.intervention_id = spending.intervention_id
)

select * from leaf_facts
