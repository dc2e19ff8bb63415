"""Vectorised simulation of citizens, cases, interventions, assessments, goals and follow-ups.

One call simulates one chunk of citizens with numpy, no per-row Python, and returns typed
pyarrow tables in the contract's column order. Everything is simulated up to the window's end
and then cut at the extract time, so deliveries at two extract times of one seed are two
consistent snapshots of the same history.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from orchestration.contract import codelist
from orchestration.contract.cpr import fictitious_cprs, format_cprs, parse
from orchestration.generate.organisation import UnitPool

DAYS_PER_YEAR = 365.2425
EPOCH = dt.date(1970, 1, 1)
TARGET_GROUPS = np.array(["children", "youth", "adults"])
ADULT_AREAS = np.array(["adult_disability", "adult_psychiatry_social"])
LEGAL_BASES = {
    "children_families": (["SEL_52"], [1.0]),
    "adult_disability": (
        ["SEL_85", "SEL_103", "SEL_104", "SEL_107", "SEL_108"],
        [0.35, 0.15, 0.2, 0.1, 0.2],
    ),
    "adult_psychiatry_social": (
        ["SEL_85", "SEL_101", "SEL_107", "SEL_110", "SEL_97"],
        [0.4, 0.2, 0.15, 0.15, 0.1],
    ),
}
INTERVENTION_TYPES = np.array(["developing", "maintaining", "compensating"])
GOAL_TYPES = np.array(["progression", "maintenance", "regression"])
# P(goal type | intervention type): developing, maintaining
GOAL_TYPE_P = np.array([[0.8, 0.12, 0.08], [0.15, 0.6, 0.25]])
SUB_THEME_P = {  # P(life sub-theme) for children and adults, in life_themes.csv order
    True: [0.25, 0.25, 0.15, 0.1, 0.25],
    False: [0.2, 0.15, 0.25, 0.25, 0.15],
}
FIRST_NAMES = np.array([
    "Søren", "Mette", "Jørgen", "Åse", "Bjørn", "Sørine", "Mads", "Freja", "Ørjan", "Lærke",
    "Anders", "Birthe", "Jens", "Hanne", "Niels", "Kirsten", "Ole", "Grethe", "Rasmus", "Ida",
    "Mikkel", "Signe", "Frederik", "Astrid", "Bøje", "Ellen", "Torben", "Dorthe", "Kåre", "Maja",
])  # fmt: skip
LAST_NAMES = np.array([
    "Jørgensen", "Sørensen", "Nielsen", "Hansen", "Pedersen", "Andersen", "Christensen",
    "Larsen", "Møller", "Kjær", "Lauridsen", "Østergaard", "Bækgaard", "Søndergaard", "Holm",
    "Dalsgaard", "Skovgaard", "Højer", "Fæster", "Lærkesen", "Aagaard", "Bøgh", "Krøyer",
    "Mørch", "Thygesen", "Lund", "Vestergaard", "Ravn", "Brøndum", "Åkjær",
])  # fmt: skip
NOTE_PHRASES = (
    ("Aftalt med ", " at støtten gives to gange om ugen."),
    ("", " deltager i gruppeforløb på tilbuddet."),
    ("Indsatsen for ", " revurderes ved næste opfølgning."),
)
COMMENT_PHRASES = (
    ("", " fortæller, at det går bedre i hverdagen."),
    ("Samtale med ", " og pårørende om mål og ønsker."),
    ("", " har haft en svær periode; støtten øges."),
    ("Opfølgning med ", " gennemført på bostedet."),
)
GOAL_PHRASES = (
    ("", " vil selv kunne handle ind i Føtex."),
    ("", " ønsker at komme i praktik på Østergården."),
    ("", " vil gerne have mere kontakt med sin søster."),
    ("", " skal kunne tage sin medicin uden påmindelse."),
    ("", " vil deltage i fodbold to gange om ugen."),
)
CPR_IN_TEXT_SHARE = 0.03  # caseworkers do paste CPR numbers into free text


@dataclass(frozen=True)
class CaseMix:
    """Who a municipality's citizens are and how they fare. The defaults are the one-municipality
    delivery's; a municipality draws its own (`municipalities.case_mix`)."""

    group_p: tuple[float, float, float] = (0.3, 0.15, 0.55)  # children, youth, adults
    adult_age_max: int = 85  # adults are 18 to this (exclusive) when their first case opens
    progress_mean: float = -0.45  # the citizens' tendency to reach their goals (GAS scale)
    need_range: tuple[float, float] = (0.8, 3.4)  # first support need on the VUM scale
    # Outcomes depend on target group and age, the same way in every municipality (the national
    # model, STRATUM_PROGRESS and ELDERLY_NEED), so a standardised comparison has a case-mix to
    # adjust for. Off for the one-municipality delivery, which keeps its data.
    stratified: bool = False


