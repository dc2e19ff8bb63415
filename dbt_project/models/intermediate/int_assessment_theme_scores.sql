-- One score per assessment and theme on the instrument's own scale, and as support need (0-1).
-- VUM2 scores sub-themes: a theme's score is the mean of its scored sub-themes rounded half up
-- to a whole step (the crosswalk's rule), which puts VUM2 on the VUM2008 theme scale.
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
),

crosswalk as (
    select * from {{ ref('vum2_crosswalk') }}
),

theme_scores as (
    select
        scores.assessment_id,
        coalesce(crosswalk.vum_theme, scores.theme) as theme,
        case
            when scores.sub_theme is null then max(scores.score)
            else floor(avg(scores.score) + 0.5)
        end as score
    from scores
    left join crosswalk on crosswalk.sub_theme = scores.sub_theme
    group by scores.assessment_id, coalesce(crosswalk.vum_theme, scores.theme), scores.sub_theme is null
)

select
    assessments.assessment_id,
    assessments.citizen_key,
    assessments.case_id,
    assessments.assessor_org_unit_id,
    assessments.instrument,
    instruments.instrument_family,
    assessments.assessed_on,
    theme_scores.theme,
    cast(theme_scores.score as integer) as score,
    {{ support_need('instruments.instrument_family', 'theme_scores.score') }} as support_need
from theme_scores
inner join assessments on assessments.assessment_id = theme_scores.assessment_id
inner join instruments on instruments.instrument = assessments.instrument
