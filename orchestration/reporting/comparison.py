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

import html
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from orchestration.contract import municipality_names
from orchestration.files import atomic_folder
from orchestration.reporting.factsheets import PLOTLY_BUNDLE, PLOTLY_JS, TEMPLATES
from orchestration.reporting.formatting import fmt, withheld
from orchestration.reporting.sections import (
    Cell,
    Heading,
    Row,
    Section,
    Table,
    figure_html,
    headings,
)

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

    with lower = 0 when O = 0 (Breslow and Day 1987, vol. II). Arrays broadcast; an
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


def funnel_positions(
    values: Iterable[float], sizes: Iterable[float], target: float, kind: str
) -> list[str | None]:
    """Where each point (its ratio or proportion at its size) falls against the 95% and 99.8%
    limits: one of POSITIONS, or None without a value or a positive size. A point on a limit is
    inside it."""
    value = np.asarray(pd.to_numeric(pd.Series(list(values)), errors="coerce"), dtype=float)
    size = np.asarray(pd.to_numeric(pd.Series(list(sizes)), errors="coerce"), dtype=float)
    placed = ~np.isnan(value) & ~np.isnan(size) & (size > 0)
    positions: list[str | None] = [None] * len(value)
    if not placed.any():
        return positions
    limits = funnel_limits(size[placed], target, kind)
    v = value[placed]
    found = np.select(
        [v < limits.lower_998, v < limits.lower_95, v > limits.upper_998, v > limits.upper_95],
        ["below_998", "below_95", "above_998", "above_95"],
        default="within",
    )
    for i, position in zip(np.flatnonzero(placed), found, strict=True):
        positions[i] = str(position)
    return positions


def funnel_position(
    value: float | None, size: float | None, target: float, kind: str
) -> str | None:
    """`funnel_positions` of one point."""
    return funnel_positions([value], [size], target, kind)[0]


# ---------------------------------------------------------------------------------------------
# The pages: rows shaped as ind_case_mix in, HTML out.

NATIONAL = "000"  # ind_case_mix's national row
CASE_MIX_COLUMNS: tuple[str, ...] = (
    "period_type", "period_label", "data_break", "municipality_code", "indicator", *FIGURES,
    "is_suppressed",
)  # fmt: skip


@dataclass(frozen=True)
class Indicator:
    """How the pages speak of an indicator of ind_case_mix."""

    title: str  # Nåede mål
    what: str  # what is counted, in a sentence: "nåede mål"
    cases: str  # what it is counted among: "mål fulgt op"
    strata: str  # what the expectation takes into account


INDICATORS: dict[str, Indicator] = {
    "goals_achieved": Indicator(
        "Nåede mål", "nåede mål", "mål fulgt op", "målgruppe, aldersgruppe og måltype"
    ),
    "ability_improved": Indicator(
        "Forbedret funktionsevne",
        "forbedringer i funktionsevne",
        "ændringer i funktionsevne (borger og tema)",
        "målgruppe, aldersgruppe og redskab (VUM2008, VUM2, dialogredskabet)",
    ),
}

POSITION_LABEL = {
    "below_998": "Under 99,8\u00a0%-grænsen",
    "below_95": "Under 95\u00a0%-grænsen",
    "within": "Inden for grænserne",
    "above_95": "Over 95\u00a0%-grænsen",
    "above_998": "Over 99,8\u00a0%-grænsen",
}
POSITION_SENTENCE = {
    "below_998": (
        "ligger under den nederste 99,8\u00a0%-grænse: markant færre {what} end forventet. Så "
        "stor en forskel opstår næsten aldrig ved tilfældigheder alene; det er værd at finde ud "
        "af, hvorfor."
    ),
    "below_95": (
        "ligger under den nederste 95\u00a0%-grænse, men inden for 99,8\u00a0%-grænsen: færre "
        "{what} end forventet. Det kan være tilfældigt, men er et signal til at se nærmere efter."
    ),
    "within": (
        "ligger inden for 95\u00a0%-grænserne: som forventet. Forskellen fra landsniveauet kan "
        "skyldes tilfældigheder."
    ),
    "above_95": (
        "ligger over den øverste 95\u00a0%-grænse, men inden for 99,8\u00a0%-grænsen: flere "
        "{what} end forventet. Det kan være tilfældigt, men er et signal til at se nærmere efter."
    ),
    "above_998": (
        "ligger over den øverste 99,8\u00a0%-grænse: markant flere {what} end forventet. Så stor "
        "en forskel opstår næsten aldrig ved tilfældigheder alene."
    ),
}
COLOURS = {"within": "#9e9e9e", "outside_95": "#ef6c00", "outside_998": "#6a1b9a",
           "own": "#0d47a1", "limit": "#424242", "target": "#2e7d32"}  # fmt: skip

