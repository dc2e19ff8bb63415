"""Publishing where BI tools connect: a real PostgreSQL server, an atomic switch, roles that keep
the restricted marts restricted, and tables that describe themselves."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import duckdb
import psycopg
import pytest

from orchestration.publish import current_version, publish
from orchestration.publish.postgres import PostgresPublishError
from tests.publish.test_publish import PASSED

OPEN, RESTRICTED = "effekt_open", "effekt_restricted"


@pytest.fixture
def target(own_warehouse, postgres_database):
    """Settings that publish to a database of their own on the tests' server."""
    return dataclasses.replace(own_warehouse, postgres_dsn=postgres_database)


def duckdb_rows(path: Path, schema: str) -> dict[str, Counter]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = con.execute(
            "select table_name from duckdb_tables() where schema_name = ?", [schema]
        ).fetchall()
        return {
            t: Counter(con.execute(f"select * from {schema}.{t}").fetchall()) for (t,) in tables
        }
    finally:
        con.close()


def postgres_rows(dsn: str, schema: str) -> dict[str, Counter]:
    with psycopg.connect(dsn) as pg:
        tables = pg.execute(
            "select tablename from pg_tables where schemaname = %s and tablename <> 'publication'",
            [schema],
        ).fetchall()
        return {t: Counter(pg.execute(f"select * from {schema}.{t}").fetchall()) for (t,) in tables}


def published_version(dsn: str) -> str:
    with psycopg.connect(dsn) as pg:
        return pg.execute(f"select version from {OPEN}.publication").fetchone()[0]


def publish_waiting_for_a_reader(settings, run_id: str, caplog) -> tuple[threading.Thread, list]:
    """A publish in the background, once its switch waits for a reader: the thread, and a list
    that holds the published version when it is done."""
    done: list = []
    publishing = threading.Thread(
        target=lambda: done.append(publish(settings, run_id, PASSED)), daemon=True
    )
    publishing.start()
    deadline = time.monotonic() + 120
    while "a reader holds the published tables" not in caplog.text:
        assert publishing.is_alive() and time.monotonic() < deadline, "the switch did not wait"
        time.sleep(0.2)
    return publishing, done


def test_a_publish_puts_the_same_rows_with_their_descriptions_into_postgresql(target):
    version = publish(target, "run-1", PASSED)
    dsn = target.postgres_dsn
    # The open schema: every indicator and code list, row for row as in the DuckDB file.
    expected_open = duckdb_rows(version.path / "indicators.duckdb", "main") | duckdb_rows(
        version.path / "indicators.duckdb", "codes"
    )
    found_open = postgres_rows(dsn, OPEN)
    assert set(found_open) == set(expected_open) and len(found_open) >= 9 + 10
    for table, rows in expected_open.items():
        assert found_open[table] == rows, table
    # The restricted schema: the marts.
    assert postgres_rows(dsn, RESTRICTED) == duckdb_rows(version.path / "marts.duckdb", "main")
    assert published_version(dsn) == version.version
    # Every table and column carries its description, as BI tools show them.
    with psycopg.connect(dsn) as pg:
        undescribed = pg.execute(
            "select c.table_schema || '.' || c.table_name || '.' || c.column_name "
            "from information_schema.columns c "
            "join pg_class t on t.relname = c.table_name "
            "join pg_namespace n on n.oid = t.relnamespace and n.nspname = c.table_schema "
            "where c.table_schema in (%s, %s) and c.table_name <> 'publication' and "
            "coalesce(col_description(t.oid, c.ordinal_position), '') = ''",
            [OPEN, RESTRICTED],
        ).fetchall()
        tables = pg.execute(
            "select n.nspname, c.relname, obj_description(c.oid, 'pg_class') from pg_class c "
            "join pg_namespace n on n.oid = c.relnamespace where n.nspname in (%s, %s) "
            "and c.relkind = 'r' and c.relname <> 'publication'",
            [OPEN, RESTRICTED],
        ).fetchall()
    assert not undescribed
    assert all(description for _, _, description in tables)
    # The manifest says where the version is, without the connection's credentials.
    manifest = json.loads((version.path / "manifest.json").read_text())
    postgresql = manifest["targets"]["postgresql"]
    assert postgresql["version"] == version.version
    assert postgresql["schemas"] == {"open": OPEN, "restricted": RESTRICTED}
    assert "password" not in json.dumps(manifest) and "user" not in postgresql


