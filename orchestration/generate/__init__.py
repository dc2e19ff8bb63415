"""Synthetic case-system deliveries: realistic, deterministic, fictitious, optionally defective.

Real extracts are personal data no developer or CI may hold, so every test and demo runs on
these. The same arguments give byte-identical files. Deliveries of one seed at two extract
times are consistent snapshots of one simulated history.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
from tqdm import tqdm

from orchestration.contract import load_contract, version_key
from orchestration.contract.cpr import format_cprs
from orchestration.generate.costs import budget_basis, budgets, simulate_costs
from orchestration.generate.defects import (
    FILE_DEFECTS,
    Defect,
    DefectPlanter,
    apply_overrides,
    plant_file_defect,
    write_ground_truth,
)
from orchestration.generate.organisation import OrgUnit, build_organisation, unit_pools
from orchestration.generate.population import (
    IdCounters,
    Window,
    avoid_new_year,
    simulate_chunk,
    unique_cprs,
)
from orchestration.generate.writer import (
    DIALECTS,
    CsvWriter,
    ParquetWriter,
    arrow_schema,
    to_csv_text,
)

CHUNK_CITIZENS = 10_000  # part of the output's definition: changing it changes the data
EXTRACT_HOUR = 2  # case systems export at night
TIMEZONE = ZoneInfo("Europe/Copenhagen")
EPOCH = dt.date(1970, 1, 1)


@dataclass(frozen=True)
class GeneratorConfig:
    citizens: int
    start: dt.date
    end: dt.date
    seed: int
    out: Path
    file_format: str = "csv"
    dialect: str = "excel-dk"
    defects: float = 0.0
    file_defects: tuple[str, ...] = ()
    extract_at: dt.date | None = None  # defaults to `end`
    costs: bool = False  # write the cost files of contract 1.1 (grants, payments, budgets)
    source_system: str = "effekt-synth"
    progress: bool = field(default=True, compare=False)

    @property
    def extract_date(self) -> dt.date:
        return self.extract_at or self.end

    @property
    def delivery_id(self) -> str:
        return f"{self.source_system}_{self.extract_date:%Y%m%d}T{EXTRACT_HOUR:02d}0000"

    def check(self) -> None:
        problems = []
        if self.citizens < 1:
            problems.append("--citizens must be at least 1")
        if not dt.date(1990, 1, 1) <= self.start < self.end <= dt.date(2035, 12, 31):
            problems.append("need 1990-01-01 <= --start < --end <= 2035-12-31")
        if not self.start <= self.extract_date <= self.end:
            problems.append("--extract-at must lie between --start and --end")
        if self.file_format not in ("csv", "parquet"):
            problems.append("--format must be csv or parquet")
        if self.dialect not in DIALECTS:
            problems.append(f"--dialect must be one of {', '.join(DIALECTS)}")
        if not 0 <= self.defects <= 0.2:
            problems.append("--defects must be a rate between 0 and 0.2")
        for kind in self.file_defects:
            if kind not in FILE_DEFECTS:
                problems.append(
                    f"unknown file defect {kind!r}; choose from {', '.join(FILE_DEFECTS)}"
                )
            if kind == "wrong_encoding" and self.file_format != "csv":
                problems.append("wrong_encoding applies to CSV deliveries only")
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class GeneratedDelivery:
    path: Path
    manifest: dict
    ground_truth: Path | None


def _days(d: dt.date) -> int:
    return (d - EPOCH).days


def generate_delivery(cfg: GeneratorConfig) -> GeneratedDelivery:
    """Write one delivery folder (files + manifest.json) and, with defects, its ground truth."""
    cfg.check()
    contract = load_contract()
    folder = Path(cfg.out) / cfg.delivery_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    window = Window(
        _days(cfg.start), _days(cfg.end), _days(cfg.extract_date), _days(contract.vum2_change_date)
    )
    units = build_organisation(
        cfg.citizens, window.start, window.end, np.random.default_rng([cfg.seed, 0])
    )
    pools = unit_pools(units)
    n_authorities = sum(1 for u in units if u.org_role == "authority")
    caseworkers = max(2, math.ceil(cfg.citizens * 0.5 / 35 / n_authorities))

    dialect = DIALECTS[cfg.dialect]
    writers = {
        name: CsvWriter(folder / f"{name}.csv", entity, dialect)
        if cfg.file_format == "csv"
        else ParquetWriter(folder / f"{name}.parquet", entity)
        for name, entity in contract.entities.items()
        if cfg.costs or not entity.optional
    }

    def write(name: str, table: pa.Table, overrides=()) -> None:
        if cfg.file_format == "csv":
            table = apply_overrides(
                name, to_csv_text(table, dialect), list(overrides), dialect.date_format
            )
        writers[name].write(table)

    write("org_units", _org_table(units, window.extract_at))
    used_cprs: set[int] = set()
    spare_rng = np.random.default_rng([cfg.seed, 3])
    planter = (
        DefectPlanter(
            cfg.defects,
            cfg.file_format,
            lambda n: _spare_cprs(n, used_cprs, spare_rng),
            dialect.date_format if cfg.file_format == "csv" else "%Y-%m-%d",
        )
        if cfg.defects > 0
        else None
    )
    ids = IdCounters()
    budget_years = range(cfg.start.year + 1, cfg.end.year + 1)
    basis: list[pa.Table] = []
    chunks = range(math.ceil(cfg.citizens / CHUNK_CITIZENS))
    for index in tqdm(chunks, desc="generating", unit="chunk", disable=not cfg.progress):
        n = min(CHUNK_CITIZENS, cfg.citizens - index * CHUNK_CITIZENS)
        rng = np.random.default_rng([cfg.seed, 1, index])
        tables = simulate_chunk(n, window, pools, caseworkers, ids, used_cprs, rng)
        if cfg.costs:  # from the clean interventions, before any defect is planted
            tables.update(simulate_costs(tables["interventions"], cfg.seed, window.extract_at))
            providers = dict(zip(
                tables["interventions"].column("intervention_id").to_pylist(),
                tables["interventions"].column("provider_org_unit_id").to_pylist(), strict=True,
            ))  # fmt: skip
            basis.append(budget_basis(tables["grants"], providers, budget_years, window.extract_at))
        overrides = []
        if planter:
            tables, overrides = planter.plant(
                tables, np.random.default_rng([cfg.seed, 2, index]), index == 0
            )
        for name, table in tables.items():
            write(name, table, overrides)

    if cfg.costs:
        lines = {"budgets": budgets(pa.concat_tables(basis), cfg.seed, window.extract_at)}
        if planter:
            lines, _ = planter.plant(lines, np.random.default_rng([cfg.seed, 4]), True)
        write("budgets", lines["budgets"])
    records = [w.close() for w in writers.values()]
    manifest = {
        # The oldest version that has every file written: without cost files, a v1 delivery.
        "contract_version": max((contract.entity(name).since for name in writers), key=version_key),
        "delivery_id": cfg.delivery_id,
        "source_system": cfg.source_system,
        "extract_time": dt.datetime.combine(
            cfg.extract_date, dt.time(EXTRACT_HOUR), TIMEZONE
        ).isoformat(),
        "generator": {k: str(v) for k, v in asdict(cfg).items() if k not in ("out", "progress")},
        "files": [r.manifest_entry() for r in records],
    }
    planted: list[Defect] = list(planter.planted) if planter else []
    for kind in cfg.file_defects:
        planted.append(plant_file_defect(kind, folder, manifest))
    (folder / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    truth = None
    if cfg.defects > 0 or cfg.file_defects:
        truth = Path(cfg.out) / f"{cfg.delivery_id}.ground-truth.json"
        write_ground_truth(truth, cfg.delivery_id, planted)
    return GeneratedDelivery(folder, manifest, truth)


def _org_table(units: list[OrgUnit], extract_at: int) -> pa.Table:
    visible = [u for u in units if u.opened_on <= extract_at]

    def day(d: int | None):
        return None if d is None or d > extract_at else EPOCH + dt.timedelta(days=d)

    rows = [
        {
            "org_unit_id": u.org_unit_id,
            "name": u.name,
            "level": u.level,
            "parent_org_unit_id": u.parent_org_unit_id,
            "org_role": u.org_role,
            "operating_area": u.operating_area,
            "opened_on": day(u.opened_on),
            "closed_on": day(u.closed_on),
        }
        for u in visible
    ]
    return pa.Table.from_pylist(rows, schema=arrow_schema(load_contract().entity("org_units")))


def _spare_cprs(n: int, used: set[int], rng: np.random.Generator) -> np.ndarray:
    """Fresh fictitious CPR numbers for defective rows, unique against every citizen's."""
    born = avoid_new_year(rng.integers(_days(dt.date(1940, 1, 1)), _days(dt.date(2010, 1, 1)), n))
    return format_cprs(unique_cprs(born, rng.random(n) < 0.5, used, rng))
