"""Assets of the execution domain.

- ``landing/<source>``: the broker extracts each source delivers (external, upstream).
- ``execution/OrderManagerTable``: the order-manager registry, fed by intent files.
- ``execution/OrdersTS``, ``execution/OrderEventsTS``, ``execution/TradesTS``: written together
  from one read of a partition's extracts (``services.ingestion.ingest_partition``), partitioned
  by ``date`` x ``source``. Managers whose orders were seen move along their lifecycle after each
  publish (written to ``order_manager`` without an edge back in the graph).
"""


import datetime as dt
import hashlib
from typing import Any

import dagster as dg
from pydantic import Field
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from exec_pipeline.data_nodes.execution import DATA_NODES, DataNode
from exec_pipeline.defs.execution.partitions import catalogue, facts_partitions, split_partition_key
from exec_pipeline.defs.resources import LandingZoneResource, WarehouseResource
from exec_pipeline.lib.landing import LandingZoneError
from exec_pipeline.lib.warehouse import describe_error
from exec_pipeline.models.execution import MANAGER_STATUSES, OrderManagerTable
from exec_pipeline.repositories import execution as repo
from exec_pipeline.services.execution import advance_managers_from_facts
from exec_pipeline.services.ingestion import IngestResult, ingest_partition
from exec_pipeline.services.intents import apply_intent_files

ORDER_MANAGER_KEY = dg.AssetKey(["execution", "OrderManagerTable"])
FACT_KEYS: dict[str, dg.AssetKey] = {node.storage_identifier: dg.AssetKey(["execution", node.storage_identifier]) for node in DATA_NODES}
FACT_DESCRIPTIONS = {
    "OrdersTS": "Orders (orders_ts): one row per order, its first observation in a broker extract.",
    "OrderEventsTS": "Order events (order_events_ts): one row per broker report about an order.",
    "TradesTS": "Trades (trades_ts): one row per fill, and one per bust or correction of a fill.",
}
LINEAGE_COLUMNS = ("source", "extract_id", "record_number", "partition_key", "run_id", "reader_name", "reader_version", "ingested_at")

CATALOGUE = catalogue()
PARTITIONS = facts_partitions(CATALOGUE.source_names, CATALOGUE.start_date)


def landing_key(source: str) -> dg.AssetKey:
    return dg.AssetKey(["landing", source])


LANDING_SPECS = [
    dg.AssetSpec(
        landing_key(name),
        group_name="landing",
        kinds={"file", config.format},
        description=f"{config.format} extracts from {name}, delivered under <landing root>/{name}/<YYYY-MM-DD>/",
        metadata={"format": config.format, "layout": f"{name}/<YYYY-MM-DD>/<file>"},
    )
    for name, config in CATALOGUE.sources.items()
]


def column_schema(node: DataNode) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=column.name,
                type=str(column.type),
                constraints=dg.TableColumnConstraints(nullable=column.nullable, unique=column.name == node.identifier),
                description="lineage" if column.name in LINEAGE_COLUMNS else None,
            )
            for column in node.table.columns
        ]
    )


def column_lineage(node: DataNode, sources: list[str]) -> dg.TableColumnLineage:
    # every fact column is derived from the records of the sources' extracts
    deps = [dg.TableColumnDep(asset_key=landing_key(source), column_name="record") for source in sources]
    return dg.TableColumnLineage(
        deps_by_column={column.name: deps for column in node.table.columns if column.name not in LINEAGE_COLUMNS}
    )


# --- the registry ------------------------------------------------------------------------------------


