with scores as (
    {{ current_delivery_rows('assessment_scores') }}
)

select
    {{ municipal_number('assessment_id') }} as assessment_id,
    theme,
    sub_theme,
    score,
    _delivery_id as delivery_id,
    _source_row as source_row
from scores
{{ only_changed_keys('assessment_id', ['assessment_scores'], of_raw_rows=true) }}
