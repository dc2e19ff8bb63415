-- Every period, and whether this build recomputes it (is_touched): the period-incremental
-- models (config in dbt_project.yml) keep the rows of the periods not touched and compute the
-- rest. Without since_seq() (a first build, `effekt run --rebuild`, changed rules) every
-- period is touched. With it, a period is touched when it ends on or after the earliest day
-- that a change since delivery number since_seq can reach, or the previous extract day (the
-- periods still running then, whose observed end moved). A period's figures depend only on
-- what happened up to its end, so a change dated d leaves the periods ending before d as they
-- were: the day is the earliest date column that differs between the two versions; a record
-- that came or went counts from its earliest date; a goal's other columns from the day it was
-- set (its follow-ups come after it); a payment (a corrected amount) from the first day it
-- covers; assessment scores from their assessment; a changed unit,
-- case or intervention otherwise (an attribution moved), a citizen changed or gone and any
-- change to the organisation tree touch every period.
{%- set since_seq = since_seq() %}
{#- The raw versions a build on the last one reads; named for dbt's graph, which is made when
    dbt parses, with since_seq() none. -#}
-- depends_on: {{ source('raw', 'deliveries') }}, {{ source('raw', 'goals') }}, {{ source('raw', 'goal_followups') }}
-- depends_on: {{ source('raw', 'assessments') }}, {{ source('raw', 'assessment_scores') }}, {{ source('raw', 'cases') }}
-- depends_on: {{ source('raw', 'interventions') }}, {{ source('raw', 'citizens') }}, {{ source('raw', 'org_units') }}
-- depends_on: {{ source('raw', 'payments') }}
{%- set entities = {
    'goals': {'key': ['goal_id'], 'other_columns': 'dates'},
    'goal_followups': {'key': ['followup_id'], 'other_columns': 'dates'},
    'assessments': {'key': ['assessment_id'], 'other_columns': 'dates'},
    'cases': {'key': ['case_id'], 'other_columns': 'all', 'open_ended': ['closed_on']},
    'interventions': {'key': ['intervention_id'], 'other_columns': 'all', 'open_ended': ['ended_on']},
    'payments': {'key': ['payment_id'], 'other_columns': 'dates'},
} %}
{%- set all_periods_day = "cast('1900-01-01' as date)" %}
{#- A record's version as it was at delivery since_seq and is no longer; and one that came since
    and is current. -#}
{%- set was_current = "_first_seq <= " ~ since_seq ~ " and _last_seq >= " ~ since_seq %}
{%- set came_since = "_first_seq > " ~ since_seq ~ " and _last_seq is null" %}
with periods as (
    select * from {{ ref('int_periods') }}
),

{%- if since_seq is none %}

touched_from as (
    select {{ all_periods_day }} as touched_on
)

{%- else %}

-- The extract day the last build's periods ran to: the earliest of the municipalities'
-- deliveries current then (stg_current_delivery); one municipality: delivery since_seq's.
previous_delivery as (
    select min(extract_time) as extract_time
    from {{ source('raw', 'deliveries') }} as deliveries
    where deliveries.seq = (
        select max(same_municipality.seq) from {{ source('raw', 'deliveries') }} as same_municipality
        where same_municipality.status = 'loaded' and same_municipality.seq <= {{ since_seq }}
            and same_municipality.municipality_code is not distinct from deliveries.municipality_code
    )
    having count(*) > 0 and max(case when deliveries.seq = {{ since_seq }} then 1 else 0 end) = 1
),

{%- for name, spec in entities.items() %}
{%- set columns = adapter.get_columns_in_relation(source('raw', name)) if execute else [] %}
{%- set dates, others = [], [] %}
{%- for column in columns if column.name not in spec.key and not column.name.startswith('_') %}
{%- do (dates if column.dtype | lower == 'date' else others).append(column.name) %}
{%- endfor %}
{%- set key_match %}{% for k in spec.key %}old_rows.{{ k }} = new_rows.{{ k }} and {% endfor %}old_rows._municipality_code is not distinct from new_rows._municipality_code{% endset %}
{{ name }}_changed as (
    select
        case
            when old_rows.{{ spec.key[0] }} is null
                then least({% for d in dates %}new_rows.{{ d }}{{ ', ' if not loop.last }}{% endfor %})
            when new_rows.{{ spec.key[0] }} is null
                then least({% for d in dates %}old_rows.{{ d }}{{ ', ' if not loop.last }}{% endfor %})
            {%- if others %}
            when {% for c in others %}old_rows."{{ c }}" is distinct from new_rows."{{ c }}"{{ ' or ' if not loop.last }}{% endfor %}
                then {% if spec.other_columns == 'all' %}{{ all_periods_day }}{% else %}least({% for d in dates %}old_rows.{{ d }}, new_rows.{{ d }}{{ ', ' if not loop.last }}{% endfor %}){% endif %}
            {%- endif %}
            {#- An end date that is empty while the record runs (closed_on, ended_on) counts from
                the day it names; any other date filled in or cleared (a due date) from the
                record's earliest date. #}
            else least(
                {%- for d in dates %}
                case
                    when old_rows.{{ d }} is distinct from new_rows.{{ d }}
                        and (old_rows.{{ d }} is not null and new_rows.{{ d }} is not null
                             or {{ 'true' if d in spec.get('open_ended', []) else 'false' }})
                        then least(coalesce(old_rows.{{ d }}, new_rows.{{ d }}), coalesce(new_rows.{{ d }}, old_rows.{{ d }}))
                    when old_rows.{{ d }} is distinct from new_rows.{{ d }}
                        then least({% for e in dates %}old_rows.{{ e }}, new_rows.{{ e }}{{ ', ' if not loop.last }}{% endfor %})
                end{{ ',' if not loop.last }}
                {%- endfor %}
            )
        end as touched_on
    from (select * from {{ source('raw', name) }} where {{ was_current }}) as old_rows
    full outer join (select * from {{ source('raw', name) }} where {{ came_since }}) as new_rows
        on {{ key_match }}
),
{%- endfor %}

-- Scores carry no date: a changed score counts from its assessment (either version of it).
assessment_scores_changed as (
    select min(assessments.assessed_on) as touched_on
    from (
        select assessment_id, _municipality_code from {{ source('raw', 'assessment_scores') }}
        where ({{ was_current }}) or ({{ came_since }})
    ) as scores
    inner join {{ source('raw', 'assessments') }} as assessments
        on assessments.assessment_id = scores.assessment_id
        and assessments._municipality_code is not distinct from scores._municipality_code
        and (assessments._last_seq is null or assessments._last_seq >= {{ since_seq }})
),

-- Citizens carry no date: a new citizen reaches the periods through their new records; a
-- citizen changed or gone touches every period. So does any change to the organisation tree
-- (a unit opened, moved, renamed or closed changes where records roll up).
citizens_changed as (
    select {{ all_periods_day }} as touched_on
    from {{ source('raw', 'citizens') }}
    where {{ was_current }}
    union all
    select {{ all_periods_day }}
    from {{ source('raw', 'org_units') }}
    where ({{ was_current }}) or ({{ came_since }})
),

changed_days as (
    {%- for name in entities %}
    select min(touched_on) as touched_on from {{ name }}_changed
    union all
    {%- endfor %}
    select touched_on from assessment_scores_changed
    union all
    select min(touched_on) from citizens_changed
    union all
    select cast({{ dbt.dateadd('day', -1, 'cast(extract_time as date)') }} as date) from previous_delivery
),

touched_from as (
    -- No previous delivery (its number is not in the history): every period.
    select case when (select count(*) from previous_delivery) = 0 then {{ all_periods_day }}
        else min(touched_on) end as touched_on
    from changed_days
)

{%- endif %}

select
    periods.period_id,
    periods.period_type,
    periods.period_label,
    periods.period_end >= touched_from.touched_on as is_touched
from periods
cross join touched_from
