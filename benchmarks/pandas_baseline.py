"""The pandas baseline: the indicator definitions of DOMAIN.md (and, for the cost tables,
docs/indicators.md, "Costs next to effects") written again in pandas.

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
        # Contract 1.1's cost files (empty tables when the delivery has none).
        self.citizens = load("stg_citizens", "citizen_key, target_group")
        self.grants = load("stg_grants")
        self.payments = load("stg_payments")
        self.budgets = load("stg_budgets")
        for df, columns in ((self.grants, ("valid_from", "valid_to")),
                            (self.payments, ("period_from", "period_to"))):  # fmt: skip
            for column in columns:
                df[column] = pd.to_datetime(df[column])


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


# Costs next to effects (docs/indicators.md, "Costs next to effects (contract 1.1)").

ROLES = {"provider": "provider_org_unit_id", "authority": "authority_org_unit_id"}
PERIOD = ["period_type", "period_label"]


def payment_facts(staged: Staged) -> pd.DataFrame:
    """The payments booked by the extract, with their intervention's attributes, its case's
    authority and citizen, the citizen's target group, and the days each payment covers."""
    p = staged.payments[staged.payments["paid_on"] <= staged.extract]
    p = p[["payment_id", "intervention_id", "period_from", "period_to", "amount_dkk", "function"]]
    p = p.merge(staged.interventions[["intervention_id", "case_id", "provider_org_unit_id",
                                      "intervention_type", "legal_basis"]], on="intervention_id")  # fmt: skip
    p = p.merge(staged.cases[["case_id", "citizen_key", "authority_org_unit_id"]], on="case_id")
    p = p.merge(staged.citizens[["citizen_key", "target_group"]], on="citizen_key", how="left")
    return p.assign(covered=(p["period_to"] - p["period_from"]).dt.days + 1)


def to_ore(amounts: pd.Series) -> pd.Series:
    """Rounded to whole øre, half away from zero (docs/indicators.md, "Rounding")."""
    return np.sign(amounts) * np.floor(amounts.abs() * 100 + 0.5) / 100


