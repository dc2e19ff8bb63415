-- Every reporting period from the first year with a follow-up or an assessment up to the
-- extract: calendar quarters, rolling four-quarter windows ending each quarter, calendar years.
with firsts as (
    select min(followed_up_on) as first_day from {{ ref('stg_goal_followups') }}
    union all
    select min(assessed_on) from {{ ref('stg_assessments') }}
),

bounds as (
    select
        cast({{ dbt.date_trunc('year', 'min(first_day)') }} as date) as first_year_start,
        (select extract_date from {{ ref('stg_current_delivery') }}) as extract_date
    from firsts
),

digits as (
    select 0 as d union all select 1 union all select 2 union all select 3 union all select 4
    union all select 5 union all select 6 union all select 7 union all select 8 union all select 9
),

numbers as (
    select ones.d + 10 * tens.d + 100 * hundreds.d as n
    from digits as ones cross join digits as tens cross join digits as hundreds
),

quarters as (
    select
        numbers.n as quarter_index,
        cast({{ dbt.dateadd('month', '3 * numbers.n', 'bounds.first_year_start') }} as date) as period_start,
        bounds.extract_date
    from numbers
    cross join bounds
    where {{ dbt.dateadd('month', '3 * numbers.n', 'bounds.first_year_start') }} <= bounds.extract_date
),

labelled_quarters as (
    select
        quarter_index,
        period_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('month', 3, 'period_start')) }} as date) as period_end,
        extract_date,
        cast(extract(year from period_start) as integer) as period_year,
        {{ dbt.concat([
            "cast(cast(extract(year from period_start) as integer) as " ~ dbt.type_string() ~ ")",
            "'Q'",
            "cast(cast(extract(quarter from period_start) as integer) as " ~ dbt.type_string() ~ ")",
        ]) }} as quarter_label
    from quarters
),

quarter_periods as (
    select 'quarter' as period_type, quarter_label as period_label, period_start, period_end, extract_date
    from labelled_quarters
),

rolling_periods as (
    select
        'rolling_4q' as period_type,
        {{ dbt.concat(['first_quarter.quarter_label', "'-'", 'last_quarter.quarter_label']) }} as period_label,
        first_quarter.period_start,
        last_quarter.period_end,
        last_quarter.extract_date
    from labelled_quarters as last_quarter
    inner join labelled_quarters as first_quarter
        on first_quarter.quarter_index = last_quarter.quarter_index - 3
),

year_periods as (
    select
        'year' as period_type,
        cast(period_year as {{ dbt.type_string() }}) as period_label,
        period_start,
        cast({{ dbt.dateadd('day', -1, dbt.dateadd('year', 1, 'period_start')) }} as date) as period_end,
        extract_date
    from labelled_quarters
    where extract(quarter from period_start) = 1
),

all_periods as (
    select * from quarter_periods
    union all
    select * from rolling_periods
    union all
    select * from year_periods
)

select
    -- A number that stays the period's from build to build (the incremental models keep rows by
    -- it): the type, then the year and quarter of its last day.
    cast(
        case period_type when 'quarter' then 1 when 'rolling_4q' then 2 else 3 end * 100000
        + extract(year from period_end) * 10 + extract(quarter from period_end)
        as integer
    ) as period_id,
    period_type,
    period_label,
    period_start,
    period_end,
    period_end <= extract_date as is_complete,
    case when period_end <= extract_date then period_end else extract_date end as observed_end,
    period_start < cast('{{ var("vum2_change_date") }}' as date)
        and period_end >= cast('{{ var("vum2_change_date") }}' as date) as spans_data_break
from all_periods
