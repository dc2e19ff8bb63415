"""Jobs, schedules and sensors: what runs when, without anyone at the keyboard.

- `daily_refresh` (06:00 Europe/Copenhagen, and for every new delivery via `landing_sensor`):
  ingest, dbt build, quality gate, publish.
- `quarterly_reporting` (on the 5th after each quarter, for the quarter just ended; backfill past
  quarters from the UI or with `effekt backfill`): quarter snapshots, fact sheets and, with
  several municipalities, the comparison pages.
- `alert_on_run_failure`: an alert for every failed run of these jobs (see alerts.py).
"""

import hashlib
import json

import dagster as dg

from orchestration.ingest.assets import INGEST_GROUP, QUALITY_GROUP, IngestConfig
from orchestration.instance import WRITER_RUN_TAG
from orchestration.jobs import DAILY_JOB, QUARTERLY_JOB
from orchestration.publish.assets import PUBLISH_GROUP
from orchestration.reporting import Quarter
from orchestration.reporting.assets import REPORTING_GROUP, TIMEZONE, quarter_partition_key
from orchestration.settings import Settings
from orchestration.warehouse.assets import WAREHOUSE_GROUP

daily_refresh = dg.define_asset_job(
    DAILY_JOB,
    selection=dg.AssetSelection.groups(INGEST_GROUP, QUALITY_GROUP, WAREHOUSE_GROUP, PUBLISH_GROUP),
    tags={WRITER_RUN_TAG: "true"},
    description=(
        "Load new deliveries, build the warehouse, validate it with the quality gate and publish "
        "a new version if the gate passes."
    ),
)

quarterly_reporting = dg.define_asset_job(
    QUARTERLY_JOB,
    selection=dg.AssetSelection.groups(REPORTING_GROUP),
    description=(
        "Quarter snapshots of the published indicators, the fact sheets and, with several "
        "municipalities, the comparison pages, per quarter."
    ),
)


@dg.schedule(
    name="daily_refresh_schedule",
    job=daily_refresh,
    cron_schedule="0 6 * * *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Every morning: one run per delivery that landed overnight, oldest first (each is built, "
        "gated and published on its own), or one run that resumes an unfinished one."
    ),
)
def daily_schedule(context: dg.ScheduleEvaluationContext):
    from orchestration.ingest.load import pending_deliveries

    # Schedules and sensors get no run config: the settings are the environment's, which the
    # runs they request fall back to as well (resources.SettingsResource).
    folders = pending_deliveries(Settings.from_env())
    if not folders:
        yield dg.RunRequest()
    for folder in folders:
        yield dg.RunRequest(
            run_config=dg.RunConfig(ops={"ingest_deliveries": IngestConfig(delivery=folder.name)}),
            tags={"effekt/delivery": folder.name},
        )


@dg.schedule(
    name="quarterly_reporting_schedule",
    job=quarterly_reporting,
    cron_schedule="0 7 5 1,4,7,10 *",
    execution_timezone=TIMEZONE,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="On the 5th after a quarter ends, after the daily refresh: report that quarter.",
)
def quarterly_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    ended = Quarter.of(context.scheduled_execution_time.date()).previous()
    return dg.RunRequest(run_key=ended.label, partition_key=quarter_partition_key(ended))


def delivery_key(folder) -> str:
    """Identity of a delivery in landing: its id and its manifest's hash."""
    manifest = (folder / "manifest.json").read_bytes()
    try:
        delivery_id = json.loads(manifest)["delivery_id"]
    except (ValueError, KeyError, TypeError):
        delivery_id = folder.name  # the run will refuse it with a message
    return f"{delivery_id}:{hashlib.sha256(manifest).hexdigest()[:16]}"


@dg.sensor(
    job=daily_refresh, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts one daily_refresh run per new complete delivery (manifest present) in landing.",
)  # fmt: skip
def landing_sensor(context: dg.SensorEvaluationContext):
    landing = Settings.from_env().landing_dir  # the environment's, as in daily_schedule
    folders = (
        sorted(p for p in landing.iterdir() if (p / "manifest.json").is_file())
        if landing.is_dir()
        else []
    )
    seen = set(json.loads(context.cursor)) if context.cursor else set()
    current = {delivery_key(folder): folder for folder in folders}
    for key, folder in current.items():
        if key in seen:
            continue
        yield dg.RunRequest(
            run_key=key,
            run_config=dg.RunConfig(ops={"ingest_deliveries": IngestConfig(delivery=folder.name)}),
            tags={"effekt/delivery": key.split(":")[0]},
        )
    # Remember what is in landing now; loaded deliveries leave it, so the cursor stays small.
    context.update_cursor(json.dumps(sorted(current)))
    if not set(current) - seen:
        yield dg.SkipReason(f"no new delivery in {landing}")
