"""Quarterly reporting assets, partitioned by quarter so past quarters can be backfilled."""

import datetime as dt

import dagster as dg

from orchestration.publish import current_version
from orchestration.reporting import (
    NothingToReport,
    Quarter,
    comparison_dir,
    fact_sheet_dir,
    snapshot_dir,
    write_quarter_snapshot,
)
from orchestration.reporting.barometer import load_targets
from orchestration.reporting.comparison import write_quarter_comparison
from orchestration.reporting.factsheets import write_fact_sheets
from orchestration.resources import SettingsResource

REPORTING_GROUP = "reporting"
TIMEZONE = "Europe/Copenhagen"
FIRST_QUARTER = "2016-01-01"  # the earliest period the indicators cover (before the 2017 break)

quarters = dg.TimeWindowPartitionsDefinition(
    cron_schedule="0 0 1 1,4,7,10 *",
    start=FIRST_QUARTER,
    fmt="%Y-%m-%d",
    timezone=TIMEZONE,
)


def partition_quarter(partition_key: str) -> Quarter:
    """The quarter a partition key (its first day, 2019-04-01) stands for."""
    return Quarter.of(dt.date.fromisoformat(partition_key))


def quarter_partition_key(quarter: Quarter) -> str:
    return quarter.start.isoformat()


@dg.asset(
    key=["reporting", "quarter_indicators"],
    deps=[dg.AssetKey(["published", "current"])],
    partitions_def=quarters,
    group_name=REPORTING_GROUP,
    kinds={"parquet"},
    description=(
        "The published indicator rows of every period ending with the quarter, frozen as "
        "Parquet under reporting/<quarter>/ for fact sheets and later comparison."
    ),
)
def quarter_indicators(
    context: dg.AssetExecutionContext, settings: SettingsResource
) -> dg.MaterializeResult:
    run_settings = settings.get()
    quarter = partition_quarter(context.partition_key)
    try:
        snapshot = write_quarter_snapshot(run_settings, quarter)
    except NothingToReport as e:
        raise dg.Failure(description=f"{quarter.label}: {e}") from None
    return dg.MaterializeResult(
        metadata={
            "quarter": quarter.label,
            "published_version": snapshot["published_version"],
            "dagster/row_count": sum(snapshot["row_counts"].values()),
            "row_counts": snapshot["row_counts"],
            "path": dg.MetadataValue.path(str(snapshot_dir(run_settings, quarter))),
        }
    )


class FactSheetConfig(dg.Config):
    language: str = "da"  # da or en


@dg.asset(
    key=["reporting", "fact_sheets"],
    deps=[quarter_indicators],
    partitions_def=quarters,
    group_name=REPORTING_GROUP,
    kinds={"html", "plotly"},
    description=(
        "Self-contained HTML fact sheets for the administration, each operating area and each "
        "unit with enough citizens, and the barometer (index.html), from the published indicators."
    ),
)
def fact_sheets(
    context: dg.AssetExecutionContext, config: FactSheetConfig, settings: SettingsResource
) -> dg.MaterializeResult:
    run_settings = settings.get()
    quarter = partition_quarter(context.partition_key)
    version = current_version(run_settings)
    if version is None:
        raise dg.Failure(description="nothing is published yet: run the daily refresh first")
    out = fact_sheet_dir(run_settings, quarter)
    targets = load_targets(run_settings.barometer_targets)
    try:
        written = write_fact_sheets(version, quarter, out, lang=config.language, targets=targets)
    except NothingToReport as e:
        raise dg.Failure(description=f"{quarter.label}: {e}") from None
    return dg.MaterializeResult(
        metadata={
            "quarter": quarter.label,
            "language": written["language"],
            "fact_sheets": len(written["sheets"]),
            "units_without_sheet": ", ".join(written["units_without_sheet"]) or "none",
            "barometer": dg.MetadataValue.path(written["index"]),
            "published_version": written["published_version"],
        }
    )


@dg.asset(
    key=["reporting", "comparison_pages"],
    deps=[quarter_indicators],
    partitions_def=quarters,
    group_name=REPORTING_GROUP,
    kinds={"html", "plotly"},
    description=(
        "With several municipalities in the warehouse: the case-mix adjusted comparison of the "
        "quarter's rolling four quarters, a funnel plot per indicator and a page per "
        "municipality (EFFEKT_COMPARISON_NAME_OTHERS: the others named or anonymous)."
    ),
)
def comparison_pages(
    context: dg.AssetExecutionContext, settings: SettingsResource
) -> dg.MaterializeResult:
    run_settings = settings.get()
    quarter = partition_quarter(context.partition_key)
    out = comparison_dir(run_settings, quarter)
    try:
        result = write_quarter_comparison(
            snapshot_dir(run_settings, quarter),
            out,
            name_others=run_settings.comparison_name_others,
            own_code=run_settings.municipality_code,
        )
    except ValueError as e:
        raise dg.Failure(description=f"{quarter.label}: {e}") from None
    if result.written is None:
        context.log.info(f"{quarter.label}: no comparison pages: {result.reason}")
        return dg.MaterializeResult(
            metadata={"quarter": quarter.label, "pages": 0, "why_none": result.reason}
        )
    written = result.written
    return dg.MaterializeResult(
        metadata={
            "quarter": quarter.label,
            "period": written["period_label"],
            "pages": 1 + len(written["comparisons"]) + len(written["municipalities"]),
            "others_named": written["name_others"],
            "own_municipality": written["own_code"] or "none",
            "index": dg.MetadataValue.path(written["index"]),
        }
    )