TEXT_DA = {
    "index_title": "Sammenligning af kommuner",
    "subtitle": "Case-mix-justerede indikatorer, {period}",
    "comparison_title": "{indicator}: kommunerne sammenlignet",
    "municipality_title": "{name} blandt kommunerne",
    "other": "Anden kommune",
    "municipality": "Kommune",
    "indicator": "Indikator",
    "n_citizens": "Borgere",
    "observed": "Observeret",
    "expected": "Forventet",
    "ratio": "Forhold (obs./forv.)",
    "interval_95": "95\u00a0%-interval",
    "interval_998": "99,8\u00a0%-interval",
    "crude_pct": "Andel",
    "adjusted_pct": "Standardiseret andel",
    "national_pct": "Landsplan",
    "position": "Placering",
    "funnel": "Tragtplot",
    "table": "Kommunerne efter forhold",
    "figures": "Kommunens tal",
    "x_axis": "Forventet antal {what}",
    "y_axis": "Forhold mellem observeret og forventet",
    "limit_95": "95\u00a0%-grænser",
    "limit_998": "99,8\u00a0%-grænser",
    "target": "Som landet (1)",
    "points_within": "Inden for 95\u00a0%-grænserne",
    "points_95": "Uden for 95\u00a0%-grænserne",
    "points_998": "Uden for 99,8\u00a0%-grænserne",
    "suppressed": "<5",
    "too_few": "for få borgere",
    "protects": "skjult, så et \u201c<5\u201d ikke kan regnes ud",
    "hidden_suppressed": (
        "{n} kommune(r)s tal vises ikke (færre end fem borgere, eller skjult så et sådant tal "
        "ikke kan regnes ud) og er ikke i tragten."
    ),
    "suppressed_own": (
        "{name} har færre end fem borgere i tallet for {what}, så tallet vises ikke og kommunen "
        "er ikke i tragten."
    ),
    "withheld_own": (
        "{name}s tal for {what} er skjult, så et tal om færre end fem borgere ikke kan regnes ud, "
        "og kommunen er ikke i tragten."
    ),
    "no_rows": "Ingen tal for perioden.",
    "table_note": (
        "Sorteret efter forholdet, højest først. Rækkefølgen er ikke en rangliste: kommuner inden "
        "for grænserne kan ikke skelnes fra hinanden. \u201c<5\u201d: færre end fem borgere."
    ),
    "funnel_note": (
        "Hvert punkt er en kommune: vandret det antal {what}, den kunne forvente, lodret forholdet "
        "mellem det observerede og det forventede. De stiplede linjer er 95\u00a0%-grænserne, de "
        "fuldt optrukne 99,8\u00a0%-grænserne."
    ),
    "anonymous_note": "Andre kommuner vises uden navn.",
    "explain_standardisation": (
        "Kommunerne har forskellige borgere, og nogle grupper af borgere klarer sig oftere godt "
        "end andre. Derfor sammenlignes hver kommune ikke direkte med landsgennemsnittet, men med det "
        "antal {what}, den kunne forvente, hvis dens borgere klarede sig som landets borgere i "
        "samme {strata}: for hver gruppe ganges kommunens antal {cases} med landets andel, og "
        "tallene lægges sammen (indirekte standardisering). Forholdet mellem observeret og "
        "forventet er 1, når kommunen ligger som landet for borgere som dens egne; 1,10 betyder "
        "10\u00a0% flere {what} end forventet, 0,90 10\u00a0% færre. Den standardiserede andel er "
        "forholdet ganget med landets andel ({national})."
    ),
    "explain_limits": (
        "Tragten viser, hvor langt fra 1 en kommune af samme størrelse kan ligge ved "
        "tilfældigheder alene: er en kommune reelt som landet, ligger den inden for "
        "95\u00a0%-grænserne 19 ud af 20 gange og inden for 99,8\u00a0%-grænserne 998 ud af "
        "1.000 gange. Små kommuner har en bred tragt, fordi få borgere giver store udsving. Med "
        "98 kommuner ligger omkring fem uden for 95\u00a0%-grænserne, selv om ingen af dem "
        "reelt er anderledes: et punkt uden for 95\u00a0%-grænsen er et signal til at se "
        "nærmere efter, ikke en dom. Uden for 99,8\u00a0%-grænsen er forskellen næppe tilfældig."
    ),
    "explain_caveat": (
        "Hvad tallet ikke siger: standardiseringen tager kun højde for de grupper, der er nævnt "
        "ovenfor, ikke for alt andet, der adskiller borgerne, og heller ikke for, hvordan kommunerne sætter mål og "
        "følger op (registreringspraksis). En kommune uden for grænserne kan have borgere, der "
        "er sværere eller lettere at hjælpe, end de grupper viser; en kommune inden for grænserne "
        "er ikke nødvendigvis som landet, men tallene kan ikke vise forskellen."
    ),
    "data_break": (
        "Perioden spænder over skiftet fra VUM2008 til VUM2 i maj 2017 (databrud): tallene skal "
        "læses med forsigtighed."
    ),
    "own_sentence": (
        "{name}: {observed} {what} mod {expected} forventet ud fra landets niveau for borgere som "
        "kommunens; forholdet er {ratio} (95\u00a0%-interval {interval}). Kommunen "
    ),
    "back": "Til oversigten",
    "how_to_read": "Sådan læses siden",
    "index_intro": (
        "Kommunerne sammenlignet på indikatorer, der er justeret for forskelle i borgernes "
        "sammensætning (case-mix): hver kommune mod det, den kunne forvente ud fra landets "
        "niveau for borgere som dens egne, i et tragtplot, der viser, hvor store forskelle "
        "tilfældigheder alene kan give."
    ),
    "cases": "Tilfælde (mål / ændringer)",
    "figures_note": (
        "Forholdet og dets intervaller for hver indikator; placeringen er mod tragtens grænser "
        "for en kommune med samme forventede antal. \u201c<5\u201d: færre end fem borgere."
    ),
    "indicators": "Indikatorer",
    "municipalities": "Kommuner",
    "footer": "Sammenligning af kommuner · {period} · metode: docs/comparison.md",
}


