"""Indirect standardisation, Byar's interval and Spiegelhalter's funnel limits against a worked
example by hand and values computed here independently from scipy's distributions."""

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from orchestration.reporting.comparison import (
    byar_interval,
    exact_poisson_interval,
    funnel_limits,
    funnel_position,
    indirect_standardisation,
    level_suffix,
)

Z95, Z998 = 1.959964, 3.090232


def cases(counts: dict[tuple[str, str], tuple[int, int]], citizens_per_cell: int = 4):
    """One row per case: (unit, stratum) -> (cases, achieved); each cell's cases spread over
    `citizens_per_cell` citizens of its own."""
    rows = []
    for (unit, stratum), (n, achieved) in counts.items():
        for i in range(n):
            rows.append({"municipality": unit, "goal_type": stratum, "achieved": i < achieved,
                         "citizen": f"{unit}-{stratum}-{i % citizens_per_cell}"})  # fmt: skip
    return pd.DataFrame(rows)


# The worked example. Two municipalities, two strata (goal types):
#
#                  progression          maintenance
#   A              10 goals, 6 achieved 20 goals,  8 achieved    30 goals, 14 achieved
#   B              30 goals, 24 achieved 10 goals, 7 achieved    40 goals, 31 achieved
#   national rate  30/40 = 0.75         15/30 = 0.50             45/70 = 64.2857 %
#
#   A: E = 10 * 0.75 + 20 * 0.50 = 7.5 + 10.0 = 17.5;  O = 14;  O/E = 0.8
#      crude 14/30 = 46.6667 %;  adjusted 0.8 * 64.2857 = 51.4286 %
#   B: E = 30 * 0.75 + 10 * 0.50 = 22.5 + 5.0 = 27.5;  O = 31;  O/E = 1.127273
#      crude 31/40 = 77.5 %;  adjusted 1.127273 * 64.2857 = 72.4675 %
#   (the expected counts add up to the observed: 17.5 + 27.5 = 45 = 14 + 31)
#
# Byar's 95% interval of A (z = 1.959964):
#   lower: 1 - 1/(9*14) = 0.992063;  z/(3*sqrt 14) = 1.959964/11.224972 = 0.174607
#          (0.992063 - 0.174607)^3 = 0.817456^3 = 0.546252;  14 * 0.546252 / 17.5 = 0.4370
#   upper: 1 - 1/(9*15) = 0.992593;  z/(3*sqrt 15) = 1.959964/11.618950 = 0.168687
#          (0.992593 + 0.168687)^3 = 1.161279^3 = 1.566067;  15 * 1.566067 / 17.5 = 1.3423
# and of B:
#   lower: 1 - 1/279 = 0.996416;  z/(3*sqrt 31) = 1.959964/16.703293 = 0.117340
#          0.879076^3 = 0.679327;  31 * 0.679327 / 27.5 = 0.7658
#   upper: 1 - 1/288 = 0.996528;  z/(3*sqrt 32) = 1.959964/16.970563 = 0.115492
#          1.112020^3 = 1.375110;  32 * 1.375110 / 27.5 = 1.6001
EXAMPLE = {("A", "progression"): (10, 6), ("A", "maintenance"): (20, 8),
           ("B", "progression"): (30, 24), ("B", "maintenance"): (10, 7)}  # fmt: skip


def test_the_worked_example_by_hand():
    result = indirect_standardisation(
        cases(EXAMPLE), "municipality", ["goal_type"], "achieved", citizen="citizen"
    ).set_index("municipality")
    a, b = result.loc["A"], result.loc["B"]
    assert (a.n_cases, a.observed, a.n_citizens) == (30, 14, 8)
    assert (b.n_cases, b.observed, b.n_citizens) == (40, 31, 8)
    assert a.expected == pytest.approx(17.5) and b.expected == pytest.approx(27.5)
    assert a.ratio == pytest.approx(0.8) and b.ratio == pytest.approx(31 / 27.5)
    assert round(a.crude_pct, 4) == 46.6667 and round(b.crude_pct, 4) == 77.5
    assert round(a.adjusted_pct, 4) == 51.4286 and round(b.adjusted_pct, 4) == 72.4675
    assert (round(a.lower_95, 4), round(a.upper_95, 4)) == (0.4370, 1.3423)
    assert (round(b.lower_95, 4), round(b.upper_95, 4)) == (0.7658, 1.6001)
    assert not result.is_suppressed.any()