def test_the_open_role_cannot_read_the_restricted_schema(target):
    publish(target, "run-1", PASSED)
    dsn = target.postgres_dsn
    with psycopg.connect(dsn, autocommit=True) as pg:
        pg.execute("create role bi_open login in role effekt_open_reader")
        pg.execute("create role bi_analyst login in role effekt_restricted_reader")
    as_open = dsn.replace("user=effekt_test", "user=bi_open")
    as_analyst = dsn.replace("user=effekt_test", "user=bi_analyst")
    with psycopg.connect(as_open) as pg:
        assert pg.execute(f"select count(*) from {OPEN}.ind_goal_attainment").fetchone()[0] > 0
        assert pg.execute(f"select count(*) from {OPEN}.life_themes").fetchone()[0] > 0
        assert pg.execute(f"select version from {OPEN}.publication").fetchone()  # docs/bi.md's
    with psycopg.connect(as_open) as pg, pytest.raises(psycopg.errors.InsufficientPrivilege):
        pg.execute(f"select count(*) from {RESTRICTED}.fct_goals")
    with psycopg.connect(as_analyst) as pg:
        assert pg.execute(f"select count(*) from {RESTRICTED}.fct_goals").fetchone()[0] > 0
        assert pg.execute(f"select count(*) from {OPEN}.ind_goal_attainment").fetchone()[0] > 0
    # The grants go with every new version: the roles still read after the next switch.
    publish(target, "run-2", PASSED)
    with psycopg.connect(as_open) as pg:
        assert pg.execute(f"select count(*) from {OPEN}.ind_key_figures").fetchone()[0] > 0


def test_a_reader_holding_a_transaction_sees_one_version_across_a_publish(target, caplog):
    """The switch waits for a reader who has read the current version, so the reader's next
    table is of the same version; once the reader's transaction ends, the new version is in."""
    first = publish(target, "run-1", PASSED)
    # The next build differs: one unit's goal attainment rows are gone.
    con = duckdb.connect(str(target.warehouse))
    con.execute("delete from open.ind_goal_attainment where org_level = 3 and period_type = 'year'")
    con.close()
    caplog.set_level(logging.INFO, logger="orchestration.publish.postgres")
    dsn = target.postgres_dsn
    reader = psycopg.connect(dsn)  # a transaction begins with its first statement
    before = reader.execute(f"select count(*) from {OPEN}.ind_goal_attainment").fetchone()[0]
    publishing, second = publish_waiting_for_a_reader(target, "run-2", caplog)
    # Mid-publish: the reader's other tables, and the version, are still the first's.
    assert reader.execute(f"select version from {OPEN}.publication").fetchone()[0] == first.version
    assert (
        reader.execute(f"select count(*) from {OPEN}.ind_goal_attainment").fetchone()[0] == before
    )
    reader.commit()
    reader.close()
    publishing.join(timeout=120)
    assert second, "the publish did not finish once the reader was done"
    assert published_version(dsn) == second[0].version == current_version(target).name
    with psycopg.connect(dsn) as pg:
        after = pg.execute(f"select count(*) from {OPEN}.ind_goal_attainment").fetchone()[0]
    assert after < before


def test_a_reader_of_the_previous_version_is_waited_for_and_blocks_no_one(target, caplog):
    """The switch drops the version before the current one: a reader still on it is waited for
    like a reader of the current one, and meanwhile other readers go on."""
    publish(target, "run-1", PASSED)
    second = publish(target, "run-2", PASSED)
    caplog.set_level(logging.INFO, logger="orchestration.publish.postgres")
    dsn = target.postgres_dsn
    comparing = psycopg.connect(dsn)
    comparing.execute("select count(*) from effekt_previous_open.ind_key_figures").fetchone()
    publishing, third = publish_waiting_for_a_reader(target, "run-3", caplog)
    with psycopg.connect(dsn) as other:  # not blocked behind the waiting switch
        other.execute("set statement_timeout = '5s'")
        assert published_version(dsn) == second.version
        assert other.execute(f"select count(*) from {OPEN}.ind_key_figures").fetchone()[0] > 0
    comparing.commit()
    comparing.close()
    publishing.join(timeout=120)
    assert third and published_version(dsn) == third[0].version


