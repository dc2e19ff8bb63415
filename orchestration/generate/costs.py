"""Synthetic cost files (contract 1.1): grants, monthly payments and budgets.

Every draw is a hash of the seed and the row's key, never a position in a random stream, and
everything is derived from the interventions as the extract shows them. So two extract times
of one seed give consistent snapshots: a grant's rate, a month's payment and a year's budget
are the same in both, and only what happened in between (a month paid, a payment corrected, a
grant's period closed, a budget revised) differs.

The rates are synthetic but of a realistic order (DKK, 2017 price level, regulated 2% a year),
and so is the mapping of legal bases to the kontoplan's functions: a real municipality books by
its own practice.
"""

from __future__ import annotations

import hashlib

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.generate.population import expand

# legal basis -> offers (share, rate unit, 2017 rate, function, hours per week low-high)
OFFERS: dict[str, list[tuple[float, str, float, str, tuple[float, float]]]] = {
    "SEL_52": [(0.4, "day", 1100.0, "5.28.20", (0, 0)),  # foster family
               (0.15, "day", 4500.0, "5.28.23", (0, 0)),  # residential institution
               (0.45, "week", 3500.0, "5.28.21", (0, 0))],  # preventive measures
    "SEL_85": [(1.0, "hour", 520.0, "5.38.53", (2, 12))],
    "SEL_97": [(1.0, "hour", 300.0, "5.38.53", (2, 8))],
    "SEL_101": [(1.0, "week", 4500.0, "5.38.45", (0, 0))],
    "SEL_103": [(1.0, "day", 450.0, "5.38.58", (0, 0))],
    "SEL_104": [(1.0, "day", 550.0, "5.38.59", (0, 0))],
    "SEL_107": [(1.0, "day", 2200.0, "5.38.52", (0, 0))],
    "SEL_108": [(1.0, "day", 2600.0, "5.38.50", (0, 0))],
    "SEL_110": [(1.0, "day", 1300.0, "5.38.42", (0, 0))],
}  # fmt: skip
PRICE_BASE_YEAR = 2017
REGULATION = 0.02  # yearly price regulation of every rate
GAP_SHARE = 0.02  # months the economy system has no payment for
CORRECTED_SHARE = 0.03  # payments corrected once they are CORRECTED_AFTER days old
CORRECTED_AFTER = 60
PAID_DAY = 10  # payments for a month are booked on the 10th of the next
REVISED_SHARE = 0.3  # budget lines revised on 30 June


def uniform(seed: int, keys: np.ndarray, salt: int) -> np.ndarray:
    """A uniform draw in [0, 1) per key: splitmix64 of the seed, the salt and the key."""
    with np.errstate(over="ignore"):
        x = keys.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
        x ^= np.uint64((seed * 1_000_003 + salt * 7_919) % 2**64)
        x += np.uint64(0x9E3779B97F4A7C15)
        x ^= x >> np.uint64(30)
        x *= np.uint64(0xBF58476D1CE4E5B9)
        x ^= x >> np.uint64(27)
        x *= np.uint64(0x94D049BB133111EB)
        x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) / float(2**53)


def _year(days: np.ndarray) -> np.ndarray:
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def _year_start(years: np.ndarray) -> np.ndarray:
    return (years - 1970).astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)


def _month_start(months: np.ndarray) -> np.ndarray:
    """First day of months counted since 1970-01."""
    return months.astype("datetime64[M]").astype("datetime64[D]").astype(np.int64)


def _days(column: pa.ChunkedArray) -> np.ndarray:
    return pc.cast(column, pa.int32()).to_numpy(zero_copy_only=False).astype(np.int64)


