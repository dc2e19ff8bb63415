"""Shared fixtures: small generated deliveries, made once per test session."""

from __future__ import annotations

import datetime as dt
import json
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