@dg.asset(
    key=ORDER_MANAGER_KEY,
    group_name="execution",
    kinds={"sql"},
    pool="warehouse",
    description=(
        "Order-manager intent (order_manager table). Materializing it applies the intent files strategies drop "
        "under <landing root>/order-managers/ (create_batch rows, JSON or CSV) and reports the registry."
    ),
    metadata={"dagster/table_name": OrderManagerTable.__tablename__},
)
def order_manager_table(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, landing: LandingZoneResource
) -> dg.MaterializeResult:
    engine = warehouse.engine()
    result = apply_intent_files(list(landing.zone().intent_files()), engine=engine)
    # facts may have arrived before their manager was registered: catch the new managers up
    with Session(engine) as session, session.begin():
        moved = advance_managers_from_facts(session)
    for identifier, (old, new) in moved.items():
        context.log.info(f"order manager {identifier}: {old} -> {new}")
    counts = _manager_counts(engine)
    metadata: dict[str, Any] = {
        "dagster/row_count": sum(counts.values()),
        "managers_by_status": dg.MetadataValue.json(counts),
        "intent_files": result.files,
        "intents_applied": result.applied,
        "intent_errors": len(result.errors),
        "managers_moved": dg.MetadataValue.json({k: f"{a} -> {b}" for k, (a, b) in moved.items()}),
    }
    if result.errors:
        for error in result.errors:
            context.log.error(str(error))
        raise dg.Failure(
            description=f"{len(result.errors)} order-manager intents could not be applied (valid rows were): "
            + "; ".join(str(e) for e in result.errors[:10]),
            metadata=metadata,
        )
    return dg.MaterializeResult(metadata=metadata)


def _manager_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(OrderManagerTable.status, func.count()).group_by(OrderManagerTable.status)
        ).all()
    found = dict(rows)
    return {status: int(found.get(status, 0)) for status in MANAGER_STATUSES}


# --- the facts ----------------------------------------------------------------------------------------


class IngestConfig(dg.Config):
    """Options an operator can set when launching a materialization from the UI."""

    force: bool = Field(
        default=False,
        description="Re-read and re-publish even when the extracts' content hashes are those already ingested.",
    )
    reject_threshold: float = Field(
        default=0.05,
        ge=0.0,
        le=1.0,
        description="The reject_ratio check fails when rejects / records read exceeds this fraction.",
    )


REJECT_RATIO_CHECK = dg.AssetCheckSpec(
    "reject_ratio",
    asset=FACT_KEYS["TradesTS"],
    description="Rejected records / records read in this run's extracts stays under the configured threshold.",
)


