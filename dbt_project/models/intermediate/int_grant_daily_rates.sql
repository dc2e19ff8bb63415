-- Each grant's cost per day, with the citizen and the units it counts for: a day rate as it
-- is, a week or month rate over its days (codes.rate_units), an hour rate times the weekly
-- hours over 7. What the budget follow-up's and the forecast's grant-based figures add up.
with grants as (
    select * from {{ ref('stg_grants') }}
),

interventions as (
    select intervention_id, case_id, provider_org_unit_id from {{ ref('stg_interventions') }}
),

cases as (
    select case_id, citizen_key, authority_org_unit_id from {{ ref('stg_cases') }}
),

rate_units as (
    select rate_unit, cast(days_per_unit as double) as days_per_unit from {{ ref('rate_units') }}
)

select
    grants.grant_id,
    cases.citizen_key,
    grants.function,
    interventions.provider_org_unit_id,
    cases.authority_org_unit_id,
    grants.valid_from,
    grants.valid_to,
    case when grants.rate_unit = 'hour' then grants.rate_dkk * grants.hours_per_week / 7.0
        else grants.rate_dkk / rate_units.days_per_unit end as daily_dkk
from grants
inner join interventions on interventions.intervention_id = grants.intervention_id
inner join cases on cases.case_id = interventions.case_id
inner join rate_units on rate_units.rate_unit = grants.rate_unit
