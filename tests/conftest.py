"""Shared fixtures: small generated deliveries, made once per test session."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.generate import GeneratedDelivery, GeneratorConfig, generate_delivery
from orchestration.ingest.contract_checks import check_delivery
from orchestration.ingest.delivery import load_raw, read_manifest
from orchestration.ingest.load import ingest_delivery
from orchestration.settings import Settings
from orchestration.warehouse import BUILD_ARGS, run_dbt

START, END = dt.date(2016, 1, 1), dt.date(2019, 6, 30)
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
    manifest = read_manifest(folder)
    load_raw(con, folder, manifest)
    check_delivery(con, manifest)
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
        )
    )
    ingest_delivery(settings, delivery.path, KEY)
    run_dbt(settings, BUILD_ARGS)
    return Warehouse(settings)


@dataclass
class Operated:
    """A data folder where the daily job ran in-process, as `effekt run` runs it."""

    settings: Settings
    run: object  # orchestration.pipeline.PipelineRun
    delivery: Path  # the delivery as generated, before landing

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
    """300 citizens as Parquet: enough for every group of the pipeline, quick to build."""
    return make_delivery(citizens=300, seed=11, file_format="parquet", defects=0.01)


@pytest.fixture(scope="session")
def operated(tmp_path_factory, small_delivery) -> Operated:
    from orchestration.pipeline import run_pipeline

    os.environ.pop("DAGSTER_HOME", None)  # each data folder keeps its own instance
    settings = operated_settings(tmp_path_factory.mktemp("operated"))
    shutil.copytree(small_delivery.path, settings.landing_dir / small_delivery.path.name)
    run = run_pipeline(settings, progress=None)
    return Operated(settings, run, small_delivery.path)
