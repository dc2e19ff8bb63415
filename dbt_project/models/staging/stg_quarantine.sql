-- Rows of the current delivery that the ingest quarantined, without anything personal:
-- no CPR (a citizen's key is its CPR number, so it is left out), no free text, no record.
-- The unit and the row's main date are read from the record where the row has them. Each
-- municipality's current delivery; its units and record numbers as the warehouse names them
-- (macros/municipalities.sql), `row_key` and `parent_key` as delivered, for people to look up.
with current_deliveries as (
    select * from {{ source('raw', 'current_deliveries') }}
),

quarantine as (
    select quarantine.*, current_deliveries.municipality_code
    from {{ source('raw', 'quarantine') }} as quarantine
    inner join current_deliveries on current_deliveries.delivery_id = quarantine.delivery_id
),

fields as (
    select
        delivery_id,
        municipality_code,
        entity,
        source_file,
        source_row,
        reason,
        {{ list_text('columns') }} as reason_columns,
        case when entity = 'citizens' then null else key end as row_key,
        coalesce(
            {{ json_text('record', 'authority_org_unit_id') }},
            {{ json_text('record', 'provider_org_unit_id') }},
            {{ json_text('record', 'assessor_org_unit_id') }},
            {{ json_text('record', 'org_unit_id') }}
        ) as delivered_org_unit_id,
        coalesce(
            {{ json_text('record', 'opened_on') }},
            {{ json_text('record', 'started_on') }},
            {{ json_text('record', 'assessed_on') }},
            {{ json_text('record', 'set_on') }},
            {{ json_text('record', 'followed_up_on') }},
            {{ json_text('record', 'valid_from') }},
            {{ json_text('record', 'period_from') }},
            {{ json_text('record', 'revised_on') }}
        ) as row_date_text,
        coalesce(
            {{ json_text('record', 'case_id') }},
            {{ json_text('record', 'intervention_id') }},
            {{ json_text('record', 'goal_id') }},
            {{ json_text('record', 'assessment_id') }}
        ) as parent_key
    from quarantine
)

select
    delivery_id,
    municipality_code,
    entity,
    source_file,
    source_row,
    reason,
    reason_columns,
    row_key,
    {{ municipal_name('delivered_org_unit_id', 'municipality_code') }} as org_unit_id,
    {{ parse_date_any('row_date_text') }} as row_date,
    parent_key,
    {{ municipal_number_text('row_key', 'municipality_code') }} as row_ref,
    {{ municipal_number_text('parent_key', 'municipality_code') }} as parent_ref
from fields
