"""Quarterly reporting from the published indicators only, the way any BI client reads them.

A quarter's snapshot holds, per indicator table, the rows of every period that ends with the
quarter (the quarter itself, the rolling four quarters up to it, and the year when it is Q4), so
a fact sheet for 2019Q2 keeps showing what was published for 2019Q2 after later deliveries.

    reporting/<2019Q2>/indicators/ind_*.parquet, snapshot.json
    reporting/<2019Q2>/factsheets/index.html (the barometer) and one page per level
    reporting/<2019Q2>/comparison/index.html, with several municipalities (comparison.py)
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb

from orchestration.files import atomic_folder
from orchestration.publish import current_version
from orchestration.settings import Settings
from orchestration.tables import COMPARISON_TABLES  # snapshotted where published (not before)
from orchestration.tables import COST_TABLES as COST_TABLES  # the fact sheets' cost sections
from orchestration.tables import EFFECT_TABLES as INDICATOR_TABLES

QUARTER_LABEL = re.compile(r"^(\d{4})Q([1-4])$")


class NothingToReport(RuntimeError):
    """No published version, or none of its periods ends with the quarter asked for."""


@dataclass(frozen=True)
class Quarter:
    year: int
    q: int

    @classmethod
    def parse(cls, label: str) -> Quarter:
        match = QUARTER_LABEL.match(label.strip().upper())
        if not match:
            raise ValueError(f"{label!r} is not a quarter like 2019Q2")
        return cls(int(match[1]), int(match[2]))

    @classmethod
    def of(cls, day: dt.date) -> Quarter:
        return cls(day.year, (day.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return f"{self.year}Q{self.q}"

    @property
    def start(self) -> dt.date:
        return dt.date(self.year, 3 * self.q - 2, 1)

    @property
    def end(self) -> dt.date:
        return self.next().start - dt.timedelta(days=1)

    def next(self) -> Quarter:
        return Quarter(self.year + (self.q == 4), self.q % 4 + 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - (self.q == 1), (self.q - 2) % 4 + 1)

    def until(self, last: Quarter) -> list[Quarter]:
        """This quarter and every one after it up to `last`, inclusive."""
        if (last.year, last.q) < (self.year, self.q):
            raise ValueError(f"{last.label} comes before {self.label}")
        quarters, q = [], self
        while (q.year, q.q) <= (last.year, last.q):
            quarters.append(q)
            q = q.next()
        return quarters


def quarter_dir(settings: Settings, quarter: Quarter) -> Path:
    return settings.quarter_dir(quarter.label)


def snapshot_dir(settings: Settings, quarter: Quarter) -> Path:
    return quarter_dir(settings, quarter) / "indicators"


def fact_sheet_dir(settings: Settings, quarter: Quarter) -> Path:
    return quarter_dir(settings, quarter) / "factsheets"


def comparison_dir(settings: Settings, quarter: Quarter) -> Path:
    return quarter_dir(settings, quarter) / "comparison"


def write_quarter_snapshot(settings: Settings, quarter: Quarter) -> dict:
    """Copy the published rows for the quarter to Parquet; replace an earlier snapshot whole."""
    version = current_version(settings)
    if version is None:
        raise NothingToReport("nothing is published yet: run the daily refresh first")
    manifest = json.loads((version / "manifest.json").read_text())
    with atomic_folder(snapshot_dir(settings, quarter)) as incoming:
        con = duckdb.connect(str(version / "indicators.duckdb"), read_only=True)
        try:
            rows = {}
            published = {
                name
                for (name,) in con.execute(
                    "select table_name from duckdb_tables() where schema_name = 'main'"
                ).fetchall()
            }
            tables = [*INDICATOR_TABLES, *(t for t in COMPARISON_TABLES if t in published)]
            for table in tables:
                query = (
                    f"select * from main.{table} "
                    f"where period_end = date '{quarter.end.isoformat()}' "
                    "order by all"
                )
                con.execute(f"copy ({query}) to '{incoming / table}.parquet' (format parquet)")
                (rows[table],) = con.execute(f"select count(*) from ({query})").fetchone()
            (last_end,) = con.execute(
                "select max(period_end) from main.ind_goal_attainment"
            ).fetchone()
        finally:
            con.close()
        if not any(rows.values()):
            raise NothingToReport(
                f"published version {manifest['version']} has no indicators for "
                f"{quarter.label}; its periods end by {last_end}"
            )
        snapshot = {
            "quarter": quarter.label,
            "period_end": quarter.end.isoformat(),
            "published_version": manifest["version"],
            "deliveries": manifest["deliveries"],
            "row_counts": rows,
            "written_at": dt.datetime.now(dt.UTC).isoformat(),
        }
        (incoming / "snapshot.json").write_text(json.dumps(snapshot, indent=2))
    return snapshot
