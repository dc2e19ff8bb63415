-- Where data is thin, per unit and period: the current delivery's rows the ingest quarantined,
-- and goals that owed follow-ups in the period but were overdue in it. Loaded rows count for the
-- unit they name: cases and assessments (with their scores) for the authority, interventions,
-- goals and follow-ups for the provider. Quarantined rows count where int_quarantined_rows places
-- them, on the day it counts them on: the same rule as the coordinators' reports.
{#- A cell is keyed by period number, role and unit id, and citizens by their numbers; labels,
    levels, names and parents join the few cells at the end. -#}
{%- set key_columns = ['period_id', 'org_role', 'org_unit_id'] %}
with periods as (
    {{ numbered_periods() }}
),

cases as (
    {{ with_citizen_numbers('stg_cases') }}
),

ancestors as (
    select * from {{ ref('int_org_ancestors') }}
),

goals as (
    {{ with_citizen_numbers('fct_goals') }}
),

interventions as (
    select interventions.*, cases.citizen_number
    from {{ ref('stg_interventions') }} as interventions
    inner join cases on cases.case_id = interventions.case_id
),

followups as (
    {{ with_citizen_numbers('fct_goal_followups') }}
),

assessments as (
    {{ with_citizen_numbers('stg_assessments') }}
),

quarantined as (
    select * from {{ ref('int_quarantined_rows') }}
),

-- Loaded scores per assessment: an assessment's row counts with its scores' rows.
score_rows as (
    select assessment_id, count(*) as n_scores
    from {{ ref('stg_assessment_scores') }}
    group by assessment_id
),

loaded_rows as (
    select 'authority' as org_role, authority_org_unit_id as leaf_org_unit_id, opened_on as row_date,
        citizen_number, 1 as n_loaded, 0 as n_quarantined
    from cases
    union all
    select 'authority', assessments.assessor_org_unit_id, assessments.assessed_on, assessments.citizen_number,
        1 + coalesce(score_rows.n_scores, 0), 0
    from assessments
    left join score_rows on score_rows.assessment_id = assessments.assessment_id
    union all
    select 'provider', provider_org_unit_id, started_on, citizen_number, 1, 0 from interventions
    union all
    select 'provider', provider_org_unit_id, set_on, citizen_number, 1, 0 from goals
    union all
    select 'provider', goals.provider_org_unit_id, followups.followed_up_on, followups.citizen_number, 1, 0
    from followups inner join goals on goals.goal_id = followups.goal_id
),

quarantined_rows as (
    select org_role, org_unit_id as leaf_org_unit_id, counted_on as row_date,
        cast(null as integer) as citizen_number, 0 as n_loaded, 1 as n_quarantined
    from quarantined
    -- The case system's rows: the cost files' (contract 1.1) are placed for the coordinators'
    -- reports but not counted here, whose loaded rows are the case system's too.
    where org_unit_id is not null and entity not in ('grants', 'payments', 'budgets')
),

row_cells as (
    select periods.period_id, ancestors.org_role, ancestors.org_unit_id,
        all_rows.citizen_number, all_rows.n_loaded, all_rows.n_quarantined
    from (select * from loaded_rows union all select * from quarantined_rows) as all_rows
    inner join periods on all_rows.row_date between periods.period_start and periods.period_end
    inner join ancestors
        on ancestors.leaf_org_unit_id = all_rows.leaf_org_unit_id and ancestors.org_role = all_rows.org_role
),

row_counts as (
    select {{ key_columns | join(', ') }},
        sum(n_loaded) as rows_loaded,
        sum(n_quarantined) as rows_quarantined
    from row_cells
    group by {{ key_columns | join(', ') }}
),

-- Goals that owed follow-ups in the period, and whether each was overdue at some day of it.
goal_dues as (
    select periods.period_id, dues.citizen_number, dues.provider_org_unit_id, dues.authority_org_unit_id,
        dues.is_overdue
    from ({{ with_citizen_numbers('int_goal_followup_dues') }}) as dues
    inner join periods on periods.period_type = dues.period_type and periods.period_label = dues.period_label
),

due_cells as (
    {{ attribute_to_units('goal_dues',
                          {'provider': 'provider_org_unit_id', 'authority': 'authority_org_unit_id'}) }}
),

due_counts as (
    select {{ key_columns | join(', ') }},
        count(*) as goals_due_followup,
        sum(case when is_overdue then 1 else 0 end) as goals_without_due_followup
    from due_cells
    group by {{ key_columns | join(', ') }}
),

cell_keys as (
    select {{ key_columns | join(', ') }} from row_counts
    union
    select {{ key_columns | join(', ') }} from due_counts
),

-- Citizens behind the cell: those of its loaded rows and of its goals due a follow-up.
cell_citizens as (
    select {{ key_columns | join(', ') }}, count(distinct citizen_number) as n_citizens
    from (
        select {{ key_columns | join(', ') }}, citizen_number from row_cells where citizen_number is not null
        union all
        select {{ key_columns | join(', ') }}, citizen_number from due_cells
    ) as citizens
    group by {{ key_columns | join(', ') }}
),

counted_cells as (
    select
        {% for c in key_columns %}cell_keys.{{ c }}, {% endfor %}
        coalesce(row_counts.rows_loaded, 0) as rows_loaded,
        coalesce(row_counts.rows_quarantined, 0) as rows_quarantined,
        coalesce(due_counts.goals_due_followup, 0) as goals_due_followup,
        coalesce(due_counts.goals_without_due_followup, 0) as goals_without_due_followup,
        coalesce(cell_citizens.n_citizens, 0) as n_citizens
    from cell_keys
    left join row_counts using ({{ key_columns | join(', ') }})
    left join due_counts using ({{ key_columns | join(', ') }})
    left join cell_citizens using ({{ key_columns | join(', ') }})
),

cells as (
    {{ named_unit_cells('counted_cells', ['rows_loaded', 'rows_quarantined', 'goals_due_followup',
                                          'goals_without_due_followup', 'n_citizens']) }}
)

select
    {{ indicator_key_columns('cells') }},
    cast({{ unless_suppressed('rows_loaded') }} as bigint) as rows_loaded,
    cast({{ unless_suppressed('rows_quarantined') }} as bigint) as rows_quarantined,
    cast({{ unless_suppressed(divide('100 * rows_quarantined', 'nullif(rows_loaded + rows_quarantined, 0)')) }} as double)
        as pct_rows_quarantined,
    cast({{ unless_suppressed('goals_due_followup') }} as bigint) as goals_due_followup,
    cast({{ unless_suppressed('goals_without_due_followup') }} as bigint) as goals_without_due_followup,
    cast({{ unless_suppressed(divide('100 * goals_without_due_followup', 'nullif(goals_due_followup, 0)')) }} as double)
        as pct_goals_without_due_followup,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    {{ suppression_columns('cells') }}
from cells
{{ join_periods('cells') }}
