"""The pandas baseline: the indicator definitions of DOMAIN.md written again in pandas.

Starts from the staged tables and is deliberately independent of the dbt models: written from
the definitions, not from the SQL, so that the two agreeing means something. Straightforward
pandas, as an analyst would write it; the benchmark times it against the pipeline and the
warehouse tests compare every published cell with it. Returns unsuppressed cells; suppression is
checked separately.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from orchestration.contract import codelist

RHO = 0.3
CHANGE_DATE = pd.Timestamp("2017-05-15")
INTERVAL, GRACE = 91, 14
STEP = {"VUM": 1 / 4, "DIALOG": 1 / 9}
# VUM2008's overall assessment is "a judgement, not an average" (DOMAIN.md) and VUM2 has none:
# a family's `all` pools its themes only, so it means the same on both sides of the 2017 break.
JUDGEMENTS = {("VUM", "overall")}


class Staged:
    """The staging tables as DataFrames with proper dates."""

    def __init__(self, query) -> None:
        def load(name: str, columns: str = "*") -> pd.DataFrame:
            df = query(f"select {columns} from staging.{name}")
            for column in df.columns:
                if column.endswith("_on") or column == "extract_date":
                    df[column] = pd.to_datetime(df[column])
            return df

        self.org_units = load("stg_org_units")
        self.cases = load("stg_cases")
        self.interventions = load("stg_interventions")
        self.assessments = load("stg_assessments")
        self.scores = load("stg_assessment_scores", "assessment_id, theme, sub_theme, score")
        self.goals = load("stg_goals")
        self.followups = load("stg_goal_followups")
        self.quarantine = load("stg_quarantine")
        self.row_date = pd.to_datetime(self.quarantine["row_date"])
        self.extract = load("stg_current_delivery")["extract_date"].iloc[0]


def periods(staged: Staged) -> pd.DataFrame:
    first = min(staged.followups["followed_up_on"].min(), staged.assessments["assessed_on"].min())
    extract = staged.extract
    quarters = []
    start = pd.Timestamp(year=first.year, month=1, day=1)
    while start <= extract:
        end = start + pd.offsets.QuarterEnd(0)
        quarters.append((f"{start.year}Q{start.quarter}", start, end))
        start = end + pd.Timedelta(days=1)
    rows = [("quarter", label, s, e) for label, s, e in quarters]
    for i in range(3, len(quarters)):
        rows.append(
            (
                "rolling_4q",
                f"{quarters[i - 3][0]}-{quarters[i][0]}",
                quarters[i - 3][1],
                quarters[i][2],
            )
        )
    for _label, s, _ in quarters:
        if s.quarter == 1:
            rows.append(("year", str(s.year), s, pd.Timestamp(year=s.year, month=12, day=31)))
    df = pd.DataFrame(rows, columns=["period_type", "period_label", "start", "end"])
    df["observed_end"] = df["end"].clip(upper=extract)
    df["spans_break"] = (df["start"] < CHANGE_DATE) & (df["end"] >= CHANGE_DATE)
    return df


def ancestors(staged: Staged) -> pd.DataFrame:
    units = staged.org_units.set_index("org_unit_id")
    rows = []
    for leaf, unit in units[(units["org_level"] == 3) & units["org_role"].notna()].iterrows():
        node = leaf
        while isinstance(node, str):
            rows.append((leaf, unit["org_role"], int(units.loc[node, "org_level"]), node))
            node = units.loc[node, "parent_org_unit_id"]
    return pd.DataFrame(rows, columns=["leaf", "org_role", "org_level", "org_unit_id"])


def attribute(df: pd.DataFrame, anc: pd.DataFrame, leaf_columns: dict[str, str]) -> pd.DataFrame:
    """Rows repeated for every unit they count for: {role: column holding the level-3 unit}."""
    parts = []
    for role, column in leaf_columns.items():
        a = anc[anc["org_role"] == role]
        parts.append(df.merge(a, left_on=column, right_on="leaf"))
    return pd.concat(parts, ignore_index=True)


def in_periods(df: pd.DataFrame, per: pd.DataFrame, date_column: str) -> pd.DataFrame:
    """Rows repeated for every period their date falls in, one period at a time (a cross join
    with all periods before filtering needs rows x periods of memory: 24 GB at tier M)."""
    parts = [
        df[(df[date_column] >= p["start"]) & (df[date_column] <= p["end"])].assign(**p)
        for p in per.to_dict("records")
    ]
    return pd.concat(parts, ignore_index=True) if parts else df.assign(**{c: None for c in per})


CELL = ["period_type", "period_label", "org_role", "org_unit_id"]


def goal_facts(staged: Staged) -> pd.DataFrame:
    return staged.goals.merge(
        staged.interventions[["intervention_id", "case_id", "provider_org_unit_id", "ended_on"]],
        on="intervention_id",
    ).merge(staged.cases[["case_id", "citizen_key", "authority_org_unit_id"]], on="case_id")


def latest_followups(staged: Staged, per: pd.DataFrame) -> pd.DataFrame:
    fu = in_periods(staged.followups, per, "followed_up_on")
    fu = fu.sort_values(["followed_up_on", "followup_id"])
    latest = fu.groupby(["period_type", "period_label", "goal_id"]).tail(1)
    goals = goal_facts(staged)[["goal_id", "citizen_key", "weight", "life_theme", "sub_theme",
                                "goal_type", "provider_org_unit_id", "authority_org_unit_id"]]  # fmt: skip
    latest = latest.merge(goals, on="goal_id")
    latest["achieved"] = latest["gas_score"] >= 0
    return latest


def t_score(sum_wx, sum_w2, sum_w):
    """Kiresuk and Sherman's T from a citizen's sums over their followed-up goals."""
    return 50 + 10 * sum_wx / np.sqrt((1 - RHO) * sum_w2 + RHO * sum_w**2)


def goal_attainment(staged: Staged) -> pd.DataFrame:
    per = periods(staged)
    anc = ancestors(staged)
    latest = latest_followups(staged, per)[["period_type", "period_label", "goal_id", "citizen_key", "weight",
                                            "gas_score", "achieved", "life_theme", "sub_theme",
                                            "provider_org_unit_id", "authority_org_unit_id"]]  # fmt: skip
    keys = [*CELL, "life_theme", "sub_theme"]
    out = []
    # One period at a time: cells never span periods, and all at once needs ~10 GB at tier M.
    for _, in_period in latest.groupby(["period_type", "period_label"]):
        goals = attribute(
            in_period,
            anc,
            {"provider": "provider_org_unit_id", "authority": "authority_org_unit_id"},
        )
        goals = goals.assign(wx=goals["weight"] * goals["gas_score"], w2=goals["weight"] ** 2)
        themed = pd.concat([goals, goals.assign(sub_theme="all"),
                            goals.assign(life_theme="all", sub_theme="all")], ignore_index=True)  # fmt: skip
        per_citizen = themed.groupby([*keys, "citizen_key"]).agg(
            n=("goal_id", "size"), share=("achieved", "mean"), wx=("wx", "sum"), w2=("w2", "sum"),
            w=("weight", "sum"),
        ).reset_index()  # fmt: skip
        per_citizen["t"] = t_score(per_citizen["wx"], per_citizen["w2"], per_citizen["w"])
        cells = per_citizen.groupby(keys).agg(
            n_citizens=("citizen_key", "nunique"), n_goals=("n", "sum"),
            avg_goal_attainment_pct=("share", "mean"), avg_gas_t_score=("t", "mean"),
        ).reset_index()  # fmt: skip
        cells["avg_goal_attainment_pct"] *= 100
        out.append(cells)
    return pd.concat(out, ignore_index=True)


def goal_type_achievement(staged: Staged) -> pd.DataFrame:
    per = periods(staged)
    goals = attribute(
        latest_followups(staged, per), ancestors(staged),
        {"provider": "provider_org_unit_id", "authority": "authority_org_unit_id"},
    )  # fmt: skip
    typed = pd.concat([goals, goals.assign(goal_type="all")], ignore_index=True)
    out = (
        typed.groupby([*CELL, "goal_type"])
        .agg(
            n_goals=("goal_id", "size"),
            n_achieved=("achieved", "sum"),
            n_citizens=("citizen_key", "nunique"),
        )
        .reset_index()
    )
    out["pct_achieved"] = 100 * out["n_achieved"] / out["n_goals"]
    out["pct_not_achieved"] = 100 - out["pct_achieved"]
    return out


def theme_scores(staged: Staged) -> pd.DataFrame:
    crosswalk = {r["sub_theme"]: r["vum_theme"] for r in codelist("vum2_crosswalk")}
    family = {r["instrument"]: r["instrument_family"] for r in codelist("instruments")}
    # Sub-theme scores to theme scores on the narrow scores table, then the assessments' columns:
    # scores are ~87% of all rows, so merging first would copy every assessment column 30 times.
    s = staged.scores[["assessment_id", "theme", "sub_theme", "score"]]
    sub = s[s["sub_theme"].notna()].assign(theme=lambda d: d["sub_theme"].map(crosswalk))
    sub = sub.groupby(["assessment_id", "theme"])["score"].mean().reset_index()
    sub["score"] = np.floor(sub["score"] + 0.5)
    whole = s[s["sub_theme"].isna()][["assessment_id", "theme", "score"]]
    assessments = staged.assessments[
        ["assessment_id", "citizen_key", "case_id", "instrument", "assessed_on"]
    ]
    out = pd.concat([sub, whole], ignore_index=True).merge(assessments, on="assessment_id")
    out["family"] = out["instrument"].map(family)
    out["need"] = np.where(out["family"] == "VUM", out["score"] / 4, (10 - out["score"]) / 9)
    return out


def ability_changes(staged: Staged) -> pd.DataFrame:
    s = theme_scores(staged).sort_values(["assessed_on", "assessment_id"])
    g = s.groupby(["citizen_key", "family", "theme"])
    s["prev_need"] = g["need"].shift()
    s["prev_on"] = g["assessed_on"].shift()
    s["prev_instrument"] = g["instrument"].shift()
    s = s[s["prev_need"].notna()].copy()
    step = s["family"].map(STEP) - 1e-6
    s["change"] = np.where(s["prev_need"] - s["need"] >= step, "improved",
                           np.where(s["need"] - s["prev_need"] >= step, "worsened", "unchanged"))  # fmt: skip
    s["crosses"] = s["prev_instrument"] != s["instrument"]
    return s.merge(staged.cases[["case_id", "authority_org_unit_id"]], on="case_id")


def functional_ability(staged: Staged) -> pd.DataFrame:
    per = periods(staged)
    anc = ancestors(staged)
    ints = staged.interventions[["case_id", "provider_org_unit_id", "started_on", "ended_on"]]
    # Only the columns used below: every further join multiplies the rows (providers, levels).
    changes = ability_changes(staged)[["citizen_key", "family", "theme", "assessed_on", "assessment_id",
                                       "prev_on", "change", "crosses", "case_id", "authority_org_unit_id"]]  # fmt: skip
    keys = [*CELL, "family", "theme", "citizen_key", "change", "crosses"]
    out = []
    # One period at a time: cells never span periods, and all at once needs over 24 GB at tier M.
    for _, ch in in_periods(changes, per[["period_type", "period_label", "start", "end"]],
                            "assessed_on").groupby(["period_type", "period_label"]):  # fmt: skip
        ch = ch.sort_values(["assessed_on", "assessment_id"])
        latest = ch.groupby(["citizen_key", "family", "theme"]).tail(1)
        by_authority = attribute(latest, anc, {"authority": "authority_org_unit_id"})
        prov = latest.merge(ints, on="case_id")
        prov = prov[(prov["started_on"] <= prov["assessed_on"])
                    & (prov["ended_on"].isna() | (prov["ended_on"] >= prov["prev_on"]))]  # fmt: skip
        by_provider = attribute(prov, anc, {"provider": "provider_org_unit_id"})
        both = pd.concat([by_authority, by_provider], ignore_index=True)[keys].drop_duplicates()
        judgement = pd.MultiIndex.from_frame(both[["family", "theme"]]).isin(JUDGEMENTS)
        themed = pd.concat([both, both[~judgement].assign(theme="all")], ignore_index=True)
        for k in ("improved", "unchanged", "worsened"):
            themed[k] = themed["change"] == k
        out.append(themed.groupby([*CELL, "family", "theme"]).agg(
            n=("citizen_key", "size"), n_citizens=("citizen_key", "nunique"),
            improved=("improved", "sum"), unchanged=("unchanged", "sum"), worsened=("worsened", "sum"),
            crossing=("crosses", "any"),
        ).reset_index())  # fmt: skip
    out = pd.concat(out, ignore_index=True)
    for k in ("improved", "unchanged", "worsened"):
        out[f"pct_{k}"] = 100 * out[k] / out["n"]
    out = out.merge(
        per[["period_type", "period_label", "spans_break"]], on=["period_type", "period_label"]
    )
    out["data_break"] = out["spans_break"] | out["crossing"]
    return out.rename(columns={"family": "instrument_family"})


def key_figures(staged: Staged) -> pd.DataFrame:
    per = periods(staged)
    anc = ancestors(staged)
    figures = []

    def add(
        df: pd.DataFrame, figure: str, unit: str, value, citizens_of=None, breakdown=None
    ) -> None:
        """One figure per cell; n_citizens counts the citizens of the rows `citizens_of` marks."""
        keys = CELL + ([breakdown] if breakdown else [])
        grouped = df.groupby(keys)
        who = df if citizens_of is None else df[df[citizens_of]]
        n = who.groupby(keys)["citizen_key"].nunique().reindex(grouped.size().index, fill_value=0)
        out = pd.DataFrame({"value": value(grouped), "n_citizens": n}).reset_index()
        out["breakdown"] = out[breakdown] if breakdown else "all"
        out["figure"], out["unit"] = figure, unit
        figures.append(out[[*CELL, "figure", "breakdown", "value", "unit", "n_citizens"]])

    c = staged.cases.merge(per, how="cross")
    c = c[
        (c["opened_on"] <= c["end"]) & (c["closed_on"].isna() | (c["closed_on"] >= c["start"]))
    ].copy()
    c["new"] = (c["opened_on"] >= c["start"]) & (c["opened_on"] <= c["end"])
    c["closed"] = (c["closed_on"] >= c["start"]) & (c["closed_on"] <= c["end"])
    c = attribute(c, anc, {"authority": "authority_org_unit_id"})
    add(c, "active_cases", "cases", lambda g: g.size())
    add(c, "new_cases", "cases", lambda g: g["new"].sum(), citizens_of="new")
    add(c, "closed_cases", "cases", lambda g: g["closed"].sum(), citizens_of="closed")
    add(
        c,
        "cases_per_caseworker",
        "cases_per_caseworker",
        lambda g: g.size() / g["caseworker_id"].nunique(),
    )

    goals = goal_facts(staged)
    first_goal = goals.groupby("intervention_id")["set_on"].min()
    i = staged.interventions.merge(
        staged.cases[["case_id", "citizen_key", "authority_org_unit_id"]], on="case_id"
    )
    i = i.merge(per, how="cross")
    i = i[
        (i["started_on"] <= i["end"]) & (i["ended_on"].isna() | (i["ended_on"] >= i["start"]))
    ].copy()
    i["ended_in"] = (i["ended_on"] >= i["start"]) & (i["ended_on"] <= i["end"])
    i["days"] = (i["ended_on"] - i["started_on"]).dt.days
    i["has_goal"] = i["intervention_id"].map(first_goal) <= i["end"]
    i = attribute(
        i, anc, {"provider": "provider_org_unit_id", "authority": "authority_org_unit_id"}
    )
    add(i, "active_interventions", "interventions", lambda g: g.size())
    add(i, "active_interventions", "interventions", lambda g: g.size(), breakdown="legal_basis")
    add(i[i["ended_in"]], "median_intervention_days", "days", lambda g: g["days"].median())
    dev = i[i["intervention_type"].isin(["developing", "maintaining"])]
    add(dev, "share_interventions_with_goals", "percent", lambda g: 100 * g["has_goal"].mean())

    fu = staged.followups.merge(goals[["goal_id", "set_on", "citizen_key", "provider_org_unit_id",
                                       "authority_org_unit_id"]], on="goal_id")  # fmt: skip
    fu = fu.sort_values(["followed_up_on", "followup_id"])
    previous = fu.groupby("goal_id")["followed_up_on"].shift().fillna(fu["set_on"])
    fu["on_time"] = (fu["followed_up_on"] - previous).dt.days <= INTERVAL + GRACE
    roles = {"provider": "provider_org_unit_id", "authority": "authority_org_unit_id"}
    f = attribute(in_periods(fu, per, "followed_up_on"), anc, roles)
    add(f, "share_followups_on_time", "percent", lambda g: 100 * g["on_time"].mean())

    g = goals.merge(per, how="cross")
    g = g[(g["set_on"] <= g["observed_end"]) & (g["due_on"] >= g["observed_end"])
          & (g["ended_on"].isna() | (g["ended_on"] >= g["observed_end"]))]  # fmt: skip
    last = fu[["goal_id", "followed_up_on"]].merge(
        g[["goal_id", "period_type", "period_label", "observed_end"]], on="goal_id"
    )
    last = last[last["followed_up_on"] <= last["observed_end"]]
    last = last.groupby(["goal_id", "period_type", "period_label"])["followed_up_on"].max()
    g = g.merge(
        last.rename("last_fu").reset_index(),
        on=["goal_id", "period_type", "period_label"],
        how="left",
    )
    g["overdue"] = (g["observed_end"] - g["last_fu"].fillna(g["set_on"])).dt.days > INTERVAL + GRACE
    g = attribute(g, anc, roles)
    add(g, "overdue_followups", "goals", lambda d: d["overdue"].sum(), citizens_of="overdue")
    return pd.concat(figures, ignore_index=True)


def placed_quarantine(staged: Staged, goals: pd.DataFrame, per: pd.DataFrame) -> pd.DataFrame:
    """Quarantined rows with the level-3 unit they count for: the unit the row names if it is one
    of the entity's role, else its parent's (loaded, else quarantined), else none (dropped); dated
    by their own date, else the parent's, else, or outside the periods, the extract day."""
    units = staged.org_units
    leaves = units[(units["org_level"] == 3) & units["org_role"].notna()]
    leaf_role = dict(zip(leaves["org_unit_id"], leaves["org_role"], strict=True))
    q = staged.quarantine.assign(date=staged.row_date)
    own_role = {"cases": "authority", "assessments": "authority", "interventions": "provider"}
    parent_of = {"assessments": "cases", "interventions": "cases", "assessment_scores": "assessments",
                 "goals": "interventions", "goal_followups": "goals"}  # fmt: skip
    loaded = {
        "cases": (staged.cases, "case_id", "authority_org_unit_id", "opened_on", "authority"),
        "assessments": (staged.assessments, "assessment_id", "assessor_org_unit_id", "assessed_on", "authority"),
        "interventions": (staged.interventions, "intervention_id", "provider_org_unit_id", "started_on", "provider"),
        "goals": (goals, "goal_id", "provider_org_unit_id", "set_on", "provider"),
    }  # fmt: skip
    parents = {}
    wanted = set(q["parent_key"].dropna())  # only the parents quarantined rows refer to
    for entity, (df, key, unit, date, role) in loaded.items():
        df = df[df[key].astype(str).isin(wanted)]
        for k, u, d in zip(df[key].astype(str), df[unit], df[date], strict=True):
            parents[entity, k] = (u, role, d)
    quarantined = q[q["entity"].isin(list(own_role)) & q["row_key"].notna()]
    for (entity, k), group in quarantined.groupby(["entity", "row_key"]):
        units_named = group["org_unit_id"].dropna()
        parents.setdefault(
            (entity, k),
            (
                units_named.min() if len(units_named) else None,
                own_role[entity],
                group["date"].min(),
            ),
        )
    # A quarantined goal names no unit: it counts for its intervention's provider (that
    # intervention loaded, else quarantined), so its follow-ups are placed too.
    for k, group in q[(q["entity"] == "goals") & q["row_key"].notna()].groupby("row_key"):
        providers = [
            parents.get(("interventions", p), (None,))[0] for p in group["parent_key"].dropna()
        ]
        providers = [u for u in providers if u is not None]
        parents.setdefault(
            ("goals", k), (min(providers) if providers else None, "provider", group["date"].min())
        )
    first, extract = per["start"].min(), staged.extract
    out = []
    for entity, unit, parent_key, date in zip(
        q["entity"], q["org_unit_id"], q["parent_key"], q["date"], strict=True
    ):
        parent = parents.get((parent_of.get(entity), parent_key), (None, None, pd.NaT))
        if entity in own_role and leaf_role.get(unit) == own_role[entity]:
            leaf, role = unit, own_role[entity]
        elif parent[0] is not None and leaf_role.get(parent[0]) == parent[1]:
            leaf, role = parent[0], parent[1]
        else:
            continue
        day = date if pd.notna(date) else parent[2]
        if pd.isna(day) or not first <= day <= extract:
            day = extract
        out.append((role, leaf, day))
    return pd.DataFrame(out, columns=["role", "leaf", "date"])


