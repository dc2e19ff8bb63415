-- Fair comparison of municipalities by indirect standardisation (docs/comparison.md): per period,
-- municipality and indicator, what was observed against what the national rates would give the
-- municipality's own case mix. The strata: target group and age group, and the goal type (goals
-- achieved) or the instrument (functional ability improved). The national rate of a stratum
-- counts every municipality's cases; a municipality's expected count is the sum over its strata
-- of its cases times the stratum's national rate; the ratio observed / expected carries Byar's
-- approximation to the exact Poisson interval at 95% and 99.8%. Row '000' is the nation (DST's
-- code for the whole country): its ratio is 1 by construction.
{#- Every figure is of one period (the national rates too), so a build on the last one computes
    only the periods the changes since touched (numbered_periods; dbt_project.yml). #}
with periods as (
    {{ numbered_periods() }}
),

units as (
    select org_unit_id, coalesce(municipality_code, '') as municipality_code
    from {{ ref('stg_org_units') }}
),

citizens as (
    select citizen_key, target_group, birth_year from {{ ref('dim_citizen') }}
),

judgements as (
    select instrument_family, theme from {{ ref('assessment_themes') }} where kind = 'judgement'
),

-- A goal followed up in the period (its latest follow-up there): achieved or not.
goal_cases as (
    select
        followups.period_type,
        followups.period_label,
        units.municipality_code,
        followups.citizen_key,
        goals.goal_type as stratum,
        case when followups.is_achieved then 1 else 0 end as outcome
    from {{ ref('int_goal_period_followups') }} as followups
    inner join periods
        on periods.period_type = followups.period_type
        and periods.period_label = followups.period_label
    inner join {{ ref('fct_goals') }} as goals on goals.goal_id = followups.goal_id
    inner join units on units.org_unit_id = goals.provider_org_unit_id
),

-- A citizen's theme assessed in the period against the assessment before (the latest pair in
-- the period, as ind_functional_ability counts it): improved or not. VUM2008's overall
-- assessment is a judgement, not a theme, and is left out.
ranked_changes as (
    select
        periods.period_type,
        periods.period_label,
        changes.authority_org_unit_id,
        changes.citizen_key,
        changes.instrument,
        changes.change_class,
        row_number() over (
            partition by periods.period_id, changes.citizen_key, changes.instrument_family, changes.theme
            order by changes.assessed_on desc, changes.assessment_id desc
        ) as nth_latest
    from {{ ref('fct_functional_ability_change') }} as changes
    inner join periods on changes.assessed_on between periods.period_start and periods.period_end
    left join judgements
        on judgements.instrument_family = changes.instrument_family
        and judgements.theme = changes.theme
    where judgements.theme is null
),

ability_cases as (
    select
        ranked_changes.period_type,
        ranked_changes.period_label,
        units.municipality_code,
        ranked_changes.citizen_key,
        ranked_changes.instrument as stratum,
        case when ranked_changes.change_class = 'improved' then 1 else 0 end as outcome
    from ranked_changes
    inner join units on units.org_unit_id = ranked_changes.authority_org_unit_id
    where ranked_changes.nth_latest = 1
),

cases as (
    select 'goals_achieved' as indicator, goal_cases.* from goal_cases
    union all
    select 'ability_improved' as indicator, ability_cases.* from ability_cases
),

-- Each case's stratum: the citizen's target group and age group at the period's end.
stratified as (
    select
        cases.*,
        citizens.target_group,
        case
            when extract(year from periods.period_end) - citizens.birth_year < 18 then 'under_18'
            when extract(year from periods.period_end) - citizens.birth_year < 65 then '18_64'
            else '65_plus'
        end as age_group
    from cases
    inner join periods
        on periods.period_type = cases.period_type and periods.period_label = cases.period_label
    inner join citizens on citizens.citizen_key = cases.citizen_key
),

