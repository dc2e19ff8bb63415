"""The forecast back-test: the forecasts and what followed, recomputed from the payments and
grants, and the error in docs/indicators.md made by benchmarks/cost_forecast.py."""

import datetime as dt
import re

import numpy as np
import pandas as pd

from benchmarks.cost_forecast import BEGIN, DOC, END, backtest


def test_the_administration_s_forecasts_and_actuals_equal_a_recomputation(warehouse):
    published = warehouse.query(
        "select * from marts.fct_cost_forecasts where org_level = 1 and org_role = 'provider' "
        "order by origin_date"
    )
    payments = warehouse.table("marts.fct_payments")
    grants = warehouse.query(
        "select g.*, u.days_per_unit from staging.stg_grants g join codes.rate_units u using (rate_unit)"
    )
    grants["daily"] = np.where(
        grants.rate_unit == "hour", grants.rate_dkk * grants.hours_per_week / 7,
        grants.rate_dkk / grants.days_per_unit.astype(float),
    )  # fmt: skip
    frm, to = pd.to_datetime(payments.period_from), pd.to_datetime(payments.period_to)
    covered = (to - frm).dt.days + 1

    def spent(first: pd.Timestamp, last: pd.Timestamp) -> float:
        days = ((to.clip(upper=last) - frm.clip(lower=first)).dt.days + 1).clip(lower=0)
        return float((payments.amount_dkk * days / covered).round(2).sum())

    assert len(published) > 10
    for row in published.itertuples():
        origin, horizon = pd.Timestamp(row.origin_date), pd.Timestamp(row.horizon_end)
        days = (horizon - origin).days
        active = grants[(pd.to_datetime(grants.valid_from) <= origin)
                        & (grants.valid_to.isna() | (pd.to_datetime(grants.valid_to) >= origin))]  # fmt: skip
        assert abs(row.forecast_by_grants_dkk - (active.daily * days).round(2).sum()) < 0.01 * len(
            active
        )
        # The horizon is the two quarters after the origin's; the run-rate is its quarter's.
        quarter_start = origin - pd.offsets.QuarterBegin(startingMonth=1)
        assert horizon == origin + pd.offsets.QuarterEnd(2), row
        window = spent(quarter_start, origin)
        window_days = (origin - quarter_start).days + 1
        assert abs(row.forecast_by_run_rate_dkk - window * days / window_days) < 1
        if not pd.isna(row.actual_dkk):
            assert abs(row.actual_dkk - spent(origin + pd.Timedelta(days=1), horizon)) < 1
            assert abs(row.error_by_grants_pct
                       - 100 * (row.forecast_by_grants_dkk - row.actual_dkk) / row.actual_dkk) < 1e-6  # fmt: skip
    # The latest origins' horizons are not over yet: no actual, no error.
    assert published.actual_dkk.isna().any() and published.actual_dkk.notna().sum() > 5


def test_the_back_test_covers_both_methods_and_every_level_and_is_in_the_docs(warehouse):
    rows = backtest(warehouse.settings.warehouse, dt.date(2016, 1, 1))
    assert {(r["method"], r["level"]) for r in rows} == {
        (m, level) for m in ("active grants", "run-rate") for level in (1, 2, 3)
    }
    assert all(r["mape"] >= 0 and r["origins"] > 0 for r in rows)
    text = DOC.read_text(encoding="utf-8")
    section = text[text.index(BEGIN) : text.index(END)]
    table = re.findall(r"^\| (active grants|run-rate) \| .* \| (\d+(?:\.\d)?)% \|", section, re.M)
    assert len(table) == 12, "run python benchmarks/cost_forecast.py"