def pro_rata(p: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The payments' shares of the days from start to end: their amount for the days they cover
    there (`amount * days there / days covered`), with those days as [start, end]."""
    first, last = p["period_from"].clip(lower=start), p["period_to"].clip(upper=end)
    inside = last >= first
    out = p[inside].assign(start=first[inside], end=last[inside])
    days = (out["end"] - out["start"]).dt.days + 1
    return out.assign(spending=to_ore(out["amount_dkk"] * days / out["covered"]))


def period_shares(p: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """pro_rata over a period of whole quarters, its spending the sum of the payment's quarters'
    shares, each rounded (docs/indicators.md, "Rounding"): a year's spending is its quarters'."""
    out = pro_rata(p, start, end)
    quarters = pd.date_range(start, end, freq="QS")
    spending = sum(
        pro_rata(out, q, q + pd.offsets.QuarterEnd(0))
        .set_index("payment_id")["spending"]
        .reindex(out["payment_id"], fill_value=0.0)
        .to_numpy()
        for q in quarters
    )
    return out.assign(spending=spending)


def distinct_days(df: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Days the rows' [start, end] cover per group of keys, a day covered twice counted once."""
    df = df.sort_values([*keys, "start"])
    reached = df.groupby(keys)["end"].cummax()
    before = reached.groupby([df[k] for k in keys]).shift()  # the last day earlier rows cover
    start = df["start"].where(before.isna() | (before < df["start"]), before + pd.Timedelta(days=1))
    days = ((df["end"] - start).dt.days + 1).clip(lower=0)
    return days.groupby([df[k] for k in keys]).sum().rename("days")


def spending_rows(staged: Staged, per: pd.DataFrame, breakdowns: list[str]) -> pd.DataFrame:
    """One row per period, unit and role, breakdown and intervention with spending there: the
    intervention's spending and intervention-days, and its citizen."""
    p = payment_facts(staged)
    shares = pd.concat(
        [period_shares(p, r["start"], r["end"]).assign(period_type=r["period_type"],
                                                       period_label=r["period_label"])
         for r in per.to_dict("records")], ignore_index=True,
    )  # fmt: skip
    attrs = ["intervention_id", "citizen_key", "target_group", "intervention_type", "legal_basis",
             *ROLES.values()]  # fmt: skip
    interventions = p[attrs].drop_duplicates("intervention_id")

    def per_intervention(keys: list[str]) -> pd.DataFrame:
        spent = shares.groupby(keys)["spending"].sum()
        out = pd.concat([spent, distinct_days(shares, keys)], axis=1).reset_index()
        return out.merge(interventions, on="intervention_id")

    whole = per_intervention([*PERIOD, "intervention_id"])
    parts = [whole.assign(breakdown_by="all", breakdown="all")]
    for b in breakdowns:
        if b == "function":  # the payment's function: an intervention's payments on each one
            by = per_intervention([*PERIOD, "intervention_id", "function"])
            parts.append(by.assign(breakdown_by=b, breakdown=by["function"]))
        else:
            parts.append(whole.assign(breakdown_by=b, breakdown=whole[b]))
    rows = pd.concat(parts, ignore_index=True)
    rows = rows[["breakdown_by", "breakdown", *PERIOD, "intervention_id", "citizen_key",
                 "spending", "days", *ROLES.values()]]  # fmt: skip
    return attribute(rows, ancestors(staged), ROLES)


BY = [*CELL, "breakdown_by", "breakdown"]


def costs(staged: Staged) -> pd.DataFrame:
    rows = spending_rows(staged, periods(staged),
                         ["target_group", "intervention_type", "legal_basis", "function"])  # fmt: skip
    out = rows.groupby(BY).agg(
        n_citizens=("citizen_key", "nunique"), spending_dkk=("spending", "sum"),
        intervention_days=("days", "sum"),
    ).reset_index()  # fmt: skip
    out["cost_per_citizen_dkk"] = out["spending_dkk"] / out["n_citizens"]
    out["cost_per_intervention_day_dkk"] = out["spending_dkk"] / out["intervention_days"]
    return out


def pooled_themes() -> set[tuple[str, str]]:
    """The (instrument family, theme) pairs a family's `all` pools: kind `theme`, not judgements."""
    rows = codelist("assessment_themes")
    return {(r["instrument_family"], r["theme"]) for r in rows if r["kind"] == "theme"}


def citizens_improved(staged: Staged, per: pd.DataFrame) -> pd.DataFrame:
    """Per period, the citizens with a comparison there (their latest per family and pooled
    theme) and whether more of those themes improved than worsened."""
    ch = ability_changes(staged)
    ch = ch[pd.MultiIndex.from_frame(ch[["family", "theme"]]).isin(list(pooled_themes()))]
    ch = ch[["citizen_key", "family", "theme", "assessed_on", "assessment_id", "change"]]
    ch = in_periods(ch, per[[*PERIOD, "start", "end"]], "assessed_on")
    latest = ch.sort_values(["assessed_on", "assessment_id"])
    latest = latest.groupby([*PERIOD, "citizen_key", "family", "theme"]).tail(1)
    latest = latest.assign(up=latest["change"] == "improved", down=latest["change"] == "worsened")
    out = latest.groupby([*PERIOD, "citizen_key"])[["up", "down"]].sum().reset_index()
    return out.assign(improved=out["up"] > out["down"])[[*PERIOD, "citizen_key", "improved"]]


def cost_effect(staged: Staged) -> pd.DataFrame:
    """The goal and ability figures as computed, before the rule that withholds them when their
    citizens are 1 to 4 (n_citizens_with_goals, n_citizens_assessed): see the tests."""
    per = periods(staged)
    rows = spending_rows(staged, per, ["target_group", "intervention_type"])
    out = rows.groupby(BY).agg(
        n_citizens=("citizen_key", "nunique"), spending_dkk=("spending", "sum")
    )
    out["cost_per_citizen_dkk"] = out["spending_dkk"] / out["n_citizens"]

    # The goals of the cell's interventions, by their latest follow-up in the period.
    latest = latest_followups(staged, per)[[*PERIOD, "goal_id", "citizen_key", "achieved"]]
    latest = latest.merge(staged.goals[["goal_id", "intervention_id"]], on="goal_id")
    goals = rows[[*BY, "intervention_id"]].merge(latest, on=[*PERIOD, "intervention_id"])
    per_citizen = goals.groupby([*BY, "citizen_key"])["achieved"].agg(["size", "sum", "mean"])
    g = per_citizen.groupby(BY).agg(
        n_goals=("size", "sum"), n_goals_achieved=("sum", "sum"),
        avg_goal_attainment_pct=("mean", "mean"), n_citizens_with_goals=("size", "size"),
    )  # fmt: skip
    g["avg_goal_attainment_pct"] *= 100

    # The cell's citizens with a functional-ability comparison in the period.
    assessed = (
        rows[[*BY, "citizen_key"]]
        .drop_duplicates()
        .merge(citizens_improved(staged, per), on=[*PERIOD, "citizen_key"])
    )
    a = assessed.groupby(BY).agg(
        n_citizens_assessed=("citizen_key", "size"), n_citizens_improved=("improved", "sum")
    )
    out = out.join(g).join(a).reset_index()
    # Counts are zero without goals or comparisons; the averages and unit costs then null.
    counts = ["n_goals", "n_goals_achieved", "n_citizens_with_goals", "n_citizens_assessed",
              "n_citizens_improved"]  # fmt: skip
    out[counts] = out[counts].fillna(0).astype(int)
    out["spending_per_achieved_goal_dkk"] = out["spending_dkk"] / out["n_goals_achieved"].replace(
        0, np.nan
    )
    out["pct_citizens_improved"] = (
        100 * out["n_citizens_improved"] / out["n_citizens_assessed"].replace(0, np.nan)
    )
    out["spending_per_improved_citizen_dkk"] = out["spending_dkk"] / out[
        "n_citizens_improved"
    ].replace(0, np.nan)
    return out


def daily_rate(grants: pd.DataFrame) -> pd.Series:
    """A day rate; a week or month rate over its days (code list rate_units); an hour rate times
    the weekly hours over 7."""
    days = {r["rate_unit"]: float(r["days_per_unit"]) for r in codelist("rate_units")
            if r["days_per_unit"]}  # fmt: skip
    hourly = grants["rate_dkk"] * grants["hours_per_week"] / 7
    return (grants["rate_dkk"] / grants["rate_unit"].map(days)).where(
        grants["rate_unit"] != "hour", hourly
    )


def grant_facts(staged: Staged) -> pd.DataFrame:
    """The grants with their intervention's provider, their case's authority and citizen, and
    their daily rate."""
    grants = staged.grants.merge(
        staged.interventions[["intervention_id", "case_id", "provider_org_unit_id"]],
        on="intervention_id",
    ).merge(staged.cases[["case_id", "citizen_key", "authority_org_unit_id"]], on="case_id")
    return grants.assign(daily=daily_rate(grants))


def cost_forecast(staged: Staged) -> pd.DataFrame:
    """Per quarter the payments reach the end of (the origin), unit and role: the citizens with
    a grant in force on the origin day and those grants' cost for the two quarters after it;
    a unit with spending in the three quarters but no such grant has a row with none."""
    payments, grants, anc = payment_facts(staged), grant_facts(staged), ancestors(staged)
    reach = min(staged.extract, payments["period_to"].max())
    per = periods(staged)
    made, spent = [], []
    for q in per[per["period_type"] == "quarter"].itertuples():
        if q.end > reach:
            continue
        horizon_end = q.start + pd.DateOffset(months=9) - pd.Timedelta(days=1)
        days = (horizon_end - q.end).days
        active = grants[(grants["valid_from"] <= q.end)
                        & (grants["valid_to"].isna() | (grants["valid_to"] >= q.end))]  # fmt: skip
        horizon = {"period_label": q.period_label, "horizon_end": horizon_end,
                   "horizon_start": q.end + pd.Timedelta(days=1)}  # fmt: skip
        made.append(active.assign(**horizon, forecast=to_ore(active["daily"] * days)))
        paid = pro_rata(payments, q.start, min(horizon_end, per["end"].max()))
        spent.append(paid.assign(**horizon))
    columns = ["period_label", "horizon_start", "horizon_end", "citizen_key", "forecast",
               *ROLES.values()]  # fmt: skip
    rows = pd.concat(
        [pd.concat(made, ignore_index=True)[columns],
         pd.concat(spent, ignore_index=True).assign(citizen_key=None, forecast=0.0)[columns]],
        ignore_index=True,
    )  # fmt: skip
    return (
        attribute(rows, anc, ROLES)
        .assign(period_type="quarter")
        .groupby([*CELL, "horizon_start", "horizon_end"])
        .agg(n_citizens=("citizen_key", "nunique"), forecast_by_grants_dkk=("forecast", "sum"))
        .reset_index()
    )


BUDGET_CELL = ["budget_year", "org_role", "org_unit_id"]


def budget(staged: Staged) -> pd.DataFrame:
    extract, anc = staged.extract, ancestors(staged)
    cell = [*BUDGET_CELL, "function"]
    # Each line (year, unit, function, target group) as in force on the extract day and as first
    # adopted, summed over target groups; a level-3 unit's lines count for it in its role.
    line = ["budget_year", "org_unit_id", "function", "target_group"]
    b = staged.budgets[staged.budgets["revised_on"] <= extract].sort_values("revised_on")
    amounts = b.groupby(line, dropna=False)["amount_dkk"]
    lines = pd.DataFrame({"budget_dkk": amounts.last(), "adopted_budget_dkk": amounts.first()})
    lines = lines.reset_index().rename(columns={"org_unit_id": "leaf"}).merge(anc, on="leaf")
    lines = pd.concat([lines, lines.assign(function="all")], ignore_index=True)
    out = lines.groupby(cell)[["budget_dkk", "adopted_budget_dkk"]].sum().reset_index()

    # The last day the payments booked by the extract reach, at most the extract day.
    payments = payment_facts(staged)
    reach = min(extract, payments["period_to"].max()) if len(payments) else pd.NaT
    grants = grant_facts(staged)
    years, spent, ahead = [], [], []
    for year in sorted(out["budget_year"].unique()):
        start = pd.Timestamp(year=int(year), month=1, day=1)
        end = pd.Timestamp(year=int(year), month=12, day=31)
        through = min(reach, end) if pd.notna(reach) and reach >= start else pd.NaT
        years.append((year, start, end, through))
        # The year's spending, as ind_costs has it for the year.
        paid = period_shares(payments, start, end).assign(budget_year=year)
        spent.append(pd.concat([paid, paid.assign(function="all")], ignore_index=True))
        # Each grant's daily rate for its days after booked_through to the year's end.
        after = start if pd.isna(through) else through + pd.Timedelta(days=1)
        first = grants["valid_from"].clip(lower=after)
        last = grants["valid_to"].fillna(end).clip(upper=end)  # a running grant runs on
        g = grants.assign(budget_year=year, days=((last - first).dt.days + 1).clip(lower=0))
        g = g.assign(remaining=to_ore(g["daily"] * g["days"]))
        ahead.append(pd.concat([g, g.assign(function="all")], ignore_index=True))
    spent = (
        attribute(pd.concat(spent, ignore_index=True), anc, ROLES)
        .groupby(cell)
        .agg(n_citizens=("citizen_key", "nunique"), spent_to_date_dkk=("spending", "sum"))
    )
    ahead = attribute(pd.concat(ahead, ignore_index=True), anc, ROLES).groupby(cell)["remaining"]
    # A row per line with a budget, and per unit and function with spending but no budget line.
    out = out.merge(spent.reset_index(), on=cell, how="outer").merge(
        ahead.sum().reset_index(), on=cell, how="left"
    )
    y = pd.DataFrame(years, columns=["budget_year", "year_start", "year_end", "booked_through"])
    out = out.merge(y, on="budget_year")
    out[["n_citizens", "spent_to_date_dkk", "remaining"]] = out[
        ["n_citizens", "spent_to_date_dkk", "remaining"]
    ].fillna(0)
    out["year_complete"] = out["booked_through"] >= out["year_end"]
    out["consumption_pct"] = 100 * out["spent_to_date_dkk"] / out["budget_dkk"].replace(0, np.nan)
    out["expected_by_grants_dkk"] = out["spent_to_date_dkk"] + out["remaining"]
    days_booked = (out["booked_through"] - out["year_start"]).dt.days + 1  # NaN before the first
    year_days = (out["year_end"] - out["year_start"]).dt.days + 1
    out["expected_by_run_rate_dkk"] = out["spent_to_date_dkk"] * year_days / days_booked
    out["deviation_by_grants_dkk"] = out["budget_dkk"] - out["expected_by_grants_dkk"]
    out["deviation_by_run_rate_dkk"] = out["budget_dkk"] - out["expected_by_run_rate_dkk"]
    return out.drop(columns="remaining")


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
    "ind_costs": (
        "costs", ["breakdown_by", "breakdown"],
        ["n_citizens", "spending_dkk", "cost_per_citizen_dkk", "intervention_days",
         "cost_per_intervention_day_dkk"],
    ),
    "ind_cost_effect": (
        "cost_effect", ["breakdown_by", "breakdown"],
        ["n_citizens", "spending_dkk", "cost_per_citizen_dkk", "n_citizens_with_goals", "n_goals",
         "n_goals_achieved",
         "avg_goal_attainment_pct", "spending_per_achieved_goal_dkk", "n_citizens_assessed",
         "n_citizens_improved", "pct_citizens_improved", "spending_per_improved_citizen_dkk"],
    ),
    "ind_cost_forecast": (
        "cost_forecast", [], ["horizon_start", "horizon_end", "n_citizens", "forecast_by_grants_dkk"],
    ),
    "ind_budget": (
        "budget", ["function"],
        ["booked_through", "year_complete", "budget_dkk", "adopted_budget_dkk", "n_citizens",
         "spent_to_date_dkk", "consumption_pct", "expected_by_grants_dkk",
         "expected_by_run_rate_dkk", "deviation_by_grants_dkk", "deviation_by_run_rate_dkk"],
    ),
}  # fmt: skip
# A table's cell when it is not a period, unit and role.
CELLS = {"ind_budget": BUDGET_CELL}
# Figures a suppressed row shows all the same: budgets are public (and the year they are for).
SHOWN_WHEN_SUPPRESSED = {"ind_budget": ["booked_through", "year_complete", "budget_dkk",
                                        "adopted_budget_dkk"],
                         "ind_cost_forecast": ["horizon_start", "horizon_end"]}  # fmt: skip