national_rates as (
    select
        indicator, period_type, period_label, target_group, age_group, stratum,
        {{ exact_mean('outcome') }} as stratum_rate
    from stratified
    group by indicator, period_type, period_label, target_group, age_group, stratum
),

with_expectation as (
    select stratified.*, national_rates.stratum_rate
    from stratified
    inner join national_rates
        on national_rates.indicator = stratified.indicator
        and national_rates.period_type = stratified.period_type
        and national_rates.period_label = stratified.period_label
        and national_rates.target_group = stratified.target_group
        and national_rates.age_group = stratified.age_group
        and national_rates.stratum = stratified.stratum
),

-- Every case counts for its municipality and for the nation.
by_unit as (
    select indicator, period_type, period_label, municipality_code, citizen_key, outcome, stratum_rate
    from with_expectation
    union all
    select indicator, period_type, period_label, '000', citizen_key, outcome, stratum_rate
    from with_expectation
),

national_crude as (
    select indicator, period_type, period_label, {{ exact_mean('outcome') }} as crude_rate
    from with_expectation
    group by indicator, period_type, period_label
),

observed_expected as (
    select
        indicator,
        period_type,
        period_label,
        municipality_code,
        count(distinct citizen_key) as n_citizens,
        count(*) as n_cases,
        cast(sum(outcome) as {{ dbt.type_bigint() }}) as observed,
        sum(stratum_rate) as expected
    from by_unit
    group by indicator, period_type, period_label, municipality_code
),

figures as (
    select
        observed_expected.*,
        {{ divide('observed_expected.observed', 'nullif(observed_expected.expected, 0)') }} as ratio,
        100 * {{ divide('observed_expected.observed', 'observed_expected.n_cases') }} as crude_pct,
        100 * national_crude.crude_rate
            * {{ divide('observed_expected.observed', 'nullif(observed_expected.expected, 0)') }} as adjusted_pct,
        {{ byar_lower('observed_expected.observed', 'observed_expected.expected', 1.959964) }} as lower_95,
        {{ byar_upper('observed_expected.observed', 'observed_expected.expected', 1.959964) }} as upper_95,
        {{ byar_lower('observed_expected.observed', 'observed_expected.expected', 3.090232) }} as lower_998,
        {{ byar_upper('observed_expected.observed', 'observed_expected.expected', 3.090232) }} as upper_998,
        {{ is_small_cell('observed_expected.n_citizens') }} as is_suppressed
    from observed_expected
    inner join national_crude
        on national_crude.indicator = observed_expected.indicator
        and national_crude.period_type = observed_expected.period_type
        and national_crude.period_label = observed_expected.period_label
)

select
    figures.period_type,
    figures.period_label,
    periods.period_start,
    periods.period_end,
    periods.is_complete as period_complete,
    periods.spans_data_break as data_break,
    nullif(figures.municipality_code, '') as municipality_code,
    figures.indicator,
    {{ unless_suppressed('figures.n_citizens') }} as n_citizens,
    {{ unless_suppressed('figures.n_cases') }} as n_cases,
    {{ unless_suppressed('figures.observed') }} as observed,
    {{ unless_suppressed(round_double('figures.expected', 4)) }} as expected,
    {{ unless_suppressed(round_double('figures.ratio', 4)) }} as ratio,
    {{ unless_suppressed(round_double('figures.crude_pct', 2)) }} as crude_pct,
    {{ unless_suppressed(round_double('figures.adjusted_pct', 2)) }} as adjusted_pct,
    {{ unless_suppressed(round_double('figures.lower_95', 4)) }} as lower_95,
    {{ unless_suppressed(round_double('figures.upper_95', 4)) }} as upper_95,
    {{ unless_suppressed(round_double('figures.lower_998', 4)) }} as lower_998,
    {{ unless_suppressed(round_double('figures.upper_998', 4)) }} as upper_998,
    {{ suppression_columns('figures') }}
from figures
inner join periods
    on periods.period_type = figures.period_type and periods.period_label = figures.period_label
