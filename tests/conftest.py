"""Shared fixtures: small generated deliveries, made once per test session."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

from orchestration.disclosure import DisclosureRules
from orchestration.disclosure.suppression import suppress
from orchestration.generate import GeneratedDelivery, GeneratorConfig, generate_delivery
from orchestration.ingest.contract_checks import read_and_check
from orchestration.ingest.load import ingest_delivery
from orchestration.publish import current_version
from orchestration.reporting import Quarter, fact_sheet_dir
from orchestration.reporting.barometer import TARGETS_FILE
from orchestration.settings import Settings
from orchestration.warehouse import BUILD_ARGS, run_dbt

START, END = dt.date(2016, 1, 1), dt.date(2019, 6, 30)
# The longest test files: handed out first, so that parallel workers (pytest-xdist, a file per
# worker) do not end with one of them alone on a file of many pipeline runs. xdist's own order is
# by the number of tests in a file, which puts a file with one long test last.
LONGEST_FIRST = (
    "tests/test_daily_history.py",
    "tests/warehouse/test_spark.py",
    "tests/warehouse/test_municipalities.py",
    "tests/test_several_municipalities.py",
)


def pytest_xdist_make_scheduler(config, log):
    if config.getoption("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class LongestFirst(LoadFileScheduling):
        def _assign_work_unit(self, node) -> None:
            for scope in reversed(LONGEST_FIRST):
                if scope in self.workqueue:
                    self.workqueue.move_to_end(scope, last=False)
            super()._assign_work_unit(node)

    return LongestFirst(config, log)


KEY = b"test-key-0123456789abcdef-not-a-real-secret"


@pytest.fixture(scope="session")
def make_delivery(tmp_path_factory) -> Callable[..., GeneratedDelivery]:
    """Generate a delivery into a fresh folder; same keyword arguments, same cached result."""
    cache: dict[tuple, GeneratedDelivery] = {}

    def make(**kwargs) -> GeneratedDelivery:
        args = {"citizens": 400, "start": START, "end": END, "seed": 42, **kwargs}
        key = tuple(sorted((k, str(v)) for k, v in args.items()))
        if key not in cache:
            out = tmp_path_factory.mktemp("landing")
            cache[key] = generate_delivery(GeneratorConfig(out=out, progress=False, **args))
        return cache[key]

    return make


@pytest.fixture(scope="session")
def clean_delivery(make_delivery) -> GeneratedDelivery:
    """1,500 citizens over 2016-2019 H1: spans the 2017 instrument change."""
    return make_delivery(citizens=1500)


def load_checked(folder: Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the delivery's raw tables and contract findings."""
    con = duckdb.connect()
    read_and_check(con, folder)
    return con


