"""A private copy of the session warehouse, so a test can break it without breaking others."""

import shutil

import pytest

from orchestration.settings import Settings


@pytest.fixture
def own_warehouse(warehouse, tmp_path):
    """Settings whose warehouse is a copy; the raw layer is shared read-only."""
    copy = tmp_path / "effekt.duckdb"
    shutil.copy(warehouse.settings.warehouse, copy)
    return Settings(data_dir=tmp_path / "data", raw_dir=warehouse.settings.raw_dir, warehouse=copy)