@dg.multi_asset(
    name="execution_facts",
    specs=[
        dg.AssetSpec(
            FACT_KEYS[node.storage_identifier],
            deps=[*(spec.key for spec in LANDING_SPECS), ORDER_MANAGER_KEY],
            partitions_def=PARTITIONS,
            group_name="execution",
            kinds={"sql"},
            description=f"{FACT_DESCRIPTIONS[node.storage_identifier]} Time index: {node.time_index}.",
            metadata={
                "dagster/table_name": node.table.name,
                "dagster/column_schema": column_schema(node),
                "time_index": node.time_index,
                "identifier": node.identifier,
            },
        )
        for node in DATA_NODES
    ],
    check_specs=[REJECT_RATIO_CHECK],
    can_subset=False,
    pool="warehouse",
    # a date range (x sources) runs as one run; each partition is still its own transaction
    backfill_policy=dg.BackfillPolicy.single_run(),
)
def execution_facts(
    context: dg.AssetExecutionContext,
    config: IngestConfig,
    warehouse: WarehouseResource,
    landing: LandingZoneResource,
):
    engine = warehouse.engine()
    zone = landing.zone()
    sources_catalogue = landing.catalogue()
    keys = sorted(context.partition_keys)
    results: list[IngestResult] = []
    failed: dict[str, Exception] = {}
    for key in keys:
        source, business_date = split_partition_key(key)
        try:
            result = ingest_partition(
                source,
                business_date,
                catalogue=sources_catalogue,
                landing=zone,
                engine=engine,
                run_id=context.run.run_id,
                force=config.force,
            )
        except Exception as exc:
            if len(keys) == 1:
                raise
            # each partition is its own transaction: one bad day of a backfill must neither stop
            # the days after it nor hide the days before it, which are published
            failed[key] = exc
            context.log.error(f"{key}: failed, nothing of it was published: {_describe(exc)}")
            if isinstance(exc, _OUTAGES):  # the next partitions would meet it too: stop here
                break
            continue
        _log_result(context, result)
        results.append(result)
    not_attempted = keys[len(results) + len(failed):]

    try:
        moved = _advance_managers(engine, results)
    except SQLAlchemyError as exc:
        # the publishes stand: report them, then fail so that the run is retried (the retry skips
        # the unchanged partitions and advances the managers)
        moved, advance_failed = {}, exc
        context.log.error(f"order managers could not advance: {describe_error(exc)}")
    else:
        advance_failed = None
    for identifier, (old, new) in moved.items():
        context.log.info(f"order manager {identifier}: {old} -> {new}")
    reported_one_by_one = bool(failed or not_attempted or advance_failed)

    # Dagster writes one materialization per partition of the run: what a partition read goes on
    # its own event, so a year's backfill does not copy the year's extracts into every event.
    partition_reads = {result.partition_key: _partition_read(result) for result in results}
    for node in DATA_NODES:
        key = FACT_KEYS[node.storage_identifier]
        partition_rows = _partition_row_counts(engine, node, list(partition_reads))
        run_metadata = _run_metadata(engine, node, results, moved, failed)
        for result in results:
            metadata = {**partition_reads[result.partition_key],
                        **_partition_counts(node, result, partition_rows.get(result.partition_key, 0))}
            if reported_one_by_one:
                # a step's outputs stand for every partition of its range, failed ones too, so a
                # run that fails reports the partitions that succeeded one by one (Dagster then
                # shows the others as failed) and yields no outputs
                context.log_event(dg.AssetMaterialization(
                    asset_key=key,
                    partition=result.partition_key,
                    metadata={**metadata, **run_metadata},
                    tags=_materialization_tags(result),
                ))
            else:
                context.add_asset_metadata(metadata, asset_key=key, partition_key=result.partition_key)
        if not reported_one_by_one:
            yield dg.MaterializeResult(
                asset_key=key,
                metadata=run_metadata,
                data_version=dg.DataVersion(_content_version(results)),
            )
    # the run's rejects are judged whatever else failed (this check is not blocking)
    yield _reject_ratio(results, config.reject_threshold)
    if reported_one_by_one:
        raise _run_failure(keys, results, failed, not_attempted, advance_failed)


#: errors that every partition after the first would meet too
_OUTAGES = (OperationalError, InterfaceError, LandingZoneError)


def _describe(exc: BaseException) -> str:
    """The error's message with its notes (``str`` drops them)."""
    return "\n".join([str(exc), *getattr(exc, "__notes__", ())])


def _materialization_tags(result: IngestResult) -> dict[str, str]:
    """What Dagster puts on a materialization of one partition when it writes it itself."""
    source, business_date = split_partition_key(result.partition_key)
    return {
        "dagster/partition/date": business_date.isoformat(),
        "dagster/partition/source": source,
        "dagster/data_version": _content_version([result]),
    }


