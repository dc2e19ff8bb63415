-- The spending forecast for the two quarters after each quarter by the active grants, per unit
-- and role (docs/indicators.md, "Forecast"): the open part of marts.fct_cost_forecasts. The
-- run-rate forecast and the actual are the quarters' spending in ind_costs, so they are not
-- repeated here (a reader multiplies the published quarter; a withheld quarter stays withheld).
with forecasts as (
    select * from {{ ref('fct_cost_forecasts') }}
),

quarters as (
    select period_type, period_label, period_end
    from {{ ref('int_periods') }}
    where period_type = 'quarter'
),

units as (
    select distinct org_role, org_level, org_unit_id, org_unit_name, org_parent_id
    from {{ ref('int_org_ancestors') }}
),

cells as (
    select
        quarters.period_type,
        quarters.period_label,
        forecasts.org_role,
        units.org_level,
        forecasts.org_unit_id,
        units.org_unit_name,
        units.org_parent_id,
        forecasts.origin_date,
        forecasts.horizon_end,
        forecasts.n_citizens,
        forecasts.forecast_by_grants_dkk,
        {{ is_small_cell('forecasts.n_citizens') }} as is_suppressed
    from forecasts
    inner join quarters on quarters.period_end = forecasts.origin_date
    inner join units on units.org_role = forecasts.org_role and units.org_unit_id = forecasts.org_unit_id
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