def test_the_worked_example_at_99_8_percent_is_byar_with_its_z():
    result = indirect_standardisation(
        cases(EXAMPLE), "municipality", ["goal_type"], "achieved"
    ).set_index("municipality")
    o, e = 14, 17.5
    lower = o * (1 - 1 / (9 * o) - Z998 / (3 * math.sqrt(o))) ** 3 / e
    upper = (o + 1) * (1 - 1 / (9 * (o + 1)) + Z998 / (3 * math.sqrt(o + 1))) ** 3 / e
    assert result.loc["A", "lower_998"] == pytest.approx(lower)
    assert result.loc["A", "upper_998"] == pytest.approx(upper)
    assert result.loc["A", "lower_998"] < result.loc["A", "lower_95"]
    assert result.loc["A", "upper_998"] > result.loc["A", "upper_95"]
    assert result.n_citizens.isna().all()  # no citizen column: not counted, nothing withheld
    assert not result.is_suppressed.any()


def test_groups_are_standardised_apart_and_small_units_are_withheld():
    """Each period has national rates of its own; a unit of fewer than 5 citizens keeps its
    cases in the national rates but shows no figure."""
    first = cases(EXAMPLE).assign(period="2018")
    second = cases({("A", "progression"): (10, 10), ("B", "progression"): (10, 0),
                    ("C", "progression"): (3, 3)}, citizens_per_cell=5).assign(period="2019")  # fmt: skip
    result = indirect_standardisation(
        pd.concat([first, second]), "municipality", ["goal_type"], "achieved",
        by=["period"], citizen="citizen",
    ).set_index(["period", "municipality"])  # fmt: skip
    assert result.loc[("2018", "A"), "expected"] == pytest.approx(17.5)
    # 2019: national rate 13/23; A expected 10 * 13/23, observed 10.
    assert result.loc[("2019", "A"), "expected"] == pytest.approx(10 * 13 / 23)
    assert result.loc[("2019", "A"), "adjusted_pct"] == pytest.approx(
        10 / (10 * 13 / 23) * 100 * 13 / 23
    )
    c = result.loc[("2019", "C")]
    assert c.is_suppressed and c[["n_citizens", "observed", "expected", "ratio"]].isna().all()
    assert not result.loc[("2019", "A"), "is_suppressed"]


def test_the_national_row_is_every_case_and_its_ratio_is_one():
    result = indirect_standardisation(
        cases(EXAMPLE), "municipality", ["goal_type"], "achieved", citizen="citizen",
        national_code="000",
    ).set_index("municipality")  # fmt: skip
    nation = result.loc["000"]
    assert (nation.n_cases, nation.observed, nation.n_citizens) == (70, 45, 16)
    assert nation.expected == pytest.approx(45) and nation.ratio == pytest.approx(1)
    assert nation.crude_pct == pytest.approx(100 * 45 / 70) == nation.adjusted_pct
    assert result.loc["A", "expected"] == pytest.approx(17.5)  # the nation is not a stratum's unit


def test_a_case_without_its_stratum_is_refused():
    frame = cases(EXAMPLE)
    frame.loc[0, "goal_type"] = None
    with pytest.raises(ValueError, match="stratum"):
        indirect_standardisation(frame, "municipality", ["goal_type"], "achieved")


def test_byar_is_within_one_percent_of_the_exact_interval_from_ten_observed():
    """At 95% for every O from 10; at 99.8% the lower limit is 1.5% low at O = 10 and within
    1% from O = 13 on (the upper limit within 0.3% from 10)."""
    o = np.arange(10, 2001)
    for level, start in ((0.95, 10), (0.998, 13)):
        byar = byar_interval(o, 7.0, level)
        exact = exact_poisson_interval(o, 7.0, level)
        keep = o >= start
        for b, x in zip(byar, exact, strict=True):
            assert np.all(np.abs(b[keep] / x[keep] - 1) < 0.01), level
        assert np.all(np.abs(byar[1] / exact[1] - 1) < 0.003)
    lower_998_at_10 = byar_interval(10, 1.0, 0.998)[0] / exact_poisson_interval(10, 1.0, 0.998)[0]
    assert 0.98 < lower_998_at_10 < 0.99


def test_intervals_at_no_observed_and_no_expected():
    lower, upper = byar_interval(0, 2.0)
    assert lower == 0 and upper == pytest.approx((1 - 1 / 9 + Z95 / 3) ** 3 / 2)
    exact_lower, exact_upper = exact_poisson_interval(0, 2.0)
    assert exact_lower == 0 and exact_upper == pytest.approx(-math.log(0.025) / 2)
    assert np.isnan(byar_interval(3, 0.0)[0])


def spiegelhalter(dist, p: float, size: float) -> float:
    """The limit written out: r_p found by walking up the distribution function."""
    r = 0
    while dist.cdf(r) < p:
        r += 1
    alpha = (dist.cdf(r) - p) / (dist.cdf(r) - dist.cdf(r - 1))
    return max((r - alpha) / size, 0.0)


