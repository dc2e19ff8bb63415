"""Dagster assets, job and sensor for taking deliveries in.

One asset per entity (`raw/<entity>`), plus the quarantine and the ingest log. They materialise
together from one step because a delivery loads all or nothing.
"""

import dagster as dg

from orchestration.contract import load_contract
from orchestration.ingest.delivery import DeliveryRefused
from orchestration.ingest.load import (
    IngestResult,
    ReconciliationError,
    ingest_delivery,
    pending_deliveries,
)
from orchestration.instance import WRITER_POOL
from orchestration.locking import writer_lock
from orchestration.resources import EffektSettings, PseudonymKey

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


class IngestConfig(dg.Config):
    delivery: str | None = None  # a folder name in landing; empty: every pending delivery


@dg.multi_asset(name="ingest_deliveries", specs=ENTITY_SPECS + LOG_SPECS, pool=WRITER_POOL)
def ingest_deliveries(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    effekt: EffektSettings,
    pseudonym_key: PseudonymKey,
):
    """Load pending deliveries from landing, oldest extract first, into the raw layer."""
    settings = effekt.settings()
    with writer_lock(settings, context.log.info):
        yield from _ingest(context, config, settings, pseudonym_key.key)


def _ingest(context: dg.AssetExecutionContext, config: IngestConfig, settings, key: bytes):
    if config.delivery:
        folder = settings.landing_dir / config.delivery
        folders = [folder] if (folder / "manifest.json").is_file() else []
    else:
        folders = pending_deliveries(settings)
    results: list[IngestResult] = []
    for folder in folders:
        try:
            result = ingest_delivery(settings, folder, key)
        except DeliveryRefused as refused:
            raise dg.Failure(
                description=(
                    f"Delivery {folder.name} refused: {refused}. Nothing of it was loaded; it "
                    f"is in {refused.quarantine_path} with refusal.json."
                ),
                metadata={
                    "reason": refused.reason,
                    "file": refused.file,
                    "quarantine": dg.MetadataValue.path(str(refused.quarantine_path)),
                },
            ) from None
        except ReconciliationError as e:
            raise dg.Failure(description=f"Delivery {folder.name} not loaded: {e}") from None
        context.log.info(f"delivery {result.delivery_id}: {result.status}")
        results.append(result)
    loaded = [r for r in results if r.status == "loaded"]
    if not loaded:
        context.log.info("no new delivery to load")
        return
    deliveries = ", ".join(r.delivery_id for r in loaded)
    for spec in ENTITY_SPECS:
        entity = spec.key.path[-1]
        files = [r.rows(entity) for r in loaded]
        yield dg.MaterializeResult(
            asset_key=spec.key,
            metadata={
                "deliveries": deliveries,
                "rows_read": sum(f.rows_read for f in files),
                "rows_loaded": sum(f.rows_loaded for f in files),
                "rows_quarantined": sum(f.rows_quarantined for f in files),
            },
        )
    quarantined = sum(f.rows_quarantined for r in loaded for f in r.files)
    yield dg.MaterializeResult(
        asset_key=["raw", "quarantine"],
        metadata={"deliveries": deliveries, "rows_quarantined": quarantined},
    )
    yield dg.MaterializeResult(asset_key=["raw", "deliveries"], metadata={"deliveries": deliveries})
    yield dg.MaterializeResult(asset_key=["raw", "citizen_pseudonyms"])
    yield dg.MaterializeResult(
        asset_key=["raw", "ingest_log"],
        metadata={
            "deliveries": deliveries,
            "files_reconciled": sum(len(r.files) for r in loaded),
            "archive": dg.MetadataValue.path(str(loaded[-1].archive_path)),
        },
    )