# The national model's strata effects: on the tendency to reach goals by target group, and on
# both that and the support need for adults 65 or older at their first case.
STRATUM_PROGRESS = np.array([0.15, -0.15, 0.0])  # children, youth, adults
ELDERLY_AGE = 65
ELDERLY_PROGRESS = -0.2
ELDERLY_NEED = 0.35


@dataclass(frozen=True)
class Arrivals:
    """Citizens of another municipality who move into a chunk (a national generation's movers).

    They keep their CPR number, and with it their birth date and sex; their first case here opens
    no earlier than `earliest`.
    """

    index: np.ndarray  # positions in the chunk
    cprs: np.ndarray  # int64 CPR digits, as `fictitious_cprs` gives them
    earliest: np.ndarray  # days since 1970-01-01


def born_and_sex(cprs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Birth days (since 1970-01-01) and is-male of int64 CPR numbers, by the CPR rules."""
    parsed = [parse(str(c)) for c in format_cprs(cprs)]
    born = np.array([(b - EPOCH).days for b, _, _ in parsed], dtype=np.int64)
    return born, np.array([sex == "M" for _, sex, _ in parsed], dtype=bool)


@dataclass(frozen=True)
class Window:
    """The simulated period and the extract's cut, as days since 1970-01-01."""

    start: int
    end: int
    extract_at: int
    vum2_from: int


@dataclass
class IdCounters:
    """Running identifiers across chunks, so keys are unique and deterministic."""

    case: int = 100_000_000
    intervention: int = 200_000_000
    assessment: int = 300_000_000
    goal: int = 400_000_000
    followup: int = 500_000_000

    def take(self, name: str, n: int) -> np.ndarray:
        first = getattr(self, name)
        setattr(self, name, first + n)
        return np.arange(first, first + n, dtype=np.int64)


def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parent index and position within parent for `counts[i]` children of each parent i."""
    counts = counts.astype(np.int64)
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    position = np.arange(counts.sum()) - np.repeat(starts, counts)
    return parent, position


def exact_age(born: np.ndarray, on: np.ndarray) -> np.ndarray:
    """Completed years between two day arrays, with birthdays counted exactly."""
    b = born.astype("datetime64[D]")
    d = on.astype("datetime64[D]")
    by, dy = b.astype("datetime64[Y]").astype(np.int64), d.astype("datetime64[Y]").astype(np.int64)
    # Compare month and day, not day of year, so leap years do not shift birthdays.
    bm = b.astype("datetime64[M]").astype(np.int64) % 12
    dm = d.astype("datetime64[M]").astype(np.int64) % 12
    bd = (b - b.astype("datetime64[M]")).astype(np.int64)
    dd = (d - d.astype("datetime64[M]")).astype(np.int64)
    before_birthday = (dm < bm) | ((dm == bm) & (dd < bd))
    return dy - by - before_birthday.astype(np.int64)


def _text(phrases: tuple[tuple[str, str], ...], names: np.ndarray, rng) -> pa.Array:
    """Free text from phrase templates around a first name, vectorised with pyarrow."""
    pick = rng.integers(0, len(phrases), len(names))
    pre = pa.array([p[0] for p in phrases]).take(pa.array(pick))
    post = pa.array([p[1] for p in phrases]).take(pa.array(pick))
    return pc.binary_join_element_wise(pre, pa.array(names), post, "")


def _with_cpr(text: pa.Array, cprs: np.ndarray, rng) -> pa.Array:
    """Put the citizen's CPR number into a few texts, as caseworkers do."""
    mask = pa.array(rng.random(len(cprs)) < CPR_IN_TEXT_SHARE)
    suffix = pc.binary_join_element_wise(pa.scalar(" CPR: "), pa.array(cprs), "")
    return pc.if_else(mask, pc.binary_join_element_wise(text, suffix, ""), text)


def _null_after(days: np.ndarray, cut: int) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), mask=days > cut, type=pa.date32())


def _date(days: np.ndarray) -> pa.Array:
    return pa.array(days.astype("datetime64[D]"), type=pa.date32())