def _run_failure(
    keys: list[str],
    results: list[IngestResult],
    failed: dict[str, Exception],
    not_attempted: list[str],
    advance_failed: SQLAlchemyError | None,
) -> dg.Failure:
    problems = [f"{key}: {_describe(exc)}" for key, exc in failed.items()]
    if not_attempted:
        problems.append(f"{len(not_attempted)} partitions not attempted after that ({not_attempted[0]} ...)")
    if advance_failed is not None:
        problems.append(f"order managers could not advance ({describe_error(advance_failed)}); a retry advances them")
    if results:
        # the checks run after the step, which fails: nothing judged the published partitions yet
        problems.append("the asset checks did not run: launch the whole range again (the published partitions "
                        "skip as unchanged, and the checks judge every partition of the run)")
    failure = dg.Failure(
        description=(
            f"{len(results)} of {len(keys)} partitions materialized; the others published nothing. "
            + "; ".join(problems)
        ),
        metadata={
            "failed_partitions": dg.MetadataValue.json({key: _describe(exc) for key, exc in failed.items()}),
            "not_attempted_partitions": dg.MetadataValue.json(not_attempted),
            "materialized_partitions": dg.MetadataValue.json([r.partition_key for r in results]),
        },
    )
    failure.__cause__ = next(iter(failed.values()), advance_failed)
    return failure


def _log_result(context: dg.AssetExecutionContext, result: IngestResult) -> None:
    if result.skipped_unchanged:
        context.log.info(f"{result.partition_key}: extracts unchanged since the last ingest; nothing re-published")
        if result.counts_refreshed:
            context.log.info(f"{result.partition_key}: ledger counts refreshed (another partition took rows from it)")
    elif result.summary is None:
        context.log.info(f"{result.partition_key}: no extracts")
    else:
        summary = result.summary
        context.log.info(
            f"{result.partition_key}: {len(summary.extracts)} extracts, read {summary.records_read}, "
            f"stored {summary.rows_stored}"
        )
        if result.republish_requested_by:
            context.log.info(f"{result.partition_key}: published again as {result.republish_requested_by} asked")
        for other, facts in summary.republish_requested.items():
            context.log.warning(
                f"{result.partition_key} no longer stores {facts} facts that {other} also observed: {other} is "
                "asked to publish again (the landing-zone sensor requests its run)"
            )
        for other, why in summary.recount_failed.items():
            context.log.warning(
                f"{result.partition_key} committed, but the ledger counts of {other}, which it took rows from, "
                f"could not be refreshed ({why}): {other}'s next run refreshes them (the landing-zone sensor "
                "requests it)"
            )
    for uri in result.refused:
        context.log.warning(f"{result.partition_key}: refused {uri} (a symbolic link could leave the landing root)")
    for name, count in result.unmapped_accounts.items():
        context.log.warning(f"{result.partition_key}: unmapped account {name!r} ({count} records)")
    for name, count in result.unmapped_assets.items():
        context.log.warning(f"{result.partition_key}: unmapped instrument {name!r} ({count} records)")


def _advance_managers(engine: Engine, results: list[IngestResult]) -> dict[str, tuple[str, str]]:
    # skipped partitions too: advancing is idempotent, and a retry of a run whose publish committed
    # but whose advance failed skips every partition (its extracts are now the ingested ones)
    keys = [r.partition_key for r in results]
    if not keys:
        return {}
    with Session(engine) as session, session.begin():
        managers = session.execute(repo.select_managers_of_partitions(keys)).scalars().all()
        return advance_managers_from_facts(session, managers) if managers else {}


def _content_version(results: list[IngestResult]) -> str:
    digest = hashlib.sha256()
    for result in sorted(results, key=lambda r: r.partition_key):
        for read in sorted(result.extracts, key=lambda e: e.uri):
            digest.update(f"{read.uri}\0{read.sha256}\0{read.reader_version}\n".encode())
    return digest.hexdigest()[:24]


def _partition_row_counts(engine: Engine, node: DataNode, keys: list[str]) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(node.table.c.partition_key, func.count())
            .where(node.table.c.partition_key.in_(keys))
            .group_by(node.table.c.partition_key)
        ).all()
    return {key: count for key, count in rows}