def simulate_costs(interventions: pa.Table, seed: int, extract_at: int) -> dict[str, pa.Table]:
    """Grants (one per intervention and calendar year) and their monthly payments, as the
    economy system holds them on `extract_at`, for the interventions the extract shows."""
    iv = interventions
    n = iv.num_rows
    i_id = iv.column("intervention_id").to_numpy().astype(np.int64)
    legal = iv.column("legal_basis").to_numpy(zero_copy_only=False).astype(str)
    start = _days(iv.column("started_on"))
    ended = iv.column("ended_on")
    open_ = pc.is_null(ended).to_numpy(zero_copy_only=False)
    end = np.where(open_, extract_at, _days(pc.fill_null(ended, pa.scalar(0, pa.date32()))))

    unit = np.empty(n, dtype=object)
    base = np.zeros(n)
    function = np.empty(n, dtype=object)
    hours = np.full(n, np.nan)
    pick = uniform(seed, i_id, 1)
    for basis, offers in OFFERS.items():
        m = legal == basis
        cumulative = np.cumsum([o[0] for o in offers])
        choice = np.minimum(np.searchsorted(cumulative, pick[m], side="right"), len(offers) - 1)
        table = np.array([(o[1], o[2], o[3], o[4][0], o[4][1]) for o in offers], dtype=object)
        unit[m], base[m], function[m] = table[choice, 0], table[choice, 1], table[choice, 2]
        low, high = table[choice, 3].astype(float), table[choice, 4].astype(float)
        per_hour = table[choice, 0] == "hour"
        drawn = np.rint((low + (high - low) * uniform(seed, i_id[m], 2)) * 2) / 2
        hours[np.flatnonzero(m)[per_hour]] = drawn[per_hour]
    factor = 0.75 + 0.5 * uniform(seed, i_id, 3)  # the provider's price for this citizen

    # Grants: one per calendar year the intervention runs in, the rate regulated each year.
    first_year, last_year = _year(start), _year(end)
    g_iv, g_pos = expand(last_year - first_year + 1)
    g_year = first_year[g_iv] + g_pos
    g_from = np.maximum(start[g_iv], _year_start(g_year))
    year_end = _year_start(g_year + 1) - 1
    g_to = np.minimum(end[g_iv], year_end)
    g_open = open_[g_iv] & (g_to >= extract_at)  # the running year of a running intervention
    keep = g_from <= extract_at
    g_iv, g_year, g_from, g_to, g_open = (
        g_iv[keep],
        g_year[keep],
        g_from[keep],
        g_to[keep],
        g_open[keep],
    )
    g_id = i_id[g_iv] * 100 + (g_year - 1990)
    g_unit = unit[g_iv].astype(str)
    regulated = base[g_iv] * factor[g_iv] * (1 + REGULATION) ** (g_year - PRICE_BASE_YEAR)
    g_rate = np.where(g_unit == "hour", np.rint(regulated), np.round(regulated, 2))
    g_hours = hours[g_iv]
    grants = pa.table({
        "grant_id": g_id,
        "intervention_id": i_id[g_iv],
        "rate_dkk": g_rate,
        "rate_unit": g_unit,
        "hours_per_week": pa.array(g_hours, mask=np.isnan(g_hours)),
        "function": function[g_iv].astype(str),
        "valid_from": _date(g_from),
        "valid_to": pa.array(g_to.astype("datetime64[D]"), mask=g_open, type=pa.date32()),
    })  # fmt: skip

    # Payments: one per grant and month, booked on the 10th of the next month.
    m_first = g_from.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    m_last = g_to.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    p_g, p_pos = expand(m_last - m_first + 1)
    p_month = m_first[p_g] + p_pos
    p_from = np.maximum(g_from[p_g], _month_start(p_month))
    p_to = np.minimum(g_to[p_g], _month_start(p_month + 1) - 1)
    paid = _month_start(p_month + 1) + PAID_DAY - 1
    month_of_year = (p_month % 12) + 1
    p_id = g_id[p_g] * 100 + month_of_year
    gap = uniform(seed, p_id, 4) < GAP_SHARE
    keep = (paid <= extract_at) & ~gap
    p_g, p_from, p_to, paid, p_id = p_g[keep], p_from[keep], p_to[keep], paid[keep], p_id[keep]
    days = (p_to - p_from + 1).astype(float)
    p_unit = g_unit[p_g]
    per_day = np.select(
        [p_unit == "hour", p_unit == "week"],
        [g_rate[p_g] * np.nan_to_num(g_hours[p_g]) / 7, g_rate[p_g] / 7],
        g_rate[p_g],
    )
    amount = per_day * days
    corrected = (uniform(seed, p_id, 5) < CORRECTED_SHARE) & (paid + CORRECTED_AFTER <= extract_at)
    amount = np.where(corrected, amount * (0.85 + 0.3 * uniform(seed, p_id, 6)), amount)
    payments = pa.table({
        "payment_id": p_id,
        "intervention_id": i_id[g_iv][p_g],
        "grant_id": g_id[p_g],
        "period_from": _date(p_from),
        "period_to": _date(p_to),
        "amount_dkk": np.round(amount, 2),
        "function": function[g_iv][p_g].astype(str),
        "paid_on": _date(paid),
    })  # fmt: skip
    return {"grants": grants, "payments": payments}


