"""Quarterly reporting assets, partitioned by quarter so past quarters can be backfilled."""

import datetime as dt

import dagster as dg

from orchestration.reporting import NothingToReport, Quarter, write_quarter_snapshot
from orchestration.resources import EffektSettings

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
    context: dg.AssetExecutionContext, effekt: EffektSettings
) -> dg.MaterializeResult:
    settings = effekt.settings()
    quarter = partition_quarter(context.partition_key)
    try:
        snapshot = write_quarter_snapshot(settings, quarter)
    except NothingToReport as e:
        raise dg.Failure(description=f"{quarter.label}: {e}") from None
    return dg.MaterializeResult(
        metadata={
            "quarter": quarter.label,
            "published_version": snapshot["published_version"],
            "dagster/row_count": sum(snapshot["row_counts"].values()),
            "row_counts": snapshot["row_counts"],
            "path": dg.MetadataValue.path(str(settings.data_dir / "reporting" / quarter.label)),
        }
    )
