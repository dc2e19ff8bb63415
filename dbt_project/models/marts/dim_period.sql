select
    period_type,
    period_label,
    period_start,
    period_end,
    is_complete,
    observed_end,
    spans_data_break
from {{ ref('int_periods') }}
