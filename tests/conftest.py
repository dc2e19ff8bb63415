"""Shared fixtures: small generated deliveries, made once per test session."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from orchestration.generate import GeneratedDelivery, GeneratorConfig, generate_delivery
from orchestration.ingest.contract_checks import check_delivery
from orchestration.ingest.delivery import load_raw, read_manifest

START, END = dt.date(2016, 1, 1), dt.date(2019, 6, 30)


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