def test_ratio_limits_equal_the_formula_for_a_few_sizes():
    # By hand for an expected count of 20: Poisson(20) has F(11) = 0.021387, F(12) = 0.039012,
    # so r_0.025 = 12, alpha = (0.039012 - 0.025) / (0.039012 - 0.021387) = 0.794999 and the
    # lower limit (12 - 0.794999) / 20 = 0.560250; F(28) = 0.965666, F(29) = 0.978182, so
    # r_0.975 = 29, alpha = 0.254231 and the upper limit (29 - 0.254231) / 20 = 1.437288.
    limits = funnel_limits([20], 1.0, "ratio").iloc[0]
    assert round(limits.lower_95, 6) == 0.560250 and round(limits.upper_95, 6) == 1.437288
    sizes = [2.5, 8.0, 20.0, 64.3, 150.0, 900.0]
    limits = funnel_limits(sizes, 1.0, "ratio")
    for row in limits.itertuples():
        dist = stats.poisson(row.size)
        assert row.lower_95 == pytest.approx(spiegelhalter(dist, 0.025, row.size))
        assert row.upper_95 == pytest.approx(spiegelhalter(dist, 0.975, row.size))
        assert row.lower_998 == pytest.approx(spiegelhalter(dist, 0.001, row.size))
        assert row.upper_998 == pytest.approx(spiegelhalter(dist, 0.999, row.size))


def test_proportion_limits_equal_the_formula_for_a_few_sizes():
    target = 0.62
    limits = funnel_limits([10, 37, 120, 800], target, "proportion")
    for row in limits.itertuples():
        dist = stats.binom(int(row.size), target)
        for level in (0.95, 0.998):
            s = level_suffix(level)
            lower = spiegelhalter(dist, (1 - level) / 2, row.size)
            upper = spiegelhalter(dist, (1 + level) / 2, row.size)
            assert getattr(row, f"lower_{s}") == pytest.approx(lower)
            assert getattr(row, f"upper_{s}") == pytest.approx(upper)
    with pytest.raises(ValueError, match="whole numbers"):
        funnel_limits([10.5], target, "proportion")


@pytest.mark.parametrize(("kind", "target"), [("ratio", 1.0), ("ratio", 0.8), ("proportion", 0.3)])
def test_limits_narrow_with_size_and_the_wider_level_is_wider(kind, target):
    sizes = np.unique(np.round(np.geomspace(5, 50_000, 60)))
    limits = funnel_limits(sizes, target, kind)
    width_95 = limits.upper_95 - limits.lower_95
    width_998 = limits.upper_998 - limits.lower_998
    # Discreteness lets a neighbouring size's width wobble; over a few sizes it falls.
    assert np.all(np.diff(width_95.to_numpy()[::5]) < 0)
    assert np.all(np.diff(width_998.to_numpy()[::5]) < 0)
    assert np.all(limits.upper_998 > limits.upper_95)
    assert np.all(limits.lower_998 <= limits.lower_95)
    assert np.all((limits.lower_95 < target) & (target < limits.upper_95))


def test_limits_approach_the_normal_approximation_for_large_sizes():
    for size in (1e5, 1e6, 1e7):
        limits = funnel_limits([size], 1.0, "ratio").iloc[0]
        for z, s in ((Z95, "95"), (Z998, "998")):
            half = z * math.sqrt(1.0 / size)
            assert limits[f"upper_{s}"] == pytest.approx(1 + half, abs=0.02 * half)
            assert limits[f"lower_{s}"] == pytest.approx(1 - half, abs=0.02 * half)
    target, n = 0.4, 1_000_000
    limits = funnel_limits([n], target, "proportion").iloc[0]
    half = Z95 * math.sqrt(target * (1 - target) / n)
    assert limits.upper_95 == pytest.approx(target + half, abs=0.02 * half)
    assert limits.lower_95 == pytest.approx(target - half, abs=0.02 * half)


def test_a_small_expected_count_has_a_lower_limit_of_zero():
    limits = funnel_limits([1.0], 1.0, "ratio").iloc[0]
    assert limits.lower_95 == 0 and limits.lower_998 == 0 and limits.upper_95 > 2


def test_where_a_point_falls():
    limits = funnel_limits([100], 1.0, "ratio").iloc[0]
    assert funnel_position(1.0, 100, 1.0, "ratio") == "within"
    assert funnel_position(limits.upper_95 + 0.01, 100, 1.0, "ratio") == "above_95"
    assert funnel_position(limits.upper_998 + 0.01, 100, 1.0, "ratio") == "above_998"
    assert funnel_position(limits.lower_95 - 0.01, 100, 1.0, "ratio") == "below_95"
    assert funnel_position(limits.lower_998 - 0.01, 100, 1.0, "ratio") == "below_998"
    assert funnel_position(limits.upper_95, 100, 1.0, "ratio") == "within"  # on the limit
    assert funnel_position(None, 100, 1.0, "ratio") is None
    assert funnel_position(1.0, float("nan"), 1.0, "ratio") is None