KILLED = """
import sys
from pathlib import Path
from orchestration.publish import publish
from orchestration.settings import Settings
settings = Settings(data_dir=Path(sys.argv[1]), raw_dir=Path(sys.argv[2]),
                    warehouse=Path(sys.argv[3]), postgres_dsn=sys.argv[4])
def loaded(table):
    if table.startswith("postgresql"):
        print(table, flush=True)
        input()  # killed here, half-way through loading PostgreSQL
publish(settings, "run-2", {"passed": True, "errors": 0, "warnings": 0, "failures": []},
        on_table=loaded)
"""


def test_a_publish_killed_mid_load_leaves_the_previous_version_readable_and_current(target):
    first = publish(target, "run-1", PASSED)
    s = target
    child = subprocess.Popen(
        [sys.executable, "-c", KILLED, str(s.data_dir), str(s.raw_dir), str(s.warehouse),
         s.postgres_dsn],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout.readline().startswith("postgresql")  # one table loaded into PostgreSQL
    os.kill(child.pid, signal.SIGKILL)
    child.wait()
    dsn = s.postgres_dsn
    deadline = time.monotonic() + 30  # the server notices the client is gone and rolls back
    while True:
        with psycopg.connect(dsn) as pg:
            busy = pg.execute(
                "select count(*) from pg_stat_activity where datname = current_database() "
                "and pid <> pg_backend_pid()"
            ).fetchone()[0]
        if not busy or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert published_version(dsn) == first.version
    assert (
        postgres_rows(dsn, OPEN)["ind_key_figures"]
        == duckdb_rows(first.path / "indicators.duckdb", "main")["ind_key_figures"]
    )
    with psycopg.connect(dsn) as pg:
        schemas = {n for (n,) in pg.execute("select nspname from pg_namespace").fetchall()}
    assert not {n for n in schemas if "incoming" in n}
    assert current_version(s) == first.path
    # The next publish goes through.
    third = publish(s, "run-3", PASSED)
    assert published_version(dsn) == third.version


def test_an_unreachable_target_publishes_nothing_and_says_why(own_warehouse, tmp_path):
    first = publish(own_warehouse, "run-1", PASSED)
    unreachable = dataclasses.replace(
        own_warehouse, postgres_dsn=f"host={tmp_path / 'no-server'} dbname=bi connect_timeout=2"
    )
    with pytest.raises(PostgresPublishError, match="PostgreSQL target not updated"):
        publish(unreachable, "run-2", PASSED)
    assert current_version(own_warehouse) == first.path
    assert not list((own_warehouse.published_dir / "versions").glob(".incoming-*"))


def test_a_connection_string_that_cannot_be_read_is_refused_without_quoting_it(own_warehouse):
    """A connection string holds a password: a broken one is refused by its setting's name, and
    neither the error nor anything written quotes it."""
    first = publish(own_warehouse, "run-1", PASSED)
    broken = dataclasses.replace(
        own_warehouse, postgres_dsn="host=bi-db password=hunter2-secret dbname"
    )
    with pytest.raises(PostgresPublishError, match="EFFEKT_POSTGRES_DSN") as refused:
        publish(broken, "run-2", PASSED)
    assert "hunter2" not in str(refused.value)
    assert current_version(own_warehouse) == first.path
    written = [
        p for p in own_warehouse.data_dir.rglob("*") if p.is_file() and p.suffix != ".duckdb"
    ]
    assert not [p for p in written if b"hunter2" in p.read_bytes()]


def test_a_schema_prefix_that_is_not_a_plain_name_is_refused(target):
    with pytest.raises(PostgresPublishError, match="EFFEKT_POSTGRES_SCHEMA_PREFIX"):
        publish(dataclasses.replace(target, postgres_schema_prefix="bi; drop"), "run-1", PASSED)
