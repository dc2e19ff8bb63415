"""Run the expectation suites on the full data with Great Expectations, and say whether to publish.

DuckDB is not a GX SQL dialect (its SQL data source fails every metric), so each suite's batch
is read from DuckDB through Arrow into pandas and validated there, on every row of the batch.
On a daily run the row-level suites' batch is the rows changed since the published delivery
(`row_scope`); table-level and plausibility suites always see the whole. The suites are code
(suites.py); each run configures an ephemeral GX context, so it keeps nothing between runs and
never writes into the repository, and builds its Data Docs into the run's report folder
(expectations/README.md says why not a file context).

The suites module imports GX, which takes seconds: it is imported where a gate runs, so that
`effekt status` and the reports read results (GateResult, load_gate_results) without it.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from orchestration.quality import gate_connection
from orchestration.quality.acceptance import batch_parameters, for_manifest
from orchestration.settings import Settings, Thresholds
from orchestration.warehouse import BUILD_RULE_FILES, digest_rule_files

log = logging.getLogger(__name__)
RECORDS_KEPT = 10_000  # failing records listed per expectation; the count is always exact
# A suite whose expectations each judge one row at a time is validated in batches of this many
# rows, so the gate's memory does not grow with the data (at 1,000,000 citizens one batch of
# the 72 million assessment scores would need some 20 GB in pandas). A suite with a table-wide
# expectation (a unique key) is validated whole.
BATCH_ROWS = 4_000_000
DEFAULT_THRESHOLDS = Thresholds()


@dataclass
class Failure:
    suite: str
    expectation: str
    column: str
    severity: str
    explanation_da: str
    explanation_en: str
    unexpected_count: int
    element_count: int
    records: list[dict] = field(default_factory=list)


@dataclass
class GateResult:
    run_id: str
    report_dir: Path
    suites: dict[str, dict] = field(default_factory=dict)  # name -> {success, seconds, rows}
    failures: list[Failure] = field(default_factory=list)
    baseline: dict | None = None  # the delivery gate's: {delivery_id, source}
    row_level: dict | None = None  # the build gate's row scope: fingerprint, since, why
    # drops operators accepted that the delivery gate applied (see acceptance.py)
    acceptances: list[dict] = field(default_factory=list)

    @property
    def errors(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "error"]

    @property
    def warnings(self) -> list[Failure]:
        return [f for f in self.failures if f.severity == "warning"]

    @property
    def passed(self) -> bool:
        return not self.errors

    def summary(self) -> dict:
        return {
            "run_id": self.run_id,
            "passed": self.passed,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "suites": self.suites,
            "baseline": self.baseline,
            "row_level": self.row_level,
            "acceptances": self.acceptances,
            "failures": [
                {k: v for k, v in f.__dict__.items() if k != "records"} for f in self.failures
            ],
        }

    def failures_of(self, suite: str) -> list[Failure]:
        return [f for f in self.failures if f.suite == suite]


def docs_folder(report_dir: Path, gate_name: str) -> Path:
    """Where a gate's Data Docs go: a folder per gate, because GX's index builder deletes every
    page it has no result for, so a second gate in a shared folder would delete the first's."""
    return report_dir / "data_docs" / gate_name


def run_gate(
    settings: Settings, run_id: str, report_dir: Path, suites: list[str],
    thresholds: Thresholds = DEFAULT_THRESHOLDS, gate_name: str = "build", batch_rows: int = BATCH_ROWS,
) -> GateResult:  # fmt: skip
    """Validate the named suites on the full data; write Data Docs under
    report_dir/data_docs/<gate_name> and the outcome, failing records included, to
    report_dir/gate-<gate_name>.json for people (publishing goes by the Dagster checks' results,
    see quality/assets.py). Row-wise suites are read and validated `batch_rows` rows at a time,
    their failures added up."""
    from orchestration.quality.suites import SUITES

    report_dir.mkdir(parents=True, exist_ok=True)
    context = _context(docs_folder(report_dir, gate_name))
    source = context.data_sources.add_pandas("effekt")
    result = GateResult(run_id, report_dir)
    needs_warehouse = any("{raw}" not in SUITES[name].sql for name in suites)
    try:
        with gate_connection(settings, needs_warehouse) as con:
            _validate(context, source, con, settings, result, suites, thresholds, batch_rows)
    except Exception:
        # Logged before the docs are built, so an error there cannot hide this one.
        log.exception("%s gate: a suite raised; Data Docs hold the results before it", gate_name)
        raise
    finally:
        # Once, after every suite (also when one raised): the docs of every result validated so
        # far. An UpdateDataDocsAction per checkpoint rebuilt the site's index each time and
        # spent more than half the gate's time rendering (8 of 15 s at tier M, a daily run).
        context.build_data_docs(site_names=["run"])
    full = result.summary() | {"failures": [f.__dict__ for f in result.failures]}
    (report_dir / f"gate-{gate_name}.json").write_text(
        json.dumps(full, indent=2, default=str), encoding="utf-8"
    )
    return result