def _decimal(value, decimals: int) -> str:
    return fmt(value, "da", decimals=decimals)


def _interval(lower, upper) -> str:
    if lower is None or upper is None or pd.isna(lower) or pd.isna(upper):
        return "\u2013"
    return f"{_decimal(lower, 2)}\u2013{_decimal(upper, 2)}"


def _indicator(code: str) -> Indicator:
    return INDICATORS.get(code, Indicator(code, code, "tilfælde", "de samme grupper"))


def _check_frame(frame: pd.DataFrame) -> None:
    missing = [c for c in CASE_MIX_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"not rows of ind_case_mix: missing {', '.join(missing)}")


def latest_period(frame: pd.DataFrame) -> str:
    """The period the pages show by default: the latest rolling four quarters (the latest
    label when the frame holds none)."""
    rolling = frame.loc[frame.period_type == "rolling_4q", "period_label"]
    labels = rolling if len(rolling) else frame.period_label
    if labels.empty:
        raise ValueError("no rows to compare")
    return str(labels.max())


def _cells(frame: pd.DataFrame, indicator: str, period_label: str):
    """The municipalities' rows of one indicator and period, each with its place against the
    funnel (None when withheld or without an expectation), and the national row (or None)."""
    _check_frame(frame)
    rows = frame[(frame.indicator == indicator) & (frame.period_label == period_label)].copy()
    rows["municipality_code"] = rows.municipality_code.astype(str)
    national = rows[rows.municipality_code == NATIONAL]
    rows = rows[rows.municipality_code != NATIONAL]
    shown = ~rows.is_suppressed.astype(bool)
    rows["position"] = funnel_positions(
        rows.ratio.where(shown), rows.expected.where(shown), 1.0, "ratio"
    )
    return rows, (national.iloc[0] if len(national) else None)


def _name(code: str, names: dict[str, str]) -> str:
    return names.get(code, f"Kommune {code}")


