"""Dagster assets, job and sensor for taking deliveries in.

One asset per entity (`raw/<entity>`), plus the quarantine and the ingest log. They materialise
together from one step because a delivery loads all or nothing.
"""

import dagster as dg
from pydantic import PrivateAttr

from orchestration import progress
from orchestration.contract import load_contract
from orchestration.ingest.delivery import DeliveryRefused
from orchestration.ingest.landing import scan_landing
from orchestration.ingest.load import (
    IngestResult,
    IngestSettingError,
    ReconciliationError,
    ingest_delivery,
    pending_deliveries,
    prune_archive,
    upgrade_raw_layer,
)
from orchestration.ingest.pseudonyms import load_key
from orchestration.instance import WRITER_POOL
from orchestration.locking import writer_lock
from orchestration.publish import published_deliveries
from orchestration.resources import SettingsResource
from orchestration.settings import Settings

INGEST_GROUP = "ingest"
QUALITY_GROUP = "quality"  # what quality coordinators look at: refusals and reconciliation

ENTITY_SPECS = [
    dg.AssetSpec(
        ["raw", name],
        description=entity.description,
        group_name=INGEST_GROUP,
        kinds={"duckdb"},
        skippable=True,
    )
    for name, entity in load_contract().entities.items()
]
LOG_SPECS = [
    dg.AssetSpec(
        ["raw", "quarantine"],
        group_name=QUALITY_GROUP,
        kinds={"duckdb"},
        skippable=True,
        description="Rows that broke the extract contract, with reason, file and row (restricted).",
    ),
    dg.AssetSpec(
        ["raw", "deliveries"],
        group_name=INGEST_GROUP,
        kinds={"duckdb"},
        skippable=True,
        description="One row per loaded delivery; the newest extract is the current state.",
    ),
    dg.AssetSpec(
        ["raw", "current_delivery"],
        group_name=INGEST_GROUP,
        kinds={"duckdb"},
        skippable=True,
        description="A view: the delivery loaded last, of any municipality.",
    ),
    dg.AssetSpec(
        ["raw", "current_deliveries"],
        group_name=INGEST_GROUP,
        kinds={"duckdb"},
        skippable=True,
        description="A view: each municipality's current delivery (the state of its history).",
    ),
    dg.AssetSpec(
        ["raw", "citizen_pseudonyms"],
        group_name=INGEST_GROUP,
        kinds={"duckdb"},
        skippable=True,
        description="CPR number to keyed pseudonym and derived attributes (restricted).",
    ),
    dg.AssetSpec(
        ["raw", "ingest_log"],
        group_name=QUALITY_GROUP,
        kinds={"duckdb"},
        skippable=True,
        description="Per delivery and file: rows read = rows loaded + rows quarantined.",
    ),
]


class PseudonymKey(dg.ConfigurableResource):
    """The pseudonymisation secret, loaded when a run starts from the settings' key file (or
    the environment's key): no key, no run."""

    settings: SettingsResource
    _key: bytes = PrivateAttr()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._key = load_key(self.settings.get())

    @property
    def key(self) -> bytes:
        return self._key


class IngestConfig(dg.Config):
    # A folder name in landing (or in processing, left by an interrupted run); empty: the oldest
    # pending delivery. Each delivery is built, gated and published in a run of its own.
    delivery: str | None = None
    # Build and gate the current state even though nothing new landed.
    rebuild: bool = False


@dg.multi_asset(name="ingest_deliveries", specs=ENTITY_SPECS + LOG_SPECS, pool=WRITER_POOL)
def ingest_deliveries(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    settings: SettingsResource,
    pseudonym_key: PseudonymKey,
):
    """Load one pending delivery from landing into the raw layer, or resume the current one.

    Nothing new and the current delivery published: nothing is materialised, so the build, the
    gates and publishing are skipped. The current delivery loaded but not published by an
    earlier run (killed, or dbt failed), or `rebuild`: the raw assets are marked as changed, so
    the rest of the job builds, gates and publishes the current state.
    """
    run_settings = settings.get()
    with writer_lock(run_settings, context.log.info):
        yield from _ingest(context, config, run_settings, pseudonym_key.key)


def _folder(settings: Settings, name: str):
    for parent in (settings.processing_dir, settings.landing_dir):
        if (parent / name / "manifest.json").is_file():
            return parent / name
    return None