def data_quality(staged: Staged) -> pd.DataFrame:
    per = periods(staged)
    anc = ancestors(staged)
    goals = goal_facts(staged)
    ints = staged.interventions.merge(staged.cases[["case_id", "citizen_key"]], on="case_id")
    fu = staged.followups.merge(
        goals[["goal_id", "citizen_key", "provider_org_unit_id"]], on="goal_id"
    )
    n_scores = staged.scores.groupby("assessment_id").size()
    assessments = staged.assessments.assign(
        n=1 + staged.assessments["assessment_id"].map(n_scores).fillna(0)
    )
    loaded = pd.concat([
        staged.cases.assign(role="authority", leaf=staged.cases["authority_org_unit_id"], date=staged.cases["opened_on"]),
        assessments.assign(role="authority", leaf=assessments["assessor_org_unit_id"], date=assessments["assessed_on"]),
        ints.assign(role="provider", leaf=ints["provider_org_unit_id"], date=ints["started_on"]),
        goals.assign(role="provider", leaf=goals["provider_org_unit_id"], date=goals["set_on"]),
        fu.assign(role="provider", leaf=fu["provider_org_unit_id"], date=fu["followed_up_on"]),
    ], ignore_index=True)[["role", "leaf", "date", "citizen_key", "n"]]  # fmt: skip
    loaded = loaded.assign(n=loaded["n"].fillna(1), q=0)
    q = placed_quarantine(staged, goals, per)
    rows = pd.concat(
        [loaded, q[["role", "leaf", "date"]].assign(citizen_key=None, n=0, q=1)], ignore_index=True
    )
    rows = in_periods(rows, per, "date")
    rows = rows.merge(anc, left_on=["leaf", "role"], right_on=["leaf", "org_role"])
    counts = rows.groupby(CELL).agg(rows_loaded=("n", "sum"), rows_quarantined=("q", "sum"))

    # Goals owe follow-ups in a period they ran in, once they had run for an interval by its end.
    goals = goals.assign(until=goals[["due_on", "ended_on"]].min(axis=1))  # NaT: still runs
    runs = goals.merge(per, how="cross")
    reached = runs["set_on"] + pd.Timedelta(days=INTERVAL)
    runs = runs[(runs["until"].isna() | (runs["until"] >= runs["start"]))
                & (reached <= runs[["until", "observed_end"]].min(axis=1))]  # fmt: skip
    # Overdue from interval + grace after the setting or a follow-up, to the next one or the end.
    events = pd.concat([
        goals[["goal_id", "set_on"]].rename(columns={"set_on": "on"}),
        staged.followups[["goal_id", "followed_up_on"]].rename(columns={"followed_up_on": "on"}),
    ]).sort_values(["goal_id", "on"])  # fmt: skip
    events["next"] = events.groupby("goal_id")["on"].shift(-1) - pd.Timedelta(days=1)
    events = events.merge(goals[["goal_id", "until"]], on="goal_id")
    events["from"] = events["on"] + pd.Timedelta(days=INTERVAL + GRACE + 1)
    events["to"] = events[["next", "until"]].min(axis=1)
    spells = events[events["to"].isna() | (events["from"] <= events["to"])]
    hits = runs[["goal_id", "period_type", "period_label", "start", "observed_end"]].merge(
        spells[["goal_id", "from", "to"]], on="goal_id"
    )
    hits = hits[
        (hits["from"] <= hits["observed_end"]) & (hits["to"].isna() | (hits["to"] >= hits["start"]))
    ]
    overdue = set(zip(hits["goal_id"], hits["period_type"], hits["period_label"], strict=True))
    runs = runs.assign(
        has=[
            (a, b, c) not in overdue
            for a, b, c in zip(
                runs["goal_id"], runs["period_type"], runs["period_label"], strict=True
            )
        ]
    )
    due = attribute(
        runs, anc, {"provider": "provider_org_unit_id", "authority": "authority_org_unit_id"}
    )
    due_counts = due.groupby(CELL).agg(
        goals_due_followup=("goal_id", "size"),
        goals_without_due_followup=("has", lambda s: (~s).sum()),
    )

    citizens = pd.concat(
        [rows[rows["citizen_key"].notna()][[*CELL, "citizen_key"]], due[[*CELL, "citizen_key"]]]
    )
    n = citizens.groupby(CELL)["citizen_key"].nunique().rename("n_citizens")
    out = counts.join(due_counts, how="outer").join(n, how="left").fillna(0).reset_index()
    out["pct_rows_quarantined"] = (
        100
        * out["rows_quarantined"]
        / (out["rows_loaded"] + out["rows_quarantined"]).replace(0, np.nan)
    )
    out["pct_goals_without_due_followup"] = (
        100 * out["goals_without_due_followup"] / out["goals_due_followup"].replace(0, np.nan)
    )
    return out


