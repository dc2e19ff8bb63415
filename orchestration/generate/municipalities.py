"""Municipalities for a national generation: which codes exist, each one's case-mix, their sizes.

A municipality is named by its kommunekode from the contract's code list
(orchestration/contract/codelists/municipalities.csv). Its case-mix is drawn from its code alone,
so a municipality has the same profile in every generation and under every seed; its
organisation is drawn from its code and the seed (organisation.municipal_shape).
"""

from __future__ import annotations

import numpy as np

from orchestration.contract import CODELIST_DIR, municipality_names
from orchestration.generate.population import CaseMix

CODELIST = "municipalities"
CODELIST_FILE = CODELIST_DIR / f"{CODELIST}.csv"
BIG_CITY = "101"  # København: `pick_codes` always starts with it
PROFILE_STREAM = 22  # the case-mix's random stream: numpy's seed is [PROFILE_STREAM, code]


def unknown_code_message(code: object) -> str:
    return (
        f"municipality code {code!r} is not a Danish kommunekode: not in the code list "
        f"{CODELIST_FILE.name} (three digits, e.g. 101 København, 751 Aarhus)"
    )


def municipality_name(code: str) -> str:
    """The municipality's Danish name; ValueError naming the code if it is not in the list."""
    try:
        return municipality_names()[code]
    except (KeyError, TypeError):
        raise ValueError(unknown_code_message(code)) from None


def case_mix(code: str) -> CaseMix:
    """The municipality's case-mix, within realistic ranges, from its code alone.

    Children 22-38% of the citizens, youth 10-20%, adults the rest; adults 18 to 75-95 years old
    at their first case (so 0-40% of them 65 or older); a tendency to reach goals that puts the
    average goal attainment roughly between 40% and 65%; a first support need starting 0.6-1.1
    and ending 3.0-3.7 on the VUM scale. Outcomes depend on target group and age in the same way
    everywhere (`CaseMix.stratified`).
    """
    municipality_name(code)
    rng = np.random.default_rng([PROFILE_STREAM, int(code)])
    children, youth = rng.uniform(0.22, 0.38), rng.uniform(0.10, 0.20)
    return CaseMix(
        group_p=(children, youth, 1.0 - children - youth),
        adult_age_max=int(rng.integers(75, 96)),
        progress_mean=float(rng.uniform(-0.65, -0.25)),
        need_range=(float(rng.uniform(0.6, 1.1)), float(rng.uniform(3.0, 3.7))),
        stratified=True,
    )


def split_citizens(total: int, parts: int) -> list[int]:
    """A skewed split of `total` citizens, largest first: shares as 1, 1/2, 1/3, ... (Zipf), as
    a big city and smaller towns. Every part gets at least one citizen."""
    if parts < 1:
        raise ValueError("need at least one municipality")
    if total < parts:
        raise ValueError(f"{total:,} citizens cannot be split over {parts} municipalities")
    weights = 1 / np.arange(1, parts + 1)
    exact = (total - parts) * weights / weights.sum()
    sizes = np.floor(exact).astype(np.int64)
    # The citizens left by rounding down go to the largest remainders (ties: the larger part).
    left = (total - parts) - int(sizes.sum())
    sizes[np.argsort(-(exact - sizes), kind="stable")[:left]] += 1
    return (sizes + 1).tolist()


def pick_codes(n: int, seed: int) -> list[str]:
    """`n` municipalities: København first (the big city of `split_citizens`), then others
    drawn from the code list by the seed."""
    codes = list(municipality_names())
    if not 1 <= n <= len(codes):
        raise ValueError(f"--national must be between 1 and {len(codes)}")
    others = [c for c in codes if c != BIG_CITY]
    rng = np.random.default_rng([seed, PROFILE_STREAM])
    return [BIG_CITY, *(others[i] for i in rng.choice(len(others), n - 1, replace=False))]