def _run_metadata(
    engine: Engine, node: DataNode, results: list[IngestResult], moved: dict[str, tuple[str, str]],
    failed: dict[str, Exception],
) -> dict[str, Any]:
    """Metadata of the run, on every partition's materialization (keep it small: it is repeated)."""
    with engine.connect() as connection:
        total = connection.execute(select(func.count()).select_from(node.table)).scalar_one()
    return {
        "dagster/row_count": total,
        "dagster/table_name": node.table.name,
        "dagster/column_schema": column_schema(node),
        "dagster/column_lineage": column_lineage(node, sorted({r.source for r in results})),
        "partitions": len(results),
        "partitions_skipped_unchanged": sum(r.skipped_unchanged for r in results),
        "partitions_failed": len(failed),
        "managers_moved": dg.MetadataValue.json({k: f"{a} -> {b}" for k, (a, b) in moved.items()}),
    }


def _partition_counts(node: DataNode, result: IngestResult, rows_owned: int) -> dict[str, Any]:
    """What one partition stored in one table, on that partition's materialization of it."""
    name = node.storage_identifier
    summary = result.summary
    return {
        "dagster/partition_row_count": rows_owned,
        "records_read": summary.records_read.get(name, 0) if summary else 0,
        "rows_stored": summary.rows_stored.get(name, 0) if summary else 0,
        "duplicates_not_stored": summary.duplicates.get(name, 0) if summary else 0,
        "rejects": summary.rows_stored.get("rejects", 0) if summary else 0,
    }


def _partition_read(result: IngestResult) -> dict[str, Any]:
    """What one partition read (the same on each table's materialization of the partition)."""
    extracts = [
        dg.TableRecord(
            {"partition": result.partition_key, "uri": e.uri, "sha256": e.sha256, "size_bytes": e.size_bytes,
             "reader": f"{e.reader_name} {e.reader_version}"}
        )
        for e in result.extracts
    ]
    return {
        "skipped_unchanged": result.skipped_unchanged,
        "extracts": dg.MetadataValue.table(
            records=extracts,
            schema=dg.TableSchema(
                columns=[dg.TableColumn(c, t) for c, t in (("partition", "string"), ("uri", "string"),
                         ("sha256", "string"), ("size_bytes", "int"), ("reader", "string"))]
            ),
        ),
        "readers": dg.MetadataValue.json(dict(sorted(result.readers.items()))),
        "unmapped_accounts": dg.MetadataValue.json(dict(result.unmapped_accounts)),
        "unmapped_assets": dg.MetadataValue.json(dict(result.unmapped_assets)),
        "reader_stats": dg.MetadataValue.json(dict(result.reader_stats)),
        "refused_entries": dg.MetadataValue.json(list(result.refused)),
        "republish_requested_by": result.republish_requested_by or "",
        "republish_requested": dg.MetadataValue.json(result.summary.republish_requested if result.summary else {}),
        # partition -> why its ledger counts are stale until its next run (the data committed)
        "ledger_recount_failed": dg.MetadataValue.json(result.recount_failed),
    }


def _reject_ratio(results: list[IngestResult], threshold: float) -> dg.AssetCheckResult:
    published = [r.summary for r in results if r.summary is not None]
    rejects = sum(s.records_read.get("rejects", 0) for s in published)
    records = sum(sum(s.records_read.values()) for s in published)
    ratio = rejects / records if records else 0.0
    return dg.AssetCheckResult(
        check_name=REJECT_RATIO_CHECK.name,
        asset_key=REJECT_RATIO_CHECK.asset_key,
        passed=ratio <= threshold,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"rejects": rejects, "records_read": records, "ratio": ratio, "threshold": threshold},
        description=f"{rejects} rejects out of {records} records ({ratio:.2%}; threshold {threshold:.2%})",
    )


def execution_assets() -> list[Any]:
    return [*LANDING_SPECS, order_manager_table, execution_facts]


def run_day(business_date: dt.date) -> list[dg.MultiPartitionKey]:
    """The partition keys of one business date, one per source (used by the schedule)."""
    return [dg.MultiPartitionKey({"date": business_date.isoformat(), "source": s}) for s in CATALOGUE.source_names]