def funnel_figure(
    rows: pd.DataFrame,
    indicator: str,
    *,
    names: dict[str, str],
    name_others: bool,
    highlight: str | None = None,
) -> go.Figure:
    """The funnel plot of one indicator's municipalities (`_cells` rows): x the expected count,
    y the ratio, the 95% and 99.8% limits (Spiegelhalter), the target line at 1. Withheld rows
    are not drawn. Points outside the 95% limits are orange, outside 99.8% purple diamonds;
    `highlight` is a blue star with its name. Without `name_others` no other point carries a
    name or code, in its hover text or anywhere in the figure's data."""
    t, ind = TEXT_DA, _indicator(indicator)
    shown = rows[rows.position.notna()]
    fig = go.Figure()
    if not shown.empty:
        lo, hi = float(shown.expected.min()), float(shown.expected.max())
        grid = np.geomspace(max(lo * 0.7, 0.5), max(hi * 1.1, 1.0), 240)
        limits = funnel_limits(grid, 1.0, "ratio")
        for level, dash in (("998", "solid"), ("95", "dash")):
            for side in ("lower", "upper"):
                fig.add_trace(go.Scatter(
                    x=grid, y=limits[f"{side}_{level}"], mode="lines", hoverinfo="skip",
                    line={"color": COLOURS["limit"], "dash": dash, "width": 1.2},
                    name=t[f"limit_{level}"], legendgroup=level, showlegend=side == "upper",
                ))  # fmt: skip
        fig.add_trace(go.Scatter(
            x=[grid[0], grid[-1]], y=[1, 1], mode="lines", hoverinfo="skip", name=t["target"],
            line={"color": COLOURS["target"], "width": 1.5},
        ))  # fmt: skip

    def hover(r) -> str:
        shown_name = r.municipality_code == highlight or name_others
        label = html.escape(_name(r.municipality_code, names)) if shown_name else t["other"]
        return (
            f"{label}<br>{t['ratio']}: {_decimal(r.ratio, 2)} "
            f"({_interval(r.lower_95, r.upper_95)})<br>{t['observed']}: {_decimal(r.observed, 0)}"
            f", {t['expected'].lower()}: {_decimal(r.expected, 1)}"
        )

    groups = (
        ("within", ("within",), "circle", 8),
        ("95", ("below_95", "above_95"), "circle", 9),
        ("998", ("below_998", "above_998"), "diamond", 11),
    )
    others = shown[shown.municipality_code != highlight]
    for key, positions, symbol, size in groups:
        points = others[others.position.isin(positions)]
        if points.empty:
            continue
        colour = COLOURS["within" if key == "within" else f"outside_{key}"]
        extra = {"customdata": list(points.municipality_code)} if name_others else {}
        fig.add_trace(go.Scatter(
            x=points.expected.astype(float), y=points.ratio.astype(float), mode="markers",
            name=t["points_within" if key == "within" else f"points_{key}"],
            marker={"color": colour, "symbol": symbol, "size": size, "line": {"width": 0.5,
                    "color": "white"}},
            hovertext=[hover(r) for r in points.itertuples()], hoverinfo="text", **extra,
        ))  # fmt: skip
    own = shown[shown.municipality_code == highlight]
    if not own.empty:
        r = next(own.itertuples())
        fig.add_trace(go.Scatter(
            x=[float(r.expected)], y=[float(r.ratio)], mode="markers+text",
            name=html.escape(_name(r.municipality_code, names)),
            text=[html.escape(_name(r.municipality_code, names))], textposition="top center",
            customdata=[r.municipality_code], hovertext=[hover(r)], hoverinfo="text",
            marker={"color": COLOURS["own"], "symbol": "star", "size": 16},
        ))  # fmt: skip
    fig.update_layout(
        height=460,
        xaxis={"title": {"text": t["x_axis"].format(what=ind.what)}, "rangemode": "tozero"},
        yaxis={"title": {"text": t["y_axis"]}, "rangemode": "tozero"},
        separators=",.",
    )
    return fig


@dataclass(frozen=True)
class Paragraphs:
    """A section of plain text: a title and its paragraphs (comparison.html)."""

    title: str
    paragraphs: list[str]