def keys(table: str) -> list[str]:
    return CELLS.get(table, CELL) + COMPARED[table][1]


def compute(table: str, staged: Staged) -> pd.DataFrame:
    return globals()[COMPARED[table][0]](staged)


def disagreements(table: str, published: pd.DataFrame, expected: pd.DataFrame,
                  tolerance: float = 0.01) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Cells on one side only, and published (unsuppressed) figures that differ from ours; the
    figures a suppressed row shows too are compared in every row."""
    _, _, measures = COMPARED[table]
    cell = keys(table)
    merged = published.merge(
        expected, on=cell, how="outer", suffixes=("", "_expected"), indicator=True
    )
    out = {"one_side_only": merged[merged["_merge"] != "both"][[*cell, "_merge"]]}
    both = merged[merged["_merge"] == "both"]
    shown = both[~both["is_suppressed"].astype(bool)]
    public = SHOWN_WHEN_SUPPRESSED.get(table, [])
    for m in measures:
        rows = both if m in public else shown
        got, want = rows[m], rows[f"{m}_expected"]
        if pd.api.types.is_datetime64_any_dtype(got) or pd.api.types.is_datetime64_any_dtype(want):
            got, want = pd.to_datetime(got), pd.to_datetime(want)
            bad = rows[~((got == want) | (got.isna() & want.isna()))]
        elif not pd.api.types.is_numeric_dtype(got) or pd.api.types.is_bool_dtype(got):
            bad = rows[got.astype(str) != want.astype(str)]
        else:
            diff = (got.astype(float) - want.astype(float)).abs()
            bad = rows[~(got.isna() & want.isna()) & ~(diff <= tolerance)]
        out[m] = bad[[*cell, m, f"{m}_expected"]]
    return {k: v for k, v in out.items() if len(v)}
