"""Several municipalities in one warehouse (contract 1.2, issue 22).

Three municipalities' deliveries load into one raw layer and build one warehouse. Their case
systems number records and name units independently (each generated delivery starts at case 1 and
unit ORG-...), so any join that forgot whose record it is would mix them: each municipality's
indicator rows must equal those of a warehouse that loaded that municipality alone, and the
national rows (level 0) the independent pandas recomputation (benchmarks/pandas_baseline.py).
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from benchmarks import pandas_baseline as recompute
from orchestration.generate import GeneratorConfig, generate_delivery
from orchestration.ingest.delivery import DeliveryRefused
from orchestration.ingest.load import ingest_delivery
from orchestration.settings import Settings
from orchestration.warehouse import BUILD_ARGS, run_dbt
from tests.conftest import END, KEY, START
from tests.warehouse.test_recompute import as_published

MUNICIPALITIES = {"101": (11, 400), "751": (12, 250), "461": (13, 150)}  # code: (seed, citizens)
INDICATORS = list(recompute.COMPARED)


def delivery(out: Path, code: str | None, seed: int, citizens: int) -> Path:
    """A generated delivery; with `code`, its manifest names the municipality (contract 1.2)."""
    made = generate_delivery(
        GeneratorConfig(
            citizens=citizens, start=START, end=END, seed=seed, out=out, defects=0.005,
            costs=True, progress=False, source_system=f"synth-{code or 'unnamed'}-{seed}",
        )
    )  # fmt: skip
    if code is not None:
        manifest = json.loads((made.path / "manifest.json").read_text("utf-8"))
        manifest |= {"contract_version": "1.2", "municipality_code": code}
        (made.path / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    return made.path


def load_and_build(root: Path, folders: list[Path]) -> Settings:
    settings = Settings(data_dir=root / "data")
    for folder in folders:
        copy = shutil.copytree(folder, settings.landing_dir / folder.name)
        assert ingest_delivery(settings, copy, KEY).status == "loaded"
    run_dbt(settings, BUILD_ARGS)
    return settings


def table(settings: Settings, name: str) -> pd.DataFrame:
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        return con.execute(f"select * from {name}").df()


@dataclass
class Warehouses:
    national: Settings
    alone: dict[str, Settings]  # 101 and 751 each loaded by itself, named
    unnamed: Settings  # 461's delivery loaded by itself as contract 1.1: no municipality named

    def alone_table(self, code: str, name: str) -> pd.DataFrame:
        """A table of the warehouse that loaded the municipality alone; 461's, loaded unnamed,
        with its units' identifiers as contract 1.2 names them ('461:' + the unit's id)."""
        if code in self.alone:
            return table(self.alone[code], name)
        frame = table(self.unnamed, name)
        for column in ("org_unit_id", "parent_org_unit_id"):
            frame[column] = f"{code}:" + frame[column]
        return frame


@pytest.fixture(scope="module")
def warehouses(tmp_path_factory) -> Warehouses:
    gen = tmp_path_factory.mktemp("deliveries")
    named = {
        code: delivery(gen / code, code, seed, n) for code, (seed, n) in MUNICIPALITIES.items()
    }
    root = tmp_path_factory.mktemp("municipalities")
    seed, citizens = MUNICIPALITIES["461"]
    return Warehouses(
        national=load_and_build(root / "national", list(named.values())),
        alone={code: load_and_build(root / code, [named[code]]) for code in ("101", "751")},
        unnamed=load_and_build(root / "unnamed", [delivery(gen / "unnamed", None, seed, citizens)]),
    )


def municipality_rows(frame: pd.DataFrame, code: str) -> pd.DataFrame:
    """The rows of one municipality's units, its administration's parent left out (the national
    level in a warehouse of several, none in a warehouse of one)."""
    rows = frame[frame["org_unit_id"].str.startswith(f"{code}:")].copy()
    rows.loc[rows["org_level"] == 1, "parent_org_unit_id"] = None
    return rows


def except_all_both_ways(ours: pd.DataFrame, theirs: pd.DataFrame) -> tuple[int, int]:
    con = duckdb.connect()
    con.register("ours", ours)
    con.register("theirs", theirs[list(ours.columns)])
    only_ours = con.execute("select count(*) from (from ours except all from theirs)").fetchone()
    only_theirs = con.execute("select count(*) from (from theirs except all from ours)").fetchone()
    return only_ours[0], only_theirs[0]


@pytest.mark.parametrize("name", INDICATORS)
def test_each_municipality_equals_a_warehouse_that_loaded_it_alone(warehouses, name):
    national = table(warehouses.national, f"indicators.{name}")
    assert (national["org_level"] == 0).any(), "no national rows"
    for code in MUNICIPALITIES:
        ours = municipality_rows(national, code)
        theirs = municipality_rows(warehouses.alone_table(code, f"indicators.{name}"), code)
        assert len(ours) > 20, (code, len(ours))
        assert except_all_both_ways(ours, theirs) == (0, 0), code


class NationalStaged(recompute.Staged):
    """The staged tables, with the national level the recomputation's walk up the tree needs
    (the warehouse adds it in int_org_ancestors), and quarantined rows' references as the
    warehouse numbers them."""

    def __init__(self, query) -> None:
        super().__init__(query)
        units = self.org_units
        units.loc[units["org_level"] == 1, "parent_org_unit_id"] = "national"
        top = {"org_unit_id": "national", "org_level": 0, "org_unit_name": "Hele landet"}
        self.org_units = pd.concat([units, pd.DataFrame([top])], ignore_index=True)
        self.quarantine["row_key"] = self.quarantine["row_ref"]
        self.quarantine["parent_key"] = self.quarantine["parent_ref"]


@pytest.mark.parametrize("name", INDICATORS)
def test_national_rows_equal_the_independent_recomputation(warehouses, name):
    settings = warehouses.national
    with duckdb.connect(str(settings.warehouse), read_only=True) as con:
        staged = NationalStaged(lambda sql: con.execute(sql).df())
    expected = as_published(name, recompute.compute(name, staged))
    published = table(settings, f"indicators.{name}")
    national = published[published["org_level"] == 0]
    assert len(national) > 10
    # The municipalities' rows: test_each_municipality_equals_a_warehouse_that_loaded_it_alone.
    found = recompute.disagreements(name, national, expected[expected["org_unit_id"] == "national"])
    assert not found, {k: v.head(5).to_string() for k, v in found.items()}


def test_a_citizen_counts_once_nationally(warehouses):
    """Pseudonyms are national: the national count of distinct citizens is not the sum of the
    municipalities' when a citizen is in two (the test's deliveries share CPR numbers by chance
    of the generator's seeds, or not: then the sum is exact)."""
    dim = table(warehouses.national, "marts.dim_citizen")
    assert dim["citizen_key"].is_unique
    figures = table(warehouses.national, "indicators.ind_goal_attainment")
    year = figures[
        (figures["period_label"] == "2018") & (figures["life_theme"] == "all")
        & (figures["org_role"] == "provider") & (figures["org_level"] <= 1)
    ]  # fmt: skip
    national = year[year["org_level"] == 0]["n_citizens"].iloc[0]
    assert national <= year[year["org_level"] == 1]["n_citizens"].sum()


