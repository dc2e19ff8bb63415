"""A warehouse built once per session on 2,000 generated citizens, as the pipeline builds it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from orchestration.generate import GeneratorConfig, generate_delivery
from orchestration.ingest.load import ingest_delivery
from orchestration.settings import Settings
from orchestration.warehouse import BUILD_ARGS, run_dbt
from tests.conftest import END, START
from tests.ingest.conftest import KEY

MIN_CELL = 5  # var('min_cell_citizens')


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


def dbt_root() -> Path:
    from orchestration.warehouse import DBT_PROJECT_DIR

    return DBT_PROJECT_DIR
