"""Sensors: new or changed extracts start partition runs; new intent files refresh the registry."""


import datetime as dt
import hashlib
import os

import dagster as dg

from exec_pipeline.data_nodes.execution import partition_key
from exec_pipeline.defs.execution.assets import CATALOGUE, FACT_KEYS, ORDER_MANAGER_KEY, PARTITIONS
from exec_pipeline.defs.execution.partitions import partition_key_for
from exec_pipeline.defs.resources import LandingZoneResource, WarehouseResource
from exec_pipeline.lib.landing_scan import ScanCursor, scan_landing
from exec_pipeline.readers import get_reader
from exec_pipeline.repositories import execution as repo

# Tunable for operators and the end-to-end tests; the defaults suit a production landing zone.
SENSOR_INTERVAL_SECONDS = int(os.environ.get("EXEC_PIPELINE_SENSOR_INTERVAL_SECONDS", "30"))
SETTLE_SECONDS = float(os.environ.get("EXEC_PIPELINE_SETTLE_SECONDS", "30"))
MAX_RUNS_PER_TICK = int(os.environ.get("EXEC_PIPELINE_MAX_RUNS_PER_TICK", "25"))
LOOKBACK_DAYS = int(os.environ.get("EXEC_PIPELINE_LOOKBACK_DAYS", "3"))


def _digest(items: set[tuple[str, str, str | None]]) -> str:
    return hashlib.sha256(repr(sorted(items, key=str)).encode()).hexdigest()[:16]


@dg.sensor(
    name="landing_zone_sensor",
    target=list(FACT_KEYS.values()),
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Requests one run per partition whose extracts are new or changed (settled, by content hash), "
        "or that another partition asked to publish again."
    ),
)
def landing_zone_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource, landing: LandingZoneResource
) -> dg.SensorResult:
    cursor = ScanCursor.from_json(context.cursor)
    catalogue = landing.catalogue()
    sources = [s for s in catalogue.source_names if s in CATALOGUE.sources]
    scan = scan_landing(
        landing.zone(),
        sources,
        cursor,
        now=dt.datetime.now(dt.UTC),
        settle_seconds=SETTLE_SECONDS,
        max_partitions=MAX_RUNS_PER_TICK,
        lookback_days=LOOKBACK_DAYS,
    )
    requests = []
    unchanged = 0
    outside = []
    with warehouse.engine().connect() as connection:
        for delivery in scan.ready:
            key = partition_key_for(delivery.source, delivery.business_date)
            if not PARTITIONS.has_partition_key(key):
                outside.append(str(key))
                continue
            config = catalogue.source(delivery.source)
            reader_version = get_reader(config.format).version
            current = {(uri, sha, reader_version, config.digest) for uri, sha in delivery.sha256_by_uri.items()}
            ingested = repo.ingested_extracts(connection, partition_key(delivery.source, delivery.business_date))
            if current == ingested:
                unchanged += 1  # an identical re-delivery: the facts already come from these bytes
                continue
            requests.append(
                dg.RunRequest(
                    partition_key=key,
                    # same bytes on top of the same ingested state -> same key -> Dagster starts no second run
                    run_key=f"{key}:{delivery.content_digest}:{_digest(ingested)}",
                    tags={"exec_pipeline/trigger": "landing_zone_sensor", "exec_pipeline/extracts": str(len(delivery.files))},
                )
            )
        requests.extend(_republish_requests(context, connection, {r.partition_key for r in requests}, outside))
    for key in outside:
        context.log.warning(f"extracts for {key} are outside the partitions (before start_date or in the future)")
    if scan.waiting:
        context.log.info(f"still being written: {', '.join(f'{s}/{d}' for s, d in scan.waiting)}")
    summary = (
        f"listed {scan.folders_listed} folders; {len(requests)} runs requested, {unchanged} unchanged, "
        f"{len(scan.waiting)} still being written, {scan.deferred} left for the next tick"
    )
    context.log.info(summary)
    return dg.SensorResult(
        run_requests=requests,
        cursor=scan.cursor.to_json(),
        skip_reason=None if requests else summary,
    )


#: Dagster re-launches a failed republish run this many times (the instance's run_retries).
REPUBLISH_RETRIES = 2


def _republish_requests(
    context: dg.SensorEvaluationContext, connection, requested: set[str | None], outside: list[str]
) -> list[dg.RunRequest]:
    """Runs for partitions asked to publish again (facts only their extracts still hold; see
    ``data_nodes.execution.publish_partition``) or to refresh their ledger counts (``facts`` 0);
    one run per request (the run key names it).
    A request whose run was launched already is left to that run and Dagster's retries (a run key
    never starts a second run), so it does not take a place under the cap; one whose run ended
    in failure is logged on every tick until the partition publishes."""
    runs = []
    for request in repo.republish_requests(connection):
        key = partition_key_for(request.source, request.business_date)
        if not PARTITIONS.has_partition_key(key):
            outside.append(str(key))
            continue
        if key in requested:
            continue  # already in this tick's runs (its extracts changed too)
        run_key = f"{key}:republish:{request.requested_at.isoformat()}"
        launched = context.instance.get_runs(dg.RunsFilter(tags={"dagster/run_key": run_key}), limit=1)
        if launched:
            if launched[0].status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
                asked = (
                    "to refresh its ledger counts"
                    if request.facts == repo.COUNTS_ONLY
                    else f"to publish again, for {request.facts} facts stored nowhere else"
                )
                context.log.warning(
                    f"{key} was asked by {request.requested_by} {asked}, and its run {launched[0].run_id} "
                    "failed: re-run the partition"
                )
            continue
        if len(runs) < MAX_RUNS_PER_TICK:
            runs.append(
                dg.RunRequest(
                    partition_key=key,
                    run_key=run_key,
                    tags={
                        "exec_pipeline/trigger": "republish_request",
                        "exec_pipeline/requested_by": request.requested_by,
                        "dagster/max_retries": str(REPUBLISH_RETRIES),
                    },
                )
            )
    return runs


@dg.sensor(
    name="order_manager_intents_sensor",
    target=[ORDER_MANAGER_KEY],
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Refreshes execution/OrderManagerTable when intent files under order-managers/ change.",
)
def order_manager_intents_sensor(context: dg.SensorEvaluationContext, landing: LandingZoneResource) -> dg.SensorResult:
    digest = hashlib.sha256()
    files = 0
    for uri, data in landing.zone().intent_files():
        files += 1
        digest.update(uri.encode() + b"\0" + hashlib.sha256(data).digest())
    content = digest.hexdigest()[:32]
    if files == 0 or content == context.cursor:
        return dg.SensorResult(cursor=context.cursor, skip_reason=f"{files} intent files, unchanged")
    return dg.SensorResult(run_requests=[dg.RunRequest(run_key=f"intents:{content}")], cursor=content)