def _explanation(items: list[tuple[str, object]]) -> Paragraphs:
    """How to read the page: what standardisation did for each (indicator, national row), what
    the limits mean, and what the figures do not say."""
    t = TEXT_DA
    paragraphs = []
    for indicator, national in items:
        ind = _indicator(indicator)
        national_pct = (
            "\u2013"
            if national is None or bool(national.is_suppressed)
            else fmt(national.crude_pct, "da", pct=True, decimals=1)
        )
        text = t["explain_standardisation"].format(
            what=ind.what, strata=ind.strata, cases=ind.cases, national=national_pct
        )
        paragraphs.append(text if len(items) == 1 else f"{ind.title}: {text}")
    return Paragraphs(t["how_to_read"], [*paragraphs, t["explain_limits"], t["explain_caveat"]])


def _figures_row(r, key: str | None) -> list[Cell]:
    """A row's cells: citizens, cases, observed, expected, ratio, intervals, shares, place."""
    t = TEXT_DA
    # The published table says why ('secondary': withheld so that a "<5" cannot be worked out).
    suppressed = withheld(r)

    def cell(measure: str, text: str) -> Cell:
        return Cell(None if key is None else f"{key}|{measure}", text, suppression=suppressed)

    if suppressed == "secondary":
        texts = ["\u2013"] * 9 + [t["protects"]]
    elif suppressed:
        texts = [t["suppressed"]] * 9 + [t["too_few"]]
    else:
        texts = [
            _decimal(r.n_citizens, 0),
            _decimal(r.n_cases, 0),
            _decimal(r.observed, 0),
            _decimal(r.expected, 1),
            _decimal(r.ratio, 2),
            _interval(r.lower_95, r.upper_95),
            _interval(r.lower_998, r.upper_998),
            fmt(r.crude_pct, "da", pct=True, decimals=1),
            fmt(r.adjusted_pct, "da", pct=True, decimals=1),
            POSITION_LABEL.get(r.position, "\u2013"),
        ]
    measures = ("n_citizens", "n_cases", "observed", "expected", "ratio", "interval_95",
                "interval_998", "crude_pct", "adjusted_pct", "position")  # fmt: skip
    return [cell(m, text) for m, text in zip(measures, texts, strict=True)]


def _head(first: str, cases: str) -> list[list[Heading]]:
    t = TEXT_DA
    return [
        headings(
            first, t["n_citizens"], cases, t["observed"],
            t["expected"], t["ratio"], t["interval_95"], t["interval_998"], t["crude_pct"],
            t["adjusted_pct"], t["position"],
        )
    ]  # fmt: skip


def _render(title: str, subtitle: str, blocks: list, footer: str, back: bool) -> str:
    return TEMPLATES.get_template("comparison.html").render(
        lang="da", title=title, subtitle=subtitle, plotly_js=PLOTLY_JS, blocks=blocks,
        footer=footer, back=TEXT_DA["back"] if back else None,
    )  # fmt: skip


def comparison_page(
    frame: pd.DataFrame,
    indicator: str,
    period_label: str,
    name_others: bool,
    names: dict[str, str],
    own_code: str | None = None,
) -> str:
    """One indicator's page for a period: the funnel plot of every municipality, the table of
    them sorted by ratio with intervals and places, and what standardisation and the limits
    mean. Without `name_others` the other municipalities are anonymous points and rows (no name,
    no code), `own_code`'s is named; withheld ones are never drawn."""
    t, ind = TEXT_DA, _indicator(indicator)
    rows, national = _cells(frame, indicator, period_label)
    blocks: list = []
    own = rows[rows.municipality_code == own_code] if own_code else rows.iloc[0:0]
    if not own.empty:
        blocks.append(Paragraphs("", [_own_sentence(next(own.itertuples()), names, indicator)]))
    note = t["funnel_note"].format(what=ind.what)
    if not name_others:
        note += " " + t["anonymous_note"]
    if rows.data_break.fillna(False).astype(bool).any():
        note += " " + t["data_break"]
    if rows.empty:
        blocks.append(Section(t["funnel"], "", css="table", no_data=t["no_rows"]))
    else:
        fig = funnel_figure(
            rows, indicator, names=names, name_others=name_others, highlight=own_code
        )
        blocks.append(Section(t["funnel"], note, figure=figure_html(fig, f"funnel-{indicator}")))

    body: list[Row] = []
    shown = rows[~rows.is_suppressed.astype(bool)].sort_values("ratio", ascending=False)
    withheld = rows[rows.is_suppressed.astype(bool)]
    for r in pd.concat([shown, withheld]).itertuples():
        named = name_others or r.municipality_code == own_code
        if not named and r.is_suppressed:
            continue  # an anonymous withheld row says nothing: counted in the note instead
        name = _name(r.municipality_code, names) if named else t["other"]
        key = f"ind_case_mix|{period_label}|{r.municipality_code}|{indicator}" if named else None
        css = "own" if r.municipality_code == own_code else ""
        body.append(Row(name, _figures_row(r, key), css=css))
    table_note = t["table_note"]
    hidden = int(sum(1 for r in withheld.itertuples() if r.municipality_code != own_code))
    if not name_others and hidden:
        table_note += " " + t["hidden_suppressed"].format(n=hidden)
    blocks.append(Section(t["table"], table_note, css="table",
                          table=Table(_head(t["municipality"], ind.cases.capitalize()), body, t["no_rows"])))  # fmt: skip
    blocks.append(_explanation([(indicator, national)]))
    return _render(
        t["comparison_title"].format(indicator=ind.title),
        t["subtitle"].format(period=period_label),
        blocks,
        t["footer"].format(period=period_label),
        back=True,
    )