def test_naming_the_municipality_changes_identifiers_only(warehouses):
    """The same delivery as contract 1.1 (no municipality) and 1.2 (named 461, here in the
    national warehouse): the same figures, the 1.1 identifiers as delivered, the 1.2 ones the
    municipality's ('461:' + the unit's id)."""
    for name in INDICATORS:
        unnamed = table(warehouses.unnamed, f"indicators.{name}")
        named = municipality_rows(table(warehouses.national, f"indicators.{name}"), "461")
        assert not unnamed["org_unit_id"].str.contains(":").any()
        assert (unnamed["org_level"] > 0).all()
        for column in ("org_unit_id", "parent_org_unit_id"):
            named[column] = named[column].str.removeprefix("461:")
        assert except_all_both_ways(unnamed, named) == (0, 0), name
    units = table(warehouses.unnamed, "marts.dim_org_unit")
    assert units["municipality_code"].isna().all()
    named_units = table(warehouses.national, "marts.dim_org_unit")
    named_units = named_units[named_units["org_unit_id"].str.startswith("461:")]
    assert len(named_units) == len(units)
    assert set(named_units["municipality_code"]) == {"461"}
    assert set(named_units["municipality_name"]) == {"Odense"}


def test_each_municipality_keeps_a_history_of_its_own(warehouses, tmp_path):
    """One municipality's delivery closes none of another's rows; a delivery is superseded only
    by its own municipality's newer one, not by another municipality's."""
    with duckdb.connect(str(warehouses.national.raw_database), read_only=True) as con:
        current = con.execute(
            "select _municipality_code, count(*) from raw.cases where _last_seq is null "
            "group by 1 order by 1"
        ).fetchall()
        assert con.execute(
            "select count(*) from raw.cases where _last_seq is not null"
        ).fetchone() == (0,)
    assert [code for code, _ in current] == sorted(MUNICIPALITIES)

    settings = Settings(data_dir=tmp_path / "data")

    def land(code: str, extract: dt.date) -> str:
        made = generate_delivery(
            GeneratorConfig(
                citizens=20, start=START, end=END, extract_at=extract, seed=5, out=tmp_path / code,
                progress=False, source_system=f"synth-{code}",
            )
        )  # fmt: skip
        manifest = json.loads((made.path / "manifest.json").read_text("utf-8"))
        manifest |= {"contract_version": "1.2", "municipality_code": code}
        (made.path / "manifest.json").write_text(json.dumps(manifest), "utf-8")
        return ingest_delivery(settings, made.path, KEY).status

    assert land("101", END) == "loaded"
    assert land("751", dt.date(2019, 3, 31)) == "loaded"  # older than 101's: another history
    assert land("101", dt.date(2019, 3, 31)) == "superseded"  # older than 101's own
    with duckdb.connect(str(settings.raw_database), read_only=True) as con:
        assert con.execute(
            "select municipality_code, cast(extract_time as date) from raw.current_deliveries "
            "order by 1"
        ).fetchall() == [("101", END), ("751", dt.date(2019, 3, 31))]
        # The same case numbers in both municipalities, each current in its own history.
        (shared,) = con.execute(
            "select count(*) from (select case_id from raw.cases where _last_seq is null "
            "group by case_id having count(distinct _municipality_code) = 2)"
        ).fetchone()
        assert shared > 0


