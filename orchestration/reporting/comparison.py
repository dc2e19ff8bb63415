"""Fair comparison of municipalities (issue 22): case-mix adjusted indicators and funnel plots.

The statistics first, as plain functions of numbers and frames (numpy, scipy, pandas):

- `byar_interval` and `exact_poisson_interval`: the interval of an observed-to-expected ratio,
  Byar's approximation (what the dbt model `ind_case_mix` computes in SQL) and the exact
  (Garwood) interval it approximates;
- `indirect_standardisation`: observed against expected from the national rate per stratum,
  written plainly, as the independent recomputation the SQL model is tested against;
- `funnel_limits` and `funnel_position`: Spiegelhalter's exact control limits with his
  interpolation, and where a municipality falls against them.

Then the pages: a comparison page per indicator (a funnel plot and a table sorted by ratio), a
page per municipality placing it among the others, and an index, from rows shaped as
`ind_case_mix` (one per period, municipality and indicator; municipality_code '000' the national
row). Whether other municipalities are named is the caller's choice (`name_others`). Method and
references: docs/comparison.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

# The two-sided normal quantiles of the two levels, as the SQL model writes them, so that this
# module's intervals equal the model's to the last digit; other levels from scipy.
Z_VALUES: dict[float, float] = {0.95: 1.959964, 0.998: 3.090232}
LEVELS: tuple[float, float] = (0.95, 0.998)

# Where a point falls against the funnel's limits, from low to high.
POSITIONS: tuple[str, ...] = ("below_998", "below_95", "within", "above_95", "above_998")


def z_value(level: float) -> float:
    """The two-sided standard normal quantile of a confidence level (0.95 -> 1.959964)."""
    if not 0 < level < 1:
        raise ValueError(f"level {level!r}: a probability between 0 and 1")
    return Z_VALUES.get(level, float(stats.norm.ppf((1 + level) / 2)))


def level_suffix(level: float) -> str:
    """A level as the columns name it: 0.95 -> '95', 0.998 -> '998'."""
    return f"{level * 100:g}".replace(".", "")


def byar_interval(
    observed: float | np.ndarray, expected: float | np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Byar's approximation to the exact Poisson interval of the ratio observed / expected:

        lower = O (1 - 1/(9 O) - z/(3 sqrt O))^3 / E
        upper = (O+1) (1 - 1/(9 (O+1)) + z/(3 sqrt(O+1)))^3 / E

    with lower = 0 when O = 0 (Breslow and Day 1987, vol. II, p. 69). Arrays broadcast; an
    expected count of 0 (or missing) gives NaN."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    z = z_value(level)
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(o > 0, o * (1 - 1 / (9 * o) - z / (3 * np.sqrt(o))) ** 3, 0.0)
        o1 = o + 1
        upper = o1 * (1 - 1 / (9 * o1) + z / (3 * np.sqrt(o1))) ** 3
        e = np.where(e > 0, e, np.nan)
        return lower / e, upper / e


def exact_poisson_interval(
    observed: float | np.ndarray, expected: float | np.ndarray, level: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Garwood 1936) interval of observed / expected for a Poisson count, from the
    chi-square distribution: lower = chi2(a/2; 2 O) / (2 E), upper = chi2(1 - a/2; 2 O + 2) /
    (2 E), a = 1 - level; lower = 0 when O = 0. Byar's is an approximation to this one."""
    o = np.asarray(observed, dtype=float)
    e = np.asarray(expected, dtype=float)
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        lower = np.where(o > 0, stats.chi2.ppf(alpha / 2, 2 * np.maximum(o, 1e-300)) / 2, 0.0)
        upper = stats.chi2.ppf(1 - alpha / 2, 2 * o + 2) / 2
        e = np.where(e > 0, e, np.nan)
        return lower / e, upper / e


# The figures of a standardised cell: null (NaN) in a suppressed one, as in the SQL model.
FIGURES: tuple[str, ...] = (
    "n_citizens", "n_cases", "observed", "expected", "ratio", "crude_pct", "adjusted_pct",
    *(f"{side}_{level_suffix(level)}" for level in LEVELS for side in ("lower", "upper")),
)  # fmt: skip