def _context(docs: Path):
    """An ephemeral GX context configured in code, as GX documents for a context without a
    project folder (DataContextConfig): in-memory stores, one Data Docs site in `docs`, and no
    progress bars (the config's `progress_bars` mapping, as great_expectations.yml would hold it;
    GX's ProgressBarsConfig class is not public API)."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
    )

    site = {
        "class_name": "SiteBuilder",
        "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": str(docs)},
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={"run": site},
        progress_bars={"globally": False},
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _validate(context, source, con: duckdb.DuckDBPyConnection, settings: Settings,
              result: GateResult, suites: list[str], thresholds: Thresholds, batch_rows: int) -> None:  # fmt: skip
    """Each suite's batch read and validated (row-wise suites in batches), its outcome added to
    `result`; GX stores every validation result in the context for the Data Docs."""
    import great_expectations as gx

    from orchestration.quality.suites import ID_COLUMNS, SUITES

    params = {"raw": "raw_layer.raw", "max_drop": thresholds.max_drop}
    if any("{baseline}" in SUITES[name].sql for name in suites):
        delivery_params, baseline, applied = batch_parameters(settings, con, thresholds.max_drop)
        params |= delivery_params
        result.baseline = {"delivery_id": baseline.delivery_id, "source": baseline.source}
        result.acceptances = for_manifest(applied)
        log.info("delivery gate baseline: %s (%s)", baseline.delivery_id, baseline.source)
    scope = None
    if any(SUITES[name].scope for name in suites):
        scope = row_scope(settings, con, thresholds)
        result.row_level = scope.__dict__
        log.info("row-level suites: %s", scope.why)
    for name in suites:
        started = time.perf_counter()
        sql = SUITES[name].sql.format(**params)
        if scope and scope.since_seq and SUITES[name].scope:
            column, keys = SUITES[name].scope
            new = (
                f"(select delivery_id from raw_layer.raw.deliveries where seq > {scope.since_seq})"
            )
            sql = f"select * from ({sql}) as batch where {column} in ({keys.format(new=new)})"
        suite = context.suites.add(SUITES[name].expectation_suite(thresholds))
        batch = source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
        definition = context.validation_definitions.add(
            gx.ValidationDefinition(name=name, data=batch, suite=suite)
        )
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=name,
                validation_definitions=[definition],
                result_format={
                    "result_format": "COMPLETE",
                    "unexpected_index_column_names": ID_COLUMNS,
                },
            )
        )
        failed: dict[int, Failure] = {}  # by the expectation's place in the suite
        rows = batches = 0
        success = True
        for frame in _frames(con.sql(sql), batch_rows if SUITES[name].row_wise else None):
            run = checkpoint.run(batch_parameters={"dataframe": frame})
            success &= run.success
            rows, batches = rows + len(frame), batches + 1
            for validation in run.run_results.values():
                for place, r in enumerate(validation.results):
                    if not r.success:
                        _add_failure(failed, place, _failure(name, r, ID_COLUMNS))
        for place in sorted(failed):
            failed[place].element_count = rows
            result.failures.append(failed[place])
        result.suites[name] = {
            "success": success,
            "rows": rows,
            "batches": batches,
            "seconds": round(time.perf_counter() - started, 2),
        }
        log.info("suite %s: %s on %s rows", name, "passed" if success else "failed", rows)


@dataclass(frozen=True)
class RowScope:
    """Which rows the row-level suites validate: those whose version came after delivery number
    `since_seq` (0: every row), in the state built from delivery number `through_seq`; and why."""

    since_seq: int
    through_seq: int | None
    fingerprint: str
    why: str


def rules_fingerprint(thresholds: Thresholds, suites: dict | None = None) -> str:
    """A digest of everything besides a row that decides its verdict: the dbt project (models,
    macros, code lists), the contract and its code, the thresholds and the suites' definitions
    with them applied (`suites`: the gate's own, unless given)."""
    from orchestration.quality.suites import definitions

    seed = repr(thresholds).encode() + b"\0" + definitions(thresholds, suites).encode()
    return digest_rule_files(BUILD_RULE_FILES, seed=seed)


def row_scope(
    settings: Settings, con: duckdb.DuckDBPyConnection, thresholds: Thresholds
) -> RowScope:
    """Rows changed since the state the published version was validated on, under the same
    rules; else every row. The validated state is the one the published version's gate saw
    (its `through_seq`), not whatever delivery was current when it was published."""
    from orchestration.publish import current_version

    fingerprint = rules_fingerprint(thresholds)
    through = con.execute(
        "select seq from raw_layer.raw.deliveries where delivery_id = "
        "(select delivery_id from staging.stg_current_delivery)"
    ).fetchall()
    through_seq = through[0][0] if through else None
    version = current_version(settings)
    manifest = version / "manifest.json" if version else None
    if manifest is None or not manifest.exists():
        return RowScope(0, through_seq, fingerprint, "nothing is published yet: every row")
    published = json.loads(manifest.read_text(encoding="utf-8"))["checks"].get("row_level") or {}
    if published.get("fingerprint") != fingerprint:
        return RowScope(0, through_seq, fingerprint, "models, code lists, suites or thresholds changed since the published version: every row")  # fmt: skip
    since = published.get("through_seq")
    if not since or through_seq is None or since > through_seq:
        return RowScope(0, through_seq, fingerprint, "the published version's state is not in the history: every row")  # fmt: skip
    return RowScope(since, through_seq, fingerprint,
                    f"rows changed since delivery number {since}, the state published (and rows whose parent changed)")  # fmt: skip


def load_gate_results(report_dir: Path) -> GateResult:
    """Every gate of a run as one result: what publishing and the reports go by."""
    combined = GateResult(report_dir.name, report_dir)
    for path in sorted(report_dir.glob("gate-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        combined.suites.update(data["suites"])
        combined.baseline = data.get("baseline") or combined.baseline
        combined.row_level = data.get("row_level") or combined.row_level
        combined.acceptances += data.get("acceptances", [])
        combined.failures += [Failure(**f) for f in data["failures"]]
    return combined


def _frames(relation: duckdb.DuckDBPyRelation, batch_rows: int | None):
    """The relation's rows as pandas frames: all in one, or `batch_rows` at a time (at least one
    frame, empty when there are no rows, so every suite is run and documented)."""
    if batch_rows is None:
        yield relation.to_arrow_table().to_pandas()
        return
    reader = relation.to_arrow_reader(batch_rows)
    empty = True
    for record_batch in reader:
        empty = False
        yield record_batch.to_pandas()
    if empty:
        yield reader.schema.empty_table().to_pandas()


def _add_failure(failed: dict[int, Failure], place: int, failure: Failure) -> None:
    """One expectation's failures over the batches: counts added, records kept up to the limit."""
    if place not in failed:
        failed[place] = failure
        return
    seen = failed[place]
    seen.unexpected_count += failure.unexpected_count
    seen.records += failure.records[: max(0, RECORDS_KEPT - len(seen.records))]


def _failure(suite: str, r, id_columns: list[str]) -> Failure:
    """One failed expectation of one batch; its element_count is set once the batches are counted."""
    config = r.expectation_config
    meta = config.meta or {}
    kwargs = config.kwargs
    column = kwargs.get("column") or f"{kwargs.get('column_A')} / {kwargs.get('column_B')}"
    records = [
        {k: _plain(row.get(k)) for k in id_columns}
        for row in (r.result.get("unexpected_index_list") or [])[:RECORDS_KEPT]
    ]
    return Failure(
        suite=suite, expectation=config.type, column=column, severity=meta.get("severity", "error"),
        explanation_da=meta.get("explanation_da", ""), explanation_en=meta.get("explanation_en", ""),
        unexpected_count=int(r.result.get("unexpected_count") or 0), element_count=0,
        records=records,
    )  # fmt: skip


def _plain(value):
    """numpy scalars and NaN to plain JSON values."""
    if value is None:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and value != value:
        return None
    return value