def simulate_chunk(
    n: int,
    window: Window,
    pools: dict[tuple[str, str], UnitPool],
    caseworkers_per_unit: int,
    ids: IdCounters,
    used_cprs: set[int],
    rng: np.random.Generator,
    mix: CaseMix = CaseMix(),
    arrivals: Arrivals | None = None,
    roster: list[tuple[np.ndarray, np.ndarray]] | None = None,
) -> dict[str, pa.Table]:
    """Simulate `n` citizens and everything recorded about them up to the extract time.

    `arrivals` replaces some of the chunk's citizens by movers from another municipality;
    `roster`, if given, gets the CPR numbers and first-case days of the chunk's own citizens in
    the extract, of whom a national generation picks the movers to other municipalities.
    """
    w = window
    x = w.extract_at

    # Citizens: who they are and when their first case opened.
    group = rng.choice(3, n, p=list(mix.group_p))
    entry = rng.integers(w.start - 730, w.end + 1, n)
    age_at_entry = np.select(
        [group == 0, group == 1], [rng.integers(1, 14, n), rng.integers(14, 18, n)],
        rng.integers(18, mix.adult_age_max, n),
    )  # fmt: skip
    born = entry - (age_at_entry * DAYS_PER_YEAR).astype(np.int64) - rng.integers(0, 365, n)
    born = avoid_new_year(born)
    is_male = rng.random(n) < 0.5
    if arrivals is None:
        cpr_numbers = unique_cprs(born, is_male, used_cprs, rng)
        own = np.ones(n, bool)
    else:
        own = np.ones(n, bool)
        own[arrivals.index] = False
        group, entry, born, is_male = _arrive(arrivals, group, entry, born, is_male, x)
        cpr_numbers = np.empty(n, np.int64)
        cpr_numbers[own] = unique_cprs(born[own], is_male[own], used_cprs, rng)
        cpr_numbers[~own] = arrivals.cprs
    if roster is not None:
        mine = own & (entry <= x)
        roster.append((cpr_numbers[mine], entry[mine]))
    cprs = format_cprs(cpr_numbers)
    first_names = FIRST_NAMES[rng.integers(0, len(FIRST_NAMES), n)]
    adult_area = ADULT_AREAS[rng.integers(0, 2, n)]
    if mix.stratified:
        elderly = exact_age(born, entry) >= ELDERLY_AGE
        progress_mean = mix.progress_mean + STRATUM_PROGRESS[group] + ELDERLY_PROGRESS * elderly
    else:
        progress_mean, elderly = mix.progress_mean, 0
    progress = rng.normal(progress_mean, 0.55, n)  # citizen's tendency to reach goals
    need0 = rng.uniform(*mix.need_range, n) + ELDERLY_NEED * elderly  # on the VUM scale
    need_drift = rng.normal(-0.12, 0.35, n)  # change per assessment

    citizens = pa.table({
        "cpr": cprs,
        "first_name": first_names,
        "last_name": LAST_NAMES[rng.integers(0, len(LAST_NAMES), n)],
        "target_group": TARGET_GROUPS[group],
    }).filter(pa.array(entry <= x))  # fmt: skip

    # Cases: one to three in sequence per citizen.
    n_cases = 1 + (rng.random(n) < 0.25) + (rng.random(n) < 0.05)
    c_cit, c_pos = expand(n_cases)
    duration = (rng.exponential(700, len(c_cit)) + 60).astype(np.int64)
    gap = rng.integers(30, 400, len(c_cit))
    step = duration + gap
    first_in_group = np.repeat(np.cumsum(n_cases) - n_cases, n_cases)
    offset = np.cumsum(step) - step
    offset = offset - offset[first_in_group]
    c_open = entry[c_cit] + offset
    keep = c_open <= w.end
    c_cit, c_pos, c_open, duration = c_cit[keep], c_pos[keep], c_open[keep], duration[keep]
    c_close = c_open + duration
    nc = len(c_cit)
    c_id = ids.take("case", nc)
    c_age = exact_age(born[c_cit], c_open)
    c_area = np.where(c_age < 18, "children_families", adult_area[c_cit])
    c_unit = np.empty(nc, dtype=object)
    c_legal = np.empty(nc, dtype=object)
    c_worker = np.empty(nc, dtype=object)
    for area, (bases, p) in LEGAL_BASES.items():
        m = c_area == area
        pool = pools[area, "authority"]
        picked = pool.pick_active(c_open[m], rng)
        c_unit[m] = pool.ids[picked]
        c_legal[m] = np.array(bases)[rng.choice(len(bases), m.sum(), p=p)]
        c_worker[m] = np.char.add(
            np.char.add(np.char.replace(pool.ids[picked].astype(str), "ORG-", "SB"), "-"),
            np.char.zfill(rng.integers(0, caseworkers_per_unit, m.sum()).astype(str), 3),
        )
    c_end = np.minimum(c_close, w.end)  # last day anything can happen in the case
    cases = pa.table({
        "case_id": c_id,
        "cpr": cprs[c_cit],
        "authority_org_unit_id": c_unit.astype(str),
        "caseworker_id": c_worker.astype(str),
        "legal_basis": c_legal.astype(str),
        "opened_on": _date(c_open),
        "closed_on": _null_after(c_close, x),
    }).filter(pa.array(c_open <= x))  # fmt: skip

    # Interventions: one to three per case, each delivered by a provider of the case's area.
    n_int = 1 + (rng.random(nc) < 0.45) + (rng.random(nc) < 0.15)
    i_case, i_pos = expand(n_int)
    i_start = (
        c_open[i_case]
        + rng.integers(0, 60, len(i_case))
        + i_pos * rng.integers(0, 200, len(i_case))
    )
    keep = i_start <= c_end[i_case]
    i_case, i_start = i_case[keep], i_start[keep]
    ni = len(i_case)
    i_end = np.minimum(i_start + (rng.exponential(450, ni) + 30).astype(np.int64), c_close[i_case])
    i_type = rng.choice(3, ni, p=[0.45, 0.35, 0.2])
    i_provider = np.empty(ni, dtype=object)
    i_area = c_area[i_case]
    for area in LEGAL_BASES:
        m = i_area == area
        pool = pools[area, "provider"]
        i_provider[m] = pool.ids[pool.pick_active(i_start[m], rng)]
    i_id = ids.take("intervention", ni)
    i_names = first_names[c_cit[i_case]]
    interventions = pa.table({
        "intervention_id": i_id,
        "case_id": c_id[i_case],
        "provider_org_unit_id": i_provider.astype(str),
        "intervention_type": INTERVENTION_TYPES[i_type],
        "legal_basis": c_legal[i_case].astype(str),
        "started_on": _date(i_start),
        "ended_on": _null_after(i_end, min(x, w.end)),
        "note": _text(NOTE_PHRASES, i_names, rng),
    }).filter(pa.array(i_start <= x))  # fmt: skip

    # Goals: one to three per developing or maintaining intervention, the first at the top.
    with_goals = np.flatnonzero(i_type < 2)
    n_goals = 1 + (rng.random(len(with_goals)) < 0.5) + (rng.random(len(with_goals)) < 0.2)
    g_par, g_pos = expand(n_goals)
    g_int = with_goals[g_par]
    # Later goals are set on or after the first, so a parent is never newer than its child.
    g_first_set = i_start[with_goals] + rng.integers(0, 45, len(with_goals))
    g_set = g_first_set[g_par] + g_pos * rng.integers(0, 30, len(g_int))
    i_last = np.minimum(i_end, w.end)
    keep = g_set <= i_last[g_int]
    g_par, g_pos, g_int, g_set = g_par[keep], g_pos[keep], g_int[keep], g_set[keep]
    ng = len(g_int)
    g_id = ids.take("goal", ng)
    g_cit = c_cit[i_case[g_int]]
    is_child = c_area[i_case[g_int]] == "children_families"
    g_sub = np.where(
        is_child,
        rng.choice(5, ng, p=SUB_THEME_P[True]),
        rng.choice(5, ng, p=SUB_THEME_P[False]),
    )
    life = codelist("life_themes")
    u = rng.random(ng)
    cdf = np.cumsum(GOAL_TYPE_P, axis=1)[i_type[g_int]]
    g_type = (u[:, None] > cdf).sum(axis=1)
    # Parent: the intervention's first goal, for half of the later goals.
    first_goal = np.flatnonzero(g_pos == 0)
    first_of = first_goal[np.searchsorted(first_goal, np.arange(ng), side="right") - 1]
    has_parent = (g_pos > 0) & (rng.random(ng) < 0.5)
    g_weight = np.where(rng.random(ng) < 0.8, 1.0, rng.choice([0.5, 1.5, 2.0, 2.5], ng))
    g_due = g_set + rng.integers(120, 400, ng)
    goals = pa.table({
        "goal_id": g_id,
        "intervention_id": i_id[g_int],
        "parent_goal_id": pa.array(g_id[first_of], mask=~has_parent, type=pa.int64()),
        "life_theme": np.array([r["life_theme"] for r in life])[g_sub],
        "sub_theme": np.array([r["sub_theme"] for r in life])[g_sub],
        "goal_type": GOAL_TYPES[g_type],
        "weight": g_weight,
        "set_on": _date(g_set),
        "due_on": _date(g_due),
        "description": _text(GOAL_PHRASES, first_names[g_cit], rng),
    }).filter(pa.array(g_set <= x))  # fmt: skip

    # Follow-ups: quarterly while the goal runs; about one in eight is missed.
    g_stop = np.minimum(g_due, i_last[g_int])
    n_fu = np.maximum((g_stop - g_set) // 91, 0)
    f_goal, f_pos = expand(n_fu)
    f_date = g_set[f_goal] + 91 * (f_pos + 1) + rng.integers(-14, 15, len(f_goal))
    f_date = np.minimum(np.maximum(f_date, g_set[f_goal] + 1), w.end)
    goal_effect = rng.normal(0, 0.5, ng)
    latent = (
        progress[g_cit[f_goal]]
        + goal_effect[f_goal]
        + 0.06 * f_pos
        + rng.normal(0, 0.75, len(f_goal))
    )
    f_score = np.clip(np.rint(latent), -2, 2).astype(np.int64)
    # Draws and identifiers never depend on the extract time: cut at it only when tabling.
    kept = rng.random(len(f_goal)) >= 0.12
    f_goal, f_date, f_score = f_goal[kept], f_date[kept], f_score[kept]
    nf = len(f_goal)
    f_cit = g_cit[f_goal]
    f_comment = _with_cpr(_text(COMMENT_PHRASES, first_names[f_cit], rng), cprs[f_cit], rng)
    followups = pa.table({
        "followup_id": ids.take("followup", nf),
        "goal_id": g_id[f_goal],
        "followed_up_on": _date(f_date),
        "gas_score": f_score,
        "caseworker_id": c_worker[i_case[g_int[f_goal]]].astype(str),
        "comment": pc.if_else(pa.array(rng.random(nf) < 0.4), f_comment, pa.nulls(nf, pa.string())),
    }).filter(pa.array(f_date <= x))  # fmt: skip

    assessments, scores = _assessments(
        w, c_cit, c_id, c_open, c_end, c_unit, born, cprs, first_names, need0, need_drift, ids, rng
    )
    return {
        "citizens": citizens,
        "cases": cases,
        "interventions": interventions,
        "assessments": assessments,
        "assessment_scores": scores,
        "goals": goals,
        "goal_followups": followups,
    }


def _arrive(arrivals: Arrivals, group, entry, born, is_male, extract_at: int):
    """Put the movers in their places: their own birth date and sex, a first case here no
    earlier than `earliest` (and by the extract), and the target group of their age then."""
    group, entry, born, is_male = group.copy(), entry.copy(), born.copy(), is_male.copy()
    i = arrivals.index
    born[i], is_male[i] = born_and_sex(arrivals.cprs)
    entry[i] = np.minimum(np.maximum(entry[i], arrivals.earliest), extract_at)
    age = exact_age(born[i], entry[i])
    group[i] = np.where(age < 14, 0, np.where(age < 18, 1, 2))
    return group, entry, born, is_male


def _assessments(w, c_cit, c_id, c_open, c_end, c_unit, born, cprs, first_names, need0, drift,
                 ids, rng):  # fmt: skip
    """Assessments at case start and then about yearly, with scores per theme or sub-theme."""
    nc = len(c_cit)
    first = c_open + rng.integers(0, 45, nc)
    interval = rng.integers(180, 400, nc)
    n_ass = np.where(first <= c_end, 1 + (c_end - first) // interval, 0)
    n_ass = np.minimum(n_ass, 12)
    a_case, a_pos = expand(n_ass)
    a_date = first[a_case] + a_pos * interval[a_case]
    na = len(a_case)
    a_cit = c_cit[a_case]
    age = exact_age(born[a_cit], a_date)
    instrument = np.where(
        age < 18, 2, np.where(a_date < w.vum2_from, 0, 1)
    )  # VUM2008, VUM2, DIALOG
    a_id = ids.take("assessment", na)
    need = np.clip(need0[a_cit] + drift[a_cit] * a_pos + rng.normal(0, 0.25, na), 0, 4)
    visible = a_date <= w.extract_at
    a_text = _with_cpr(_text(COMMENT_PHRASES, first_names[a_cit], rng), cprs[a_cit], rng)
    assessments = pa.table({
        "assessment_id": a_id,
        "cpr": cprs[a_cit],
        "case_id": c_id[a_case],
        "instrument": np.array(["VUM2008", "VUM2", "DIALOG"])[instrument],
        "assessed_on": _date(a_date),
        "assessor_org_unit_id": c_unit[a_case].astype(str),
        "comment": pc.if_else(pa.array(rng.random(na) < 0.5), a_text, pa.nulls(na, pa.string())),
    }).filter(pa.array(visible))  # fmt: skip

    items = _instrument_items()
    counts = np.array([len(items[i][0]) for i in range(3)])[instrument]
    s_ass, s_pos = expand(counts)
    s_instr = instrument[s_ass]
    item_offset = np.array([0, len(items[0][0]), len(items[0][0]) + len(items[1][0])])
    all_themes = np.concatenate([items[i][0] for i in range(3)])
    all_subs = np.concatenate([items[i][1] for i in range(3)])
    all_shift = np.concatenate([items[i][2] for i in range(3)])
    item = item_offset[s_instr] + s_pos
    raw = need[s_ass] + all_shift[item] + rng.normal(0, 0.55, len(s_ass))
    vum = np.clip(np.rint(raw), 0, 4)
    dialog = np.clip(np.rint(10 - 9 * np.clip(raw, 0, 4) / 4), 1, 10)
    score = np.where(s_instr == 2, dialog, vum).astype(np.int64)
    subs = all_subs[item]
    scores = pa.table({
        "assessment_id": a_id[s_ass],
        "theme": all_themes[item],
        "sub_theme": pa.array(subs, mask=subs == "", type=pa.string()),
        "score": score,
    }).filter(pa.array(visible[s_ass]))  # fmt: skip
    return assessments, scores


_ITEMS: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None
THEME_SHIFT = {  # themes differ in how much support they need, on the VUM scale
    "practical_tasks_at_home": 0.3, "self_care": -0.2, "mobility": -0.6, "communication": -0.3,
    "community_life": 0.4, "social_life": 0.3, "health": 0.1, "overall": 0.0,
    "school_daycare_employment": 0.2, "family_relations": 0.0, "leisure_and_friendships": 0.1,
    "development_and_behaviour": 0.3,
}  # fmt: skip


def _instrument_items() -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(themes, sub_themes, score shifts) scored by VUM2008 (0), VUM2 (1) and DIALOG (2)."""
    global _ITEMS
    if _ITEMS is None:
        themes = codelist("assessment_themes")
        vum = [t["theme"] for t in themes if t["instrument_family"] == "VUM"]
        dialog = [t["theme"] for t in themes if t["instrument_family"] == "DIALOG"]
        cross = codelist("vum2_crosswalk")

        def arrays(th, sub):
            return np.array(th), np.array(sub), np.array([THEME_SHIFT[t] for t in th])

        _ITEMS = {
            0: arrays(vum, [""] * len(vum)),
            1: arrays([c["vum_theme"] for c in cross], [c["sub_theme"] for c in cross]),
            2: arrays(dialog, [""] * len(dialog)),
        }
    return _ITEMS


def avoid_new_year(born: np.ndarray) -> np.ndarray:
    """Move 1 January birthdays a day on: fictitious CPR numbers cannot use them (see cpr.py)."""
    d = born.astype("datetime64[D]")
    new_year = d == d.astype("datetime64[Y]").astype("datetime64[D]")
    return born + new_year.astype(np.int64)


def unique_cprs(born, is_male, used: set[int], rng) -> np.ndarray:
    numbers = fictitious_cprs(born, is_male, rng)
    while True:
        clash = np.fromiter((int(v) in used for v in numbers), bool, len(numbers))
        _, first = np.unique(numbers, return_index=True)
        repeat = np.ones(len(numbers), bool)
        repeat[first] = False
        redo = clash | repeat
        if not redo.any():
            break
        numbers[redo] = fictitious_cprs(born[redo], is_male[redo], rng)
    used.update(numbers.tolist())
    return numbers
