-- Each assessment's theme score against the same citizen's previous one of the same instrument
-- family and theme: improved when the support need fell by at least one scale step, worsened
-- when it rose by one, else unchanged. A pair from VUM2008 to VUM2 crosses the 2017 data break.
with theme_scores as (
    select * from {{ ref('int_assessment_theme_scores') }}
),

cases as (
    select case_id, authority_org_unit_id from {{ ref('stg_cases') }}
),

paired as (
    select
        theme_scores.*,
        lag(assessment_id) over (by_citizen_theme) as previous_assessment_id,
        lag(assessed_on) over (by_citizen_theme) as previous_assessed_on,
        lag(instrument) over (by_citizen_theme) as previous_instrument,
        lag(support_need) over (by_citizen_theme) as previous_support_need
    from theme_scores
    window by_citizen_theme as (
        partition by citizen_key, instrument_family, theme order by assessed_on, assessment_id
    )
)

select
    paired.assessment_id,
    paired.previous_assessment_id,
    paired.citizen_key,
    paired.case_id,
    cases.authority_org_unit_id,
    paired.instrument_family,
    paired.theme,
    paired.instrument,
    paired.previous_instrument,
    paired.assessed_on,
    paired.previous_assessed_on,
    cast(paired.support_need as double) as support_need,
    cast(paired.previous_support_need as double) as previous_support_need,
    case
        when paired.previous_support_need - paired.support_need
            >= {{ scale_step('paired.instrument_family') }} - 0.000001 then 'improved'
        when paired.support_need - paired.previous_support_need
            >= {{ scale_step('paired.instrument_family') }} - 0.000001 then 'worsened'
        else 'unchanged'
    end as change_class,
    paired.previous_instrument <> paired.instrument as crosses_data_break
from paired
inner join cases on cases.case_id = paired.case_id
where paired.previous_assessment_id is not null
