"""The quality gate: Great Expectations suites that decide whether a build may be published."""

from contextlib import contextmanager

import duckdb

from orchestration.settings import Settings


@contextmanager
def gate_connection(settings: Settings, with_warehouse: bool):
    """DuckDB read-only on the warehouse (or in memory before it exists), with the raw layer
    attached read-only as raw_layer for the delivery suites."""
    con = (
        duckdb.connect(str(settings.warehouse), read_only=True)
        if with_warehouse
        else duckdb.connect()
    )
    try:
        con.execute(f"attach '{settings.raw_database}' as raw_layer (read_only)")
        yield con
    finally:
        con.close()
