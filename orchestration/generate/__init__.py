"""Synthetic case-system deliveries: realistic, deterministic, fictitious, optionally defective.

Real extracts are personal data no developer or CI may hold, so every test and demo runs on
these. The same arguments give byte-identical files. Deliveries of one seed at two extract
times are consistent snapshots of one simulated history.

A delivery may name its municipality (`GeneratorConfig.municipality_code`, contract 1.2): it then
has the municipality's own organisation and case-mix. `generate_national` writes one such
delivery per municipality, of skewed sizes, with CPR numbers that never collide between them
but for a share of citizens who moved (docs/extract-contract.md, "Several municipalities").
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
from orchestration.generate.municipalities import (
    case_mix,
    municipality_name,
    municipality_names,
    split_citizens,
    unknown_code_message,
)
from orchestration.generate.organisation import OrgUnit, build_organisation, unit_pools
from orchestration.generate.population import (
    Arrivals,
    CaseMix,
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
MUNICIPAL_CONTRACT = "1.2"  # the version that brought the manifest's municipality_code
MOVERS_STREAM = 6  # the national generation's choice of movers: numpy's seed is [seed, 6]
MOVED_AFTER_DAYS = 180  # a mover's first case in the new municipality: half a year or more later


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
    # The kommunekode of the delivering municipality (code list municipalities.csv). With it the
    # manifest names the municipality (contract 1.2), and the organisation and case-mix are the
    # municipality's own; without it the delivery is the one-municipality delivery of contract
    # 1 or 1.1, byte for byte as before.
    municipality_code: str | None = None

    @property
    def extract_date(self) -> dt.date:
        return self.extract_at or self.end

    @property
    def delivery_id(self) -> str:
        system = self.source_system
        if self.municipality_code is not None:  # never shared by two municipalities' deliveries
            system = f"{system}-{self.municipality_code}"
        return f"{system}_{self.extract_date:%Y%m%d}T{EXTRACT_HOUR:02d}0000"

    def rng(self, *stream: int) -> np.random.Generator:
        """One of the generator's random streams; a municipality's are its own."""
        if self.municipality_code is None:
            return np.random.default_rng([self.seed, *stream])
        return np.random.default_rng([self.seed, int(self.municipality_code), *stream])

    @property
    def cost_seed(self) -> int:
        """The seed the cost files' hashed draws use; a municipality's are its own."""
        if self.municipality_code is None:
            return self.seed
        return self.seed * 1000 + int(self.municipality_code)

    @property
    def case_mix(self) -> CaseMix:
        return CaseMix() if self.municipality_code is None else case_mix(self.municipality_code)

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
        if self.municipality_code is not None:
            try:
                municipality_name(self.municipality_code)
            except ValueError as e:
                problems.append(str(e))
        if problems:
            raise ValueError("; ".join(problems))


@dataclass(frozen=True)
class GeneratedDelivery:
    path: Path
    manifest: dict
    ground_truth: Path | None


@dataclass(frozen=True)
class Roster:
    """A delivery's own citizens (movers into it left out): int64 CPR numbers and the day each
    one's first case opened, for picking movers to other municipalities."""

    cprs: np.ndarray
    entry: np.ndarray


def _days(d: dt.date) -> int:
    return (d - EPOCH).days


def generate_delivery(cfg: GeneratorConfig) -> GeneratedDelivery:
    """Write one delivery folder (files + manifest.json) and, with defects, its ground truth."""
    return _generate(cfg)[0]