def _ingest(
    context: dg.AssetExecutionContext, config: IngestConfig, settings: Settings, key: bytes
):
    run_id = context.run.run_id
    upgrade_raw_layer(settings)
    if config.delivery:
        folder = _folder(settings, config.delivery)
        folders = [folder] if folder else []
        if folder is None:
            context.log.info(f"delivery folder {config.delivery} is no longer pending")
    else:
        folders = pending_deliveries(settings)[:1]
    for note in scan_landing(settings).lines():
        context.log.warning(note)
    result: IngestResult | None = None
    for folder in folders:
        landed_as = folder.name
        try:
            result = ingest_delivery(settings, folder, key)
        except DeliveryRefused as refused:
            delivery_id = getattr(refused, "delivery_id", landed_as)
            progress.record(
                settings, delivery_id, "refused", run_id, folder=landed_as,
                reason=refused.reason, file=refused.file, detail=refused.detail,
                quarantine=str(refused.quarantine_path),
            )  # fmt: skip
            named = landed_as if delivery_id == landed_as else f"{landed_as} (id {delivery_id})"
            raise dg.Failure(
                description=(
                    f"Delivery {named} refused: {refused}. Nothing of it was loaded; it "
                    f"is in {refused.quarantine_path} with refusal.json."
                ),
                metadata={
                    "reason": refused.reason,
                    "file": refused.file,
                    "delivery": delivery_id,
                    "quarantine": dg.MetadataValue.path(str(refused.quarantine_path)),
                },
            ) from None
        except (ReconciliationError, IngestSettingError) as e:
            raise dg.Failure(
                description=f"Delivery {landed_as} not loaded: {e}",
                metadata={
                    "reason": "setting" if isinstance(e, IngestSettingError) else "reconciliation",
                    "file": landed_as,
                    "processing": dg.MetadataValue.path(str(settings.processing_dir)),
                },
            ) from None
        context.log.info(f"delivery {result.delivery_id}: {result.status}")
        if result.status in ("loaded", "superseded"):
            progress.record(
                settings, result.delivery_id, result.status, run_id,
                folder=landed_as, extract_time=result.extract_time,
                rows_quarantined=sum(f.rows_quarantined for f in result.files),
                **({"loaded_at": progress.now()} if result.status == "loaded" else {}),
            )  # fmt: skip
        if result.status == "superseded":
            # Nothing changed, but someone should ask the case system why it sent an old extract.
            raise dg.Failure(
                description=(
                    f"Delivery {landed_as} (extract {result.extract_time}) is older than the "
                    "current delivery: it is archived and recorded as superseded, not merged "
                    "into the history. Nothing else changed; the current delivery stays current."
                ),
                metadata={"reason": "superseded", "file": "manifest.json",
                          "delivery": result.delivery_id,
                          "archive": dg.MetadataValue.path(str(result.archive_path))},
            )  # fmt: skip
    for pruned in prune_archive(settings, keep=published_deliveries(settings).values()):
        context.log.info(f"archive: delivered files of {pruned} deleted (EFFEKT_ARCHIVE_KEEP_DAYS)")
    if result is not None and result.status == "loaded":
        yield from _materialise([result], run_id)
        return
    resumed = (
        progress.current_delivery(settings) if config.rebuild else progress.needs_build(settings)
    )
    if resumed is None:
        context.log.info("no new delivery to load, and the current one is published")
        return
    other = context.instance.get_run_by_id(resumed["run_id"]) if resumed["run_id"] else None
    if not config.rebuild and other and other.run_id != run_id and not other.is_finished:
        # Not unfinished: another run is building it right now (the pool let us in between).
        context.log.info(
            f"delivery {resumed['delivery_id']} is being built by run {other.run_id[:8]}"
        )
        return
    why = (
        "rebuild asked for"
        if config.rebuild
        else f"left at stage {resumed['stage']} by run {resumed['run_id'][:8]}"
    )
    context.log.info(f"building delivery {resumed['delivery_id']} again: {why}")
    yield from _materialise([], run_id, resumed=resumed["delivery_id"], why=why)


def _materialise(
    loaded: list[IngestResult], run_id: str, resumed: str | None = None, why: str = ""
):
    """Materialise every raw asset: for a delivery just loaded, or to rebuild the current state."""
    deliveries = ", ".join(r.delivery_id for r in loaded) or resumed or ""
    extra = {"resumed": f"{resumed}: {why}"} if resumed else {}
    for spec in ENTITY_SPECS:
        entity = spec.key.path[-1]
        files = [f for f in (r.rows(entity) for r in loaded) if f]
        yield dg.MaterializeResult(
            asset_key=spec.key,
            metadata={
                "deliveries": deliveries,
                "rows_read": sum(f.rows_read for f in files),
                "rows_loaded": sum(f.rows_loaded for f in files),
                "rows_quarantined": sum(f.rows_quarantined for f in files),
            }
            | extra,
        )
    quarantined = sum(f.rows_quarantined for r in loaded for f in r.files)
    yield dg.MaterializeResult(
        asset_key=["raw", "quarantine"],
        metadata={"deliveries": deliveries, "rows_quarantined": quarantined} | extra,
    )
    yield dg.MaterializeResult(
        asset_key=["raw", "deliveries"], metadata={"deliveries": deliveries} | extra
    )
    yield dg.MaterializeResult(asset_key=["raw", "current_delivery"], metadata=extra)
    yield dg.MaterializeResult(asset_key=["raw", "current_deliveries"], metadata=extra)
    yield dg.MaterializeResult(asset_key=["raw", "citizen_pseudonyms"])
    yield dg.MaterializeResult(
        asset_key=["raw", "ingest_log"],
        metadata={
            "deliveries": deliveries,
            "files_reconciled": sum(len(r.files) for r in loaded),
        }
        | ({"archive": dg.MetadataValue.path(str(loaded[-1].archive_path))} if loaded else {})
        | extra,
    )
