-- Each loaded delivery's files, with the extract they came in: where a report sends a coordinator
-- to find a row (file and line), newest delivery first. Counts only, nothing personal.
with ingest_log as (
    select * from {{ source('raw', 'ingest_log') }}
),

deliveries as (
    select * from {{ source('raw', 'deliveries') }}
)

select
    ingest_log.delivery_id,
    deliveries.extract_time,
    ingest_log.entity,
    ingest_log.file as source_file,
    ingest_log.rows_read,
    ingest_log.rows_loaded,
    ingest_log.rows_quarantined
from ingest_log
inner join deliveries on deliveries.delivery_id = ingest_log.delivery_id