def _generate(
    cfg: GeneratorConfig,
    used_cprs: set[int] | None = None,
    arrivals: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[GeneratedDelivery, Roster]:
    """`generate_delivery`, with the CPR numbers other deliveries of a national generation have
    used (they are not drawn again, and get this delivery's added), and movers into this one:
    (CPR numbers, earliest first-case day), spread evenly over its citizens."""
    cfg.check()
    used_cprs = set() if used_cprs is None else used_cprs
    if arrivals is not None and not 0 < len(arrivals[0]) <= cfg.citizens:
        raise ValueError("movers into a municipality: at least one, at most its citizens")
    contract = load_contract()
    folder = Path(cfg.out) / cfg.delivery_id
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    window = Window(
        _days(cfg.start), _days(cfg.end), _days(cfg.extract_date), _days(contract.vum2_change_date)
    )
    town = None if cfg.municipality_code is None else municipality_name(cfg.municipality_code)
    units = build_organisation(cfg.citizens, window.start, window.end, cfg.rng(0), town)
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
    spare_rng = cfg.rng(3)
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
    mix = cfg.case_mix
    roster: list[tuple[np.ndarray, np.ndarray]] = []
    moved_to = None
    if arrivals is not None:  # movers take evenly spread places among the citizens
        moved_to = np.arange(len(arrivals[0])) * cfg.citizens // len(arrivals[0])
    chunks = range(math.ceil(cfg.citizens / CHUNK_CITIZENS))
    desc = "generating" if town is None else f"generating {cfg.municipality_code} {town}"
    for index in tqdm(chunks, desc=desc, unit="chunk", disable=not cfg.progress):
        first = index * CHUNK_CITIZENS
        n = min(CHUNK_CITIZENS, cfg.citizens - first)
        chunk_arrivals = None
        if arrivals is not None:
            here = (moved_to >= first) & (moved_to < first + n)
            chunk_arrivals = Arrivals(moved_to[here] - first, arrivals[0][here], arrivals[1][here])
        tables = simulate_chunk(
            n, window, pools, caseworkers, ids, used_cprs, cfg.rng(1, index), mix,
            chunk_arrivals, roster,
        )  # fmt: skip
        if cfg.costs:  # from the clean interventions, before any defect is planted
            tables.update(simulate_costs(tables["interventions"], cfg.cost_seed, window.extract_at))
            providers = dict(zip(
                tables["interventions"].column("intervention_id").to_pylist(),
                tables["interventions"].column("provider_org_unit_id").to_pylist(), strict=True,
            ))  # fmt: skip
            basis.append(budget_basis(tables["grants"], providers, budget_years, window.extract_at))
        overrides = []
        if planter:
            tables, overrides = planter.plant(tables, cfg.rng(2, index), index == 0)
        for name, table in tables.items():
            write(name, table, overrides)

    if cfg.costs:
        lines = {"budgets": budgets(pa.concat_tables(basis), cfg.cost_seed, window.extract_at)}
        if planter:
            lines, _ = planter.plant(lines, cfg.rng(4), True)
        write("budgets", lines["budgets"])
    records = [w.close() for w in writers.values()]
    # The oldest version that has every file written: without cost files, a v1 delivery; with
    # the municipality named, 1.2.
    versions = [contract.entity(name).since for name in writers]
    if cfg.municipality_code is not None:
        versions.append(MUNICIPAL_CONTRACT)
    manifest = {
        "contract_version": max(versions, key=version_key),
        "delivery_id": cfg.delivery_id,
        "source_system": cfg.source_system,
    }
    if cfg.municipality_code is not None:
        manifest["municipality_code"] = cfg.municipality_code
    manifest |= {
        "extract_time": dt.datetime.combine(
            cfg.extract_date, dt.time(EXTRACT_HOUR), TIMEZONE
        ).isoformat(),
        "generator": {
            k: str(v)
            for k, v in asdict(cfg).items()
            if k not in ("out", "progress") and not (k == "municipality_code" and v is None)
        },
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
    own = Roster(
        np.concatenate([c for c, _ in roster]) if roster else np.empty(0, np.int64),
        np.concatenate([e for _, e in roster]) if roster else np.empty(0, np.int64),
    )
    return GeneratedDelivery(folder, manifest, truth), own


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


@dataclass(frozen=True)
class NationalGeneration:
    deliveries: list[GeneratedDelivery]  # one per municipality, in the order of the codes
    sizes: dict[str, int]  # citizens per municipality code
    movers: int  # citizens in two municipalities' deliveries, with the same CPR number


def generate_national(
    codes: list[str],
    citizens_total: int,
    start: dt.date,
    end: dt.date,
    seed: int,
    out: Path,
    movers: float = 0.01,
    **options,
) -> NationalGeneration:
    """One delivery per municipality under `out`, as a national body receives them.

    `citizens_total` is split skewed over the municipalities, the first the largest
    (`split_citizens`: a big city, then smaller towns). No CPR number is drawn twice across the
    deliveries, but for `movers` (a share of `citizens_total`): citizens of one municipality who
    moved to one later in the list, where their first case opens at least half a year after
    their first case in the old one; both deliveries hold them, with the same CPR number (and so
    the same birth date and sex). `options` are GeneratorConfig's (file_format, dialect,
    defects, costs, extract_at, ...), the same for every municipality. Same arguments, same bytes.
    """
    codes = [str(c).strip() for c in codes]
    unknown = [c for c in codes if c not in municipality_names()]
    if unknown:
        raise ValueError("; ".join(unknown_code_message(c) for c in unknown))
    if len(set(codes)) < len(codes):
        repeated = sorted({c for c in codes if codes.count(c) > 1})
        raise ValueError(f"municipality code given twice: {', '.join(repeated)}")
    if not 0 <= movers <= 0.1:
        raise ValueError("movers must be a share between 0 and 0.1, e.g. 0.01")
    sizes = split_citizens(citizens_total, len(codes))
    configs = [
        GeneratorConfig(
            citizens=size, start=start, end=end, seed=seed, out=Path(out), municipality_code=code,
            **options,
        )
        for code, size in zip(codes, sizes, strict=True)
    ]  # fmt: skip
    for cfg in configs:  # every problem before anything is written
        cfg.check()
    rng = np.random.default_rng([seed, MOVERS_STREAM])
    plan = _plan_movers(sizes, round(movers * citizens_total), rng)
    used: set[int] = set()  # every CPR number of the generation so far
    arriving: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in codes]
    deliveries, moved = [], 0
    for i, cfg in enumerate(configs):
        arrivals = None
        if arriving[i]:
            arrivals = (
                np.concatenate([c for c, _ in arriving[i]]),
                np.concatenate([e for _, e in arriving[i]]),
            )
        delivery, roster = _generate(cfg, used, arrivals)
        deliveries.append(delivery)
        # Who leaves for each later municipality: distinct citizens of this delivery's own.
        wanted = plan[i]
        take = min(int(wanted.sum()), len(roster.cprs))
        picked = rng.choice(len(roster.cprs), take, replace=False)
        taken = 0
        for j, count in enumerate(wanted.tolist()):
            count = min(count, take - taken)
            if count > 0:
                chosen = np.sort(picked[taken : taken + count])
                arriving[j].append((roster.cprs[chosen], roster.entry[chosen] + MOVED_AFTER_DAYS))
                taken += count
        moved += taken
    return NationalGeneration(deliveries, dict(zip(codes, sizes, strict=True)), moved)


def _plan_movers(sizes: list[int], n: int, rng: np.random.Generator) -> np.ndarray:
    """How many move from municipality i to a later j (plan[i, j], i < j): `n` in all, each
    pair's chance by the product of the two sizes; at most half a municipality arrives."""
    k = len(sizes)
    size = np.array(sizes, dtype=np.int64)
    plan = np.zeros((k, k), dtype=np.int64)
    pairs = [(i, j) for i in range(k) for j in range(i + 1, k)]
    if not pairs or n == 0:
        return plan
    weight = np.array([size[i] * size[j] for i, j in pairs], dtype=float)
    for (i, j), count in zip(pairs, rng.multinomial(n, weight / weight.sum()), strict=True):
        plan[i, j] = count
    for j in range(k):
        while plan[:, j].sum() > size[j] // 2:
            plan[np.argmax(plan[:, j]), j] -= 1
    return plan
