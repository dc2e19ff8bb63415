# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Exploring the indicators over time
#
# For analysts. Reads the published indicator tables, as a BI tool would
# (`published/current/indicators.duckdb`, read-only), and plots goal attainment and
# functional-ability change over time. Suppressed cells (fewer than 5 citizens) have no figure
# and show as gaps, never as zero. The dashed line marks the May 2017 data break (VUM2008 to VUM2).
# See `docs/indicators.md` for what each column means.

# %%
import datetime as dt
import os
from pathlib import Path

import duckdb
import plotly.express as px

DATA_DIR = Path(os.environ.get("EFFEKT_DATA_DIR", "../data"))
DATA_BREAK = dt.datetime(2017, 5, 15)
con = duckdb.connect(str(DATA_DIR / "published" / "current" / "indicators.duckdb"), read_only=True)
con.sql("select table_schema, table_name from information_schema.tables order by all").df()

# %% [markdown]
# ## Goal attainment per life theme, whole administration, quarter by quarter

# %%
attainment = con.execute(
    """
    select g.period_start, g.period_label, coalesce(l.life_theme_label_en, 'All') as life_theme,
           g.avg_goal_attainment_pct, g.n_citizens, g.is_suppressed, g.data_break
    from main.ind_goal_attainment g
    left join (select distinct life_theme, life_theme_label_en from codes.life_themes) l
        using (life_theme)
    where g.period_type = 'quarter' and g.org_level = 1 and g.org_role = 'provider'
      and g.sub_theme = 'all'
    order by g.period_start
    """
).df()
fig = px.line(
    attainment,
    x="period_start",
    y="avg_goal_attainment_pct",
    color="life_theme",
    markers=True,
    hover_data=["period_label", "n_citizens", "data_break"],
    labels={"avg_goal_attainment_pct": "average goal attainment (%)", "period_start": ""},
)
fig.add_vline(x=DATA_BREAK.timestamp() * 1000, line_dash="dash", annotation_text="data break")
fig.show()

# %% [markdown]
# ## Operating areas compared, last four quarters

# %%
areas = con.execute(
    """
    select org_unit_name as operating_area, avg_goal_attainment_pct, n_citizens, is_suppressed
    from main.ind_goal_attainment
    where period_type = 'rolling_4q' and org_level = 2 and org_role = 'provider'
      and life_theme = 'all' and sub_theme = 'all'
      and period_end = (select max(period_end) from main.ind_goal_attainment
                        where period_type = 'rolling_4q')
    order by operating_area
    """
).df()
px.bar(
    areas,
    x="operating_area",
    y="avg_goal_attainment_pct",
    text="n_citizens",
    labels={"avg_goal_attainment_pct": "average goal attainment (%)"},
).show()
areas

# %% [markdown]
# ## Functional-ability change over time (VUM, all seven themes; the overall judgement apart)

# %%
change = con.execute(
    """
    select period_start, period_label, pct_improved, pct_unchanged, pct_worsened, data_break
    from main.ind_functional_ability
    where period_type = 'quarter' and org_level = 1 and org_role = 'authority'
      and instrument_family = 'VUM' and theme = 'all'
    order by period_start
    """
).df()
long = change.melt(
    id_vars=["period_start", "period_label", "data_break"],
    value_vars=["pct_improved", "pct_unchanged", "pct_worsened"],
    var_name="change",
    value_name="pct",
)
fig = px.area(
    long,
    x="period_start",
    y="pct",
    color="change",
    labels={"pct": "share of citizen-theme comparisons (%)", "period_start": ""},
)
fig.add_vline(x=DATA_BREAK.timestamp() * 1000, line_dash="dash", annotation_text="data break")
fig.show()
con.close()