def indirect_standardisation(
    frame: pd.DataFrame,
    unit: str,
    strata: Sequence[str],
    outcome: str,
    *,
    by: Sequence[str] = (),
    citizen: str | None = None,
    min_cell_citizens: int = 5,
    national_code: str | None = None,
) -> pd.DataFrame:
    """Observed against expected per unit, by indirect standardisation.

    `frame` holds one row per case (a goal followed up, a functional-ability change): its
    `unit` (the municipality), its `strata` columns (e.g. target_group, age_group, goal_type),
    its `outcome` (true or 1 when achieved or improved), optionally its `citizen`. Each group
    of the `by` columns (e.g. period and indicator) is standardised on its own.

    - the national rate of a stratum is its outcome's mean over every unit's cases;
    - a unit's expected count is the sum over its strata of its cases times the national rate,
      its observed count the sum of its outcomes, its ratio observed / expected;
    - crude_pct = 100 observed / cases; adjusted_pct = ratio times the national crude
      percentage (the unit's rate had it the nation's case mix, in the indirect sense);
    - the interval of the ratio at 95% and 99.8% by Byar's approximation (`byar_interval`).

    One row per group and unit with the columns `by`, `unit`, n_citizens (distinct `citizen`s,
    or NA without one), n_cases, observed, expected, ratio, crude_pct, adjusted_pct, lower_95,
    upper_95, lower_998, upper_998 and is_suppressed: fewer than `min_cell_citizens` citizens,
    every figure then NA (without a `citizen` column nothing is suppressed). The national rates
    count every case, a suppressed unit's too. With a `national_code` (ind_case_mix's '000') each
    group has a row of that unit too, over every case: its ratio is 1 by construction.
    """
    by, strata = list(by), list(strata)
    missing = [c for c in [*by, unit, *strata, outcome, *([citizen] if citizen else [])]
               if c not in frame.columns]  # fmt: skip
    if missing:
        raise ValueError(f"columns missing from the frame: {', '.join(missing)}")
    if frame[[*by, unit, *strata, outcome]].isna().any().any():
        raise ValueError("a case without its unit, stratum or outcome cannot be standardised")
    cases = frame.assign(_outcome=frame[outcome].astype(float))
    if not cases["_outcome"].isin([0.0, 1.0]).all():
        raise ValueError(f"{outcome}: an outcome is true/false or 1/0")

    # The national rate of each stratum, and each case's expectation under it.
    rates = (
        cases.groupby([*by, *strata], dropna=False)["_outcome"].mean().rename("_rate").reset_index()
    )
    cases = cases.merge(rates, on=[*by, *strata], how="left", validate="many_to_one")
    # The national crude rate of each group, carried on every case of it.
    cases["_crude"] = (
        cases.groupby(by)["_outcome"].transform("mean") if by else cases["_outcome"].mean()
    )

    if national_code is not None:
        if (cases[unit] == national_code).any():
            raise ValueError(f"{national_code!r} is a unit of the frame, not free for the nation")
        cases = pd.concat([cases, cases.assign(**{unit: national_code})], ignore_index=True)
    per_unit = cases.groupby([*by, unit], dropna=False)
    result = per_unit.agg(
        n_cases=("_outcome", "size"),
        observed=("_outcome", "sum"),
        expected=("_rate", "sum"),
        national_crude=("_crude", "first"),
    ).reset_index()
    result["n_citizens"] = per_unit[citizen].nunique().to_numpy() if citizen else pd.NA
    with np.errstate(divide="ignore", invalid="ignore"):
        result["ratio"] = result.observed / result.expected.where(result.expected > 0)
    result["crude_pct"] = 100 * result.observed / result.n_cases
    result["adjusted_pct"] = result.ratio * 100 * result.national_crude
    for level in LEVELS:
        lower, upper = byar_interval(result.observed, result.expected, level)
        result[f"lower_{level_suffix(level)}"] = lower
        result[f"upper_{level_suffix(level)}"] = upper

    result["is_suppressed"] = (
        result.n_citizens.astype("Int64") < min_cell_citizens if citizen else False
    )
    result["is_suppressed"] = result.is_suppressed.astype(bool)
    out = result[[*by, unit, *FIGURES, "is_suppressed"]].copy()
    for column in ("n_citizens", "n_cases", "observed"):
        out[column] = out[column].astype("Int64")
    for column in FIGURES:
        out[column] = out[column].mask(out.is_suppressed)
    return out


def funnel_limits(
    sizes: Iterable[float] | np.ndarray,
    target: float,
    kind: str,
    levels: Sequence[float] = LEVELS,
) -> pd.DataFrame:
    """Exact control limits of a funnel plot with Spiegelhalter's interpolation (Stat Med
    2005;24:1185-1202, appendix A.1).

    For kind='ratio' (an indirectly standardised ratio; size = the expected count, target 1)
    the count is Poisson(size * target); for kind='proportion' (size = the number of cases, an
    integer; target = the national proportion) Binomial(size, target). For each probability p
    (lower (1 - level) / 2, upper (1 + level) / 2): r_p is the p-quantile of the count
    (the smallest r with F(r) >= p), alpha = (F(r_p) - p) / (F(r_p) - F(r_p - 1)), and the
    limit is (r_p - alpha) / size. A lower limit below 0 (r_p = 0 interpolates below it) is 0.

    One row per size: `size`, and `lower_<level>` and `upper_<level>` per level ('95', '998').
    """
    size = np.asarray(list(sizes) if not isinstance(sizes, np.ndarray) else sizes, dtype=float)
    if (size <= 0).any() or np.isnan(size).any():
        raise ValueError("funnel sizes are positive numbers")
    if kind == "ratio":
        if target <= 0:
            raise ValueError("a ratio's target is positive (1 when indirectly standardised)")
        dist = stats.poisson(size * target)
    elif kind == "proportion":
        if not 0 < target < 1:
            raise ValueError("a proportion's target is between 0 and 1")
        if not np.allclose(size, np.round(size)):
            raise ValueError("a proportion's sizes are whole numbers of cases")
        dist = stats.binom(np.round(size).astype(int), target)
    else:
        raise ValueError(f"kind {kind!r}: 'ratio' or 'proportion'")

    def limit(p: float) -> np.ndarray:
        r = dist.ppf(p)
        f_r, f_below = dist.cdf(r), dist.cdf(r - 1)
        alpha = (f_r - p) / (f_r - f_below)
        return np.maximum((r - alpha) / size, 0.0)

    limits = pd.DataFrame({"size": size})
    for level in levels:
        suffix = level_suffix(level)
        limits[f"lower_{suffix}"] = limit((1 - level) / 2)
        limits[f"upper_{suffix}"] = limit((1 + level) / 2)
    return limits


def funnel_position(value: float, size: float, target: float, kind: str) -> str | None:
    """Where a point (its ratio or proportion `value` at `size`) falls against the 95% and
    99.8% limits: one of POSITIONS, or None without a value or size. A point on a limit is
    inside it."""
    if value is None or size is None or pd.isna(value) or pd.isna(size) or size <= 0:
        return None
    limits = funnel_limits([size], target, kind).iloc[0]
    if value < limits.lower_998:
        return "below_998"
    if value < limits.lower_95:
        return "below_95"
    if value > limits.upper_998:
        return "above_998"
    if value > limits.upper_95:
        return "above_95"
    return "within"
