-- The spending forecast for the two quarters after each quarter by the active grants, per unit
-- and role (docs/indicators.md, "Forecast"): the open part of marts.fct_cost_forecasts. The
-- run-rate forecast and the actual are the quarters' spending in ind_costs, so they are not
-- repeated here (a reader multiplies the published quarter; a withheld quarter stays withheld).
with quarters as (
    select period_id, period_type, period_label, period_end
    from {{ ref('int_periods') }}
    where period_type = 'quarter'
),

-- Each forecast with the number of its origin's quarter.
forecasts as (
    select quarters.period_id, forecasts.*
    from {{ ref('fct_cost_forecasts') }} as forecasts
    inner join quarters on quarters.period_end = forecasts.origin_date
),

cells as (
    {{ named_unit_cells('forecasts', ['origin_date', 'horizon_end', 'n_citizens', 'forecast_by_grants_dkk'],
                        periods='quarters') }}
)

select
    {{ indicator_key_columns('cells') }},
    cast({{ dbt.dateadd('day', 1, 'cells.origin_date') }} as date) as horizon_start,
    cells.horizon_end,
    cast({{ unless_suppressed('n_citizens') }} as bigint) as n_citizens,
    cast({{ unless_suppressed('forecast_by_grants_dkk') }} as double) as forecast_by_grants_dkk,
    {{ suppression_columns('cells') }}
from cells
{{ join_periods('cells') }}