COMPARED = {
    "ind_goal_attainment": (
        "goal_attainment", ["life_theme", "sub_theme"],
        ["n_citizens", "n_goals", "avg_goal_attainment_pct", "avg_gas_t_score"],
    ),
    "ind_goal_type_achievement": (
        "goal_type_achievement", ["goal_type"],
        ["n_goals", "n_achieved", "pct_achieved", "pct_not_achieved", "n_citizens"],
    ),
    "ind_functional_ability": (
        "functional_ability", ["instrument_family", "theme"],
        ["n_citizens", "pct_improved", "pct_unchanged", "pct_worsened", "data_break"],
    ),
    "ind_key_figures": ("key_figures", ["figure", "breakdown"], ["value", "unit", "n_citizens"]),
    "ind_data_quality": (
        "data_quality", [],
        ["rows_loaded", "rows_quarantined", "pct_rows_quarantined", "goals_due_followup",
         "goals_without_due_followup", "pct_goals_without_due_followup", "n_citizens"],
    ),
}  # fmt: skip


def compute(table: str, staged: Staged) -> pd.DataFrame:
    return globals()[COMPARED[table][0]](staged)


def disagreements(table: str, published: pd.DataFrame, expected: pd.DataFrame,
                  tolerance: float = 0.01) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Cells on one side only, and published (unsuppressed) figures that differ from ours."""
    _, dims, measures = COMPARED[table]
    keys = CELL + dims
    merged = published.merge(
        expected, on=keys, how="outer", suffixes=("", "_expected"), indicator=True
    )
    out = {"one_side_only": merged[merged["_merge"] != "both"][[*keys, "_merge"]]}
    shown = merged[(merged["_merge"] == "both") & ~merged["is_suppressed"].astype(bool)]
    for m in measures:
        got, want = shown[m], shown[f"{m}_expected"]
        if not pd.api.types.is_numeric_dtype(got) or pd.api.types.is_bool_dtype(got):
            bad = shown[got.astype(str) != want.astype(str)]
        else:
            diff = (got.astype(float) - want.astype(float)).abs()
            bad = shown[~(got.isna() & want.isna()) & ~(diff <= tolerance)]
        out[m] = bad[[*keys, m, f"{m}_expected"]]
    return {k: v for k, v in out.items() if len(v)}
