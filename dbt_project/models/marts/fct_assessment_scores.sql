-- Every score as delivered, with its support need on 0-1 (VUM: score / 4; DIALOG: (10 - score) / 9).
with scores as (
    select * from {{ ref('stg_assessment_scores') }}
    {{ only_changed_keys('assessment_id', ['assessments', 'assessment_scores']) }}
),

assessments as (
    select * from {{ ref('stg_assessments') }}
    {{ only_changed_keys('assessment_id', ['assessments', 'assessment_scores']) }}
),

instruments as (
    select * from {{ ref('instruments') }}
)

select
    scores.assessment_id,
    assessments.citizen_key,
    assessments.case_id,
    assessments.instrument,
    instruments.instrument_family,
    assessments.assessed_on,
    scores.theme,
    scores.sub_theme,
    cast(scores.score as integer) as score,
    cast({{ support_need('instruments.instrument_family', 'scores.score') }} as double) as support_need
from scores
inner join assessments on assessments.assessment_id = scores.assessment_id
inner join instruments on instruments.instrument = assessments.instrument