def ground_truth(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["defects"]


@dataclass
class Warehouse:
    settings: Settings

    def query(self, sql: str) -> pd.DataFrame:
        con = duckdb.connect(str(self.settings.warehouse), read_only=True)
        try:
            return con.execute(sql).df()
        finally:
            con.close()

    def table(self, name: str) -> pd.DataFrame:
        return self.query(f"select * from {name}")


@pytest.fixture(scope="session")
def warehouse(tmp_path_factory) -> Warehouse:
    settings = Settings(data_dir=tmp_path_factory.mktemp("warehouse") / "data")
    delivery = generate_delivery(
        GeneratorConfig(
            citizens=2000,
            start=START,
            end=END,
            seed=11,
            out=settings.landing_dir,
            defects=0.005,
            progress=False,
            costs=True,  # contract 1.1's cost files: the other tables are as without them
        )
    )
    ingest_delivery(settings, delivery.path, KEY)
    run_dbt(settings, BUILD_ARGS)
    # The open copies with secondary suppression, as the pipeline makes them after the build.
    con = duckdb.connect(str(settings.warehouse))
    try:
        suppress(con, DisclosureRules())
    finally:
        con.close()
    return Warehouse(settings)


@dataclass
class Operated:
    """A data folder where the daily job ran in-process, as `effekt run` runs it."""

    settings: Settings
    run: object  # orchestration.pipeline.PipelineRun
    delivery: Path  # the delivery as generated, before landing
    first_version: Path  # a copy of the version the first run published (later runs move on)
    environment: list[str]  # the EFFEKT_* variables and DAGSTER_HOME the run saw: none
    workdir: Path  # the (empty) working directory the run was started in

    def instance(self):
        from orchestration.instance import get_instance

        return get_instance(self.settings)


def key_file(folder: Path) -> Path:
    path = folder / "pseudonym.key"
    path.write_bytes(KEY)
    path.chmod(0o600)
    return path


def operated_settings(root: Path) -> Settings:
    return Settings(data_dir=root / "data", pseudonym_key_file=key_file(root))


@pytest.fixture(scope="session")
def small_delivery(make_delivery) -> GeneratedDelivery:
    """300 citizens as Parquet, with contract 1.1's cost files: enough for every group of the
    pipeline, quick to build."""
    return make_delivery(citizens=300, seed=11, file_format="parquet", defects=0.01, costs=True)


@pytest.fixture(scope="session")
def operated(tmp_path_factory, small_delivery) -> Operated:
    """The daily job on its settings alone: no EFFEKT_* variable, no DAGSTER_HOME, started in an
    empty working directory (tests/test_settings.py checks it needed nothing else)."""
    from orchestration.pipeline import run_pipeline

    os.environ.pop("DAGSTER_HOME", None)  # each data folder keeps its own instance
    settings = operated_settings(tmp_path_factory.mktemp("operated"))
    shutil.copytree(small_delivery.path, settings.landing_dir / small_delivery.path.name)
    workdir = tmp_path_factory.mktemp("operated-workdir")
    with pytest.MonkeyPatch.context() as patch:
        for variable in list(os.environ):
            if variable.startswith("EFFEKT_"):
                patch.delenv(variable)
        patch.chdir(workdir)
        seen = sorted(v for v in os.environ if v.startswith("EFFEKT_") or v == "DAGSTER_HOME")
        refresh = run_pipeline(settings, progress=None)
    assert not refresh.failed, refresh.failed
    first = tmp_path_factory.mktemp("first-version") / "version"
    shutil.copytree(current_version(settings), first)
    return Operated(settings, refresh.last, small_delivery.path, first, seen, workdir)


@dataclass
class Published:
    """A data folder (with a pseudonym key beside it) where `effekt run` published one delivery."""

    root: Path
    delivery_id: str

    def copy(self, root: Path) -> Settings:
        """A copy of the data folder below `root`, for a test to go on from."""
        shutil.copytree(self.root / "data", root / "data", symlinks=True)
        return operated_settings(root)


@pytest.fixture(scope="session")
def published_march(tmp_path_factory) -> Published:
    """The delivery of 900 citizens extracted on 2019-03-31 that the gate tests land first
    (tests/publish/test_refresh_gate.py, `_land`), published by the daily refresh: where they
    start, each from a copy."""
    from orchestration.pipeline import run_pipeline
    from tests.publish.test_refresh_gate import _land

    os.environ.pop("DAGSTER_HOME", None)
    root = tmp_path_factory.mktemp("published-march")
    settings = operated_settings(root)
    delivery_id = _land(settings, root / "store", dt.date(2019, 3, 31))
    refresh = run_pipeline(settings, progress=None)
    assert not refresh.failed and refresh.published_version, refresh.failed
    return Published(root, delivery_id)


REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "build" / "test-artifacts"  # screenshots; CI keeps this folder
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture(scope="session")
def browser():
    """Headless Chromium, as CI installs it from the Debian packages."""
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        if os.environ.get("CI"):
            pytest.fail(
                "headless Chromium is missing: .ci/run installs chromium and chromium-driver"
            )
        pytest.skip("install the Debian packages chromium and chromium-driver to run browser tests")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1600,1000"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(120)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


@pytest.fixture(scope="session")
def postgres():
    """A real PostgreSQL server of the tests' own, as the BI tools' target."""
    from tests.postgres_server import start_server

    server = start_server()
    if server is None:
        if os.environ.get("CI"):
            pytest.fail("the PostgreSQL server is missing: .ci/run installs the package postgresql")
        pytest.skip("install the Debian package postgresql to run the PostgreSQL tests")
    yield server
    server.stop()


@pytest.fixture
def postgres_database(postgres, request) -> str:
    """A new, empty database on the tests' server: its connection string."""
    import psycopg

    name = "effekt_" + "".join(c if c.isalnum() else "_" for c in request.node.name)[:50].lower()
    with psycopg.connect(postgres.dsn(), autocommit=True) as pg:
        pg.execute(f"drop database if exists {name}")
        pg.execute(f"create database {name}")
    return postgres.dsn(dbname=name)


QUARTER = Quarter.parse("2019Q2")


@dataclass
class Reported:
    operated: object
    quarter: Quarter
    sheets: Path  # the quarter's factsheets folder
    version: Path  # the published version they were made from
    targets: Path  # the barometer's targets they were made with


@pytest.fixture(scope="session")
def reported(operated, tmp_path_factory) -> Iterator[Reported]:
    """Targets from a file of our own: the 300 test citizens spread thin over 20 units."""
    from orchestration.pipeline import run_backfill

    targets = yaml.safe_load(TARGETS_FILE.read_text()) | {"min_citizens_for_unit_sheet": 5}
    path = tmp_path_factory.mktemp("targets") / "targets.yaml"
    path.write_text(yaml.safe_dump(targets))
    [run] = run_backfill(
        dataclasses.replace(operated.settings, barometer_targets=path), QUARTER, QUARTER,
        progress=None,
    )  # fmt: skip
    assert run.success, run.error
    yield Reported(
        operated, QUARTER, fact_sheet_dir(operated.settings, QUARTER),
        current_version(operated.settings), path,
    )  # fmt: skip