def test_a_manifest_must_name_its_municipality_by_code(tmp_path):
    folder = delivery(tmp_path / "gen", "461", MUNICIPALITIES["461"][0], 20)
    settings = Settings(data_dir=tmp_path / "data")
    for code, says in [
        (None, "municipality_code is required from contract version 1.2"),
        ("999", "municipality_code '999' is not a Danish municipality's three-digit code"),
        (751, "municipality_code 751 is not a Danish municipality's three-digit code"),
    ]:
        manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
        manifest.pop("municipality_code")
        if code is not None:
            manifest["municipality_code"] = code
        landed = shutil.copytree(folder, settings.landing_dir / f"{folder.name}-{code}")
        (landed / "manifest.json").write_text(json.dumps(manifest), "utf-8")
        with pytest.raises(DeliveryRefused, match=says):
            ingest_delivery(settings, landed, KEY)


def case_mix_cases(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """One row per case, as docs/comparison.md defines them, read from the marts with pandas."""
    periods = con.execute("select * from intermediate.int_periods").df()
    citizens = con.execute(
        "select citizen_key, target_group, birth_year from marts.dim_citizen"
    ).df()
    units = con.execute("select org_unit_id, municipality_code from marts.dim_org_unit").df()
    goals = con.execute(
        "select f.period_type, f.period_label, f.citizen_key, f.is_achieved, g.goal_type, "
        "g.provider_org_unit_id as org_unit_id from intermediate.int_goal_period_followups f "
        "join marts.fct_goals g using (goal_id)"
    ).df()
    goals = goals.assign(indicator="goals_achieved", stratum=goals["goal_type"],
                         outcome=goals["is_achieved"])  # fmt: skip
    changes = con.execute(
        "select * from marts.fct_functional_ability_change where theme <> 'overall'"
    ).df()
    changes["assessed_on"] = pd.to_datetime(changes["assessed_on"])
    in_periods = []
    for period in periods.itertuples():
        inside = changes[changes["assessed_on"].between(period.period_start, period.period_end)]
        latest = (
            inside.sort_values(["assessed_on", "assessment_id"])
            .groupby(["citizen_key", "instrument_family", "theme"])
            .tail(1)
        )
        in_periods.append(latest.assign(period_type=period.period_type,
                                        period_label=period.period_label))  # fmt: skip
    ability = pd.concat(in_periods)
    ability = ability.assign(indicator="ability_improved", stratum=ability["instrument"],
                             outcome=ability["change_class"] == "improved",
                             org_unit_id=ability["authority_org_unit_id"])  # fmt: skip
    columns = ["indicator", "period_type", "period_label", "citizen_key", "stratum", "outcome",
               "org_unit_id"]  # fmt: skip
    cases = pd.concat([goals[columns], ability[columns]]).merge(units, on="org_unit_id")
    cases = cases.merge(citizens, on="citizen_key").merge(
        periods[["period_type", "period_label", "period_end"]]
    )
    age = pd.to_datetime(cases["period_end"]).dt.year - cases["birth_year"]
    cases["age_group"] = pd.cut(age, [-1, 17, 64, 200], labels=["under_18", "18_64", "65_plus"])
    cases["age_group"] = cases["age_group"].astype(str)
    return cases


def test_case_mix_ratios_equal_the_pandas_standardisation(warehouses):
    """ind_case_mix (SQL) against orchestration.reporting.comparison.indirect_standardisation
    (pandas, tested on a hand-computed example) on the same cases: every municipality and the
    nation, every period, both indicators."""
    from orchestration.reporting.comparison import indirect_standardisation

    with duckdb.connect(str(warehouses.national.warehouse), read_only=True) as con:
        cases = case_mix_cases(con)
        published = con.execute("select * from indicators.ind_case_mix").df()
    expected = indirect_standardisation(
        cases, "municipality_code", ["target_group", "age_group", "stratum"], "outcome",
        by=["indicator", "period_type", "period_label"], citizen="citizen_key",
        min_cell_citizens=5, national_code="000",
    )  # fmt: skip
    keys = ["indicator", "period_type", "period_label", "municipality_code"]
    merged = published.merge(expected, on=keys, how="outer", suffixes=("", "_pandas"),
                             indicator=True)  # fmt: skip
    assert (merged["_merge"] == "both").all(), merged[merged["_merge"] != "both"][keys].head()
    assert set(published["municipality_code"]) == {*MUNICIPALITIES, "000"}
    for column in ("n_citizens", "n_cases", "observed"):
        assert (merged[column].astype("Int64") == merged[f"{column}_pandas"]).fillna(True).all()
    for column, places in [("expected", 4), ("ratio", 4), ("crude_pct", 2), ("adjusted_pct", 2),
                           ("lower_95", 4), ("upper_95", 4), ("lower_998", 4), ("upper_998", 4)]:  # fmt: skip
        ours, theirs = merged[column].astype(float), merged[f"{column}_pandas"].astype(float)
        both = ours.notna() & theirs.notna()
        assert (ours.isna() == theirs.isna()).all(), column
        assert ((ours[both] - theirs[both].round(places)).abs() <= 10**-places).all(), column
    nation = published[published["municipality_code"] == "000"]
    assert (nation["ratio"].dropna() == 1.0).all() and len(nation) > 10
