-- Payments with the citizen, the units and the intervention's attributes they count for: the
-- basis of every spending figure.
with payments as (
    select * from {{ ref('stg_payments') }}
),

interventions as (
    select * from {{ ref('stg_interventions') }}
),

cases as (
    select * from {{ ref('stg_cases') }}
),

citizens as (
    select * from {{ ref('stg_citizens') }}
)

select
    payments.payment_id,
    cases.citizen_key,
    payments.intervention_id,
    payments.grant_id,
    interventions.case_id,
    interventions.provider_org_unit_id,
    cases.authority_org_unit_id,
    citizens.target_group,
    interventions.intervention_type,
    interventions.legal_basis,
    payments.function,
    payments.period_from,
    payments.period_to,
    cast({{ dbt.datediff('payments.period_from', 'payments.period_to', 'day') }} + 1 as integer) as days_covered,
    cast(payments.amount_dkk as double) as amount_dkk,
    payments.paid_on
from payments
inner join interventions on interventions.intervention_id = payments.intervention_id
inner join cases on cases.case_id = interventions.case_id
inner join citizens on citizens.citizen_key = cases.citizen_key