def _own_sentence(r, names: dict[str, str], indicator: str) -> str:
    t, ind = TEXT_DA, _indicator(indicator)
    name = _name(r.municipality_code, names)
    if withheld(r) == "secondary":
        return t["withheld_own"].format(name=name, what=ind.what)
    if r.is_suppressed:
        return t["suppressed_own"].format(name=name, what=ind.what)
    start = t["own_sentence"].format(
        name=name, observed=_decimal(r.observed, 0), what=ind.what,
        expected=_decimal(r.expected, 1), ratio=_decimal(r.ratio, 2),
        interval=_interval(r.lower_95, r.upper_95),
    )  # fmt: skip
    if r.position is None:
        return start + "kan ikke placeres i tragten."
    return start + POSITION_SENTENCE[r.position].format(what=ind.what)


def municipality_page(
    frame: pd.DataFrame,
    code: str,
    period_label: str,
    names: dict[str, str],
    name_others: bool = True,
) -> str:
    """One municipality's page for a period: its ratio per indicator with intervals, where it
    falls against the funnel's limits in plain Danish, and each indicator's funnel plot with it
    highlighted (the others named or not, as `name_others`)."""
    t = TEXT_DA
    code = str(code)
    name = _name(code, names)
    indicators = [i for i in INDICATORS if i in set(frame.indicator)]
    indicators += sorted(set(frame.indicator) - set(indicators))
    body, sections, explained = [], [], []
    for indicator in indicators:
        rows, national = _cells(frame, indicator, period_label)
        own = rows[rows.municipality_code == code]
        if own.empty:
            continue
        explained.append((indicator, national))
        r = next(own.itertuples())
        key = f"ind_case_mix|{period_label}|{code}|{indicator}"
        body.append(Row(_indicator(indicator).title, _figures_row(r, key)))
        note = _own_sentence(r, names, indicator)
        if bool(r.data_break):
            note += " " + t["data_break"]
        fig = funnel_figure(rows, indicator, names=names, name_others=name_others, highlight=code)
        sections.append(Section(_indicator(indicator).title, note,
                                figure=figure_html(fig, f"funnel-{indicator}")))  # fmt: skip
    table = Table(_head(t["indicator"], t["cases"]), body, t["no_rows"])
    blocks = [Section(t["figures"], t["figures_note"], css="table", table=table), *sections,
              _explanation(explained)]  # fmt: skip
    return _render(
        t["municipality_title"].format(name=name),
        t["subtitle"].format(period=period_label),
        blocks,
        t["footer"].format(period=period_label),
        back=True,
    )


def comparison_file(indicator: str) -> str:
    return f"sammenligning-{indicator}.html"


def municipality_file(code: str) -> str:
    return f"kommune-{code}.html"