def budget_basis(
    grants: pa.Table, providers: dict[int, str], years: range, extract_at: int
) -> pa.Table:
    """Per budget year, provider unit and function: the yearly cost of the grants in force on
    1 October of the year before (when the budget is adopted). Summed over chunks later."""
    g_iv = grants.column("intervention_id").to_numpy()
    unit = np.array([providers[i] for i in g_iv.tolist()], dtype=object)
    g_from = _days(grants.column("valid_from"))
    g_to = _days(pc.fill_null(grants.column("valid_to"), pa.scalar(2**30, pa.date32())))
    rate = grants.column("rate_dkk").to_numpy()
    rate_unit = grants.column("rate_unit").to_numpy(zero_copy_only=False).astype(str)
    hours = np.nan_to_num(grants.column("hours_per_week").to_numpy(zero_copy_only=False))
    per_year = np.select(
        [rate_unit == "day", rate_unit == "week", rate_unit == "hour"],
        [rate * 365, rate * 52, rate * hours * 52],
    )
    parts = []
    for year in years:
        adopted = _year_start(np.array([year]))[0] - 92  # 1 October of the year before
        if adopted > extract_at:
            continue
        m = (g_from <= adopted) & (g_to >= adopted)
        parts.append(pa.table({
            "budget_year": np.full(m.sum(), year, dtype=np.int64),
            "org_unit_id": unit[m].astype(str),
            "function": grants.column("function").filter(pa.array(m)),
            "amount_dkk": per_year[m] * (1 + REGULATION),
        }))  # fmt: skip
    if not parts:
        return pa.table({"budget_year": pa.array([], pa.int64()), "org_unit_id": pa.array([], pa.string()),
                         "function": pa.array([], pa.string()), "amount_dkk": pa.array([], pa.float64())})  # fmt: skip
    keys = ["budget_year", "org_unit_id", "function"]
    return (
        pa.concat_tables(parts)
        .group_by(keys)
        .aggregate([("amount_dkk", "sum")])
        .rename_columns([*keys, "amount_dkk"])
    )


def budgets(basis: pa.Table, seed: int, extract_at: int) -> pa.Table:
    """Budget lines from the summed basis: adopted on 1 October of the year before (the basis
    give or take 5%), and for some lines revised on 30 June, as far as `extract_at` shows."""
    keys = ["budget_year", "org_unit_id", "function"]
    if basis.num_rows:
        basis = (
            basis.group_by(keys)
            .aggregate([("amount_dkk", "sum")])
            .rename_columns([*keys, "amount_dkk"])
        )
        basis = basis.sort_by([(k, "ascending") for k in keys])
    year = basis.column("budget_year").to_numpy().astype(np.int64)
    line = _line_key(basis)
    adopted_amount = np.round(
        basis.column("amount_dkk").to_numpy() * (0.95 + 0.1 * uniform(seed, line, 7)), -3
    )
    adopted_on = _year_start(year) - 92
    revised = uniform(seed, line, 8) < REVISED_SHARE
    revised_on = _year_start(year) + 180 + _is_leap(year)  # 30 June
    revised_amount = np.round(adopted_amount * (0.97 + 0.12 * uniform(seed, line, 9)), -3)
    show_revision = revised & (revised_on <= extract_at)
    n = basis.num_rows
    rows = np.concatenate([np.arange(n), np.flatnonzero(show_revision)])
    on = np.concatenate([adopted_on, revised_on[show_revision]])
    amount = np.concatenate([adopted_amount, revised_amount[show_revision]])
    order = np.lexsort((on, rows))
    rows, on, amount = rows[order], on[order], amount[order]
    return pa.table({
        "budget_year": year[rows],
        "org_unit_id": basis.column("org_unit_id").take(pa.array(rows)),
        "function": basis.column("function").take(pa.array(rows)),
        "target_group": pa.nulls(len(rows), pa.string()),
        "amount_dkk": amount,
        "revised_on": _date(on),
    })  # fmt: skip


def _line_key(basis: pa.Table) -> np.ndarray:
    """A number per budget line from its year, unit and function (for the hashed draws)."""
    text = pc.binary_join_element_wise(
        pc.cast(basis.column("budget_year"), pa.string()), basis.column("org_unit_id"),
        basis.column("function"), "|",
    )  # fmt: skip
    digests = [hashlib.blake2b(t.encode(), digest_size=8).digest() for t in text.to_pylist()]
    return np.array([int.from_bytes(d, "little") for d in digests], dtype=np.uint64)


def _is_leap(years: np.ndarray) -> np.ndarray:
    return ((years % 4 == 0) & ((years % 100 != 0) | (years % 400 == 0))).astype(np.int64)


def _date(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), type=pa.date32())