def index_page(
    indicators: list[str],
    period_label: str,
    municipalities: list[tuple[str, str]],
) -> str:
    """The folder's front page: a link per indicator's comparison and per municipality page
    (`municipalities` as (code, name))."""
    t = TEXT_DA
    return TEMPLATES.get_template("comparison-index.html").render(
        lang="da",
        title=t["index_title"],
        subtitle=t["subtitle"].format(period=period_label),
        plotly_js=None,
        t=t,
        indicators=[(comparison_file(i), _indicator(i).title) for i in indicators],
        municipalities=[(municipality_file(c), n) for c, n in municipalities],
        intro=t["index_intro"],
        footer=t["footer"].format(period=period_label),
    )


def write_comparison_pages(
    frame: pd.DataFrame,
    folder: Path,
    names: dict[str, str],
    name_others: bool,
    own_code: str | None = None,
    period_label: str | None = None,
) -> dict:
    """Write the comparison pages for one period (default: the latest rolling four quarters)
    into `folder`, whole (orchestration.files.atomic_folder), with plotly.js once beside them:
    index.html, a comparison page per indicator, and a page per municipality, or, without
    `name_others`, only `own_code`'s (a page per municipality would name them all)."""
    _check_frame(frame)
    frame = frame.assign(municipality_code=frame.municipality_code.astype(str))
    own_code = None if own_code is None else str(own_code)
    period_label = period_label or latest_period(frame)
    rows = frame[frame.period_label == period_label]
    if rows.empty:
        raise ValueError(f"no rows for the period {period_label!r}")
    indicators = [i for i in INDICATORS if i in set(rows.indicator)]
    indicators += sorted(set(rows.indicator) - set(indicators))
    codes = sorted(set(rows.municipality_code) - {NATIONAL})
    if own_code is not None and own_code not in codes:
        raise ValueError(f"municipality {own_code!r} has no rows for {period_label}")
    pages = codes if name_others else [c for c in codes if c == own_code]
    folder = Path(folder)
    with atomic_folder(folder) as incoming:
        shutil.copyfile(PLOTLY_BUNDLE, incoming / PLOTLY_JS)
        for indicator in indicators:
            page = comparison_page(rows, indicator, period_label, name_others, names, own_code)
            (incoming / comparison_file(indicator)).write_text(page, encoding="utf-8")
        for code in pages:
            page = municipality_page(rows, code, period_label, names, name_others)
            (incoming / municipality_file(code)).write_text(page, encoding="utf-8")
        listed = [(c, _name(c, names)) for c in pages]
        listed.sort(key=lambda item: (item[0] != own_code, item[1]))
        (incoming / "index.html").write_text(
            index_page(indicators, period_label, listed), encoding="utf-8"
        )
    return {
        "period_label": period_label,
        "name_others": name_others,
        "own_code": own_code,
        "comparisons": [comparison_file(i) for i in indicators],
        "municipalities": [municipality_file(c) for c in pages],
        "index": str(folder / "index.html"),
    }


@dataclass(frozen=True)
class QuarterComparison:
    """What `write_quarter_comparison` did: the pages written, or why there are none."""

    written: dict | None
    reason: str | None = None  # why nothing was written (one municipality, no case-mix rows)


def write_quarter_comparison(
    snapshot: Path,
    folder: Path,
    name_others: bool,
    own_code: str | None,
) -> QuarterComparison:
    """The comparison pages of a quarter's snapshot (reporting/<quarter>/indicators): its
    rolling four quarters, every municipality named or, without `name_others`, only `own_code`.
    Nothing is written, and the reason returned, when the snapshot holds no `ind_case_mix`
    (published before it was) or fewer than two municipalities (nothing to compare); the
    folder of an earlier run is then removed, so no page outlives the figures it showed."""
    if not name_others and own_code is None:
        raise ValueError(
            "EFFEKT_COMPARISON_NAME_OTHERS=off names only one's own municipality: set "
            "EFFEKT_MUNICIPALITY_CODE to its kommunekode"
        )
    source = Path(snapshot) / "ind_case_mix.parquet"
    frame = pd.read_parquet(source) if source.exists() else None
    reason = None
    if frame is None:
        reason = "the published version holds no ind_case_mix (published before it was)"
    elif len(set(frame.municipality_code.astype(str)) - {NATIONAL}) < 2:
        reason = "the warehouse holds one municipality: nothing to compare"
    if reason:
        shutil.rmtree(folder, ignore_errors=True)
        return QuarterComparison(None, reason)
    written = write_comparison_pages(
        frame, folder, municipality_names(), name_others, own_code=own_code
    )
    return QuarterComparison(written)
