"""SQL operation builders for the execution warehouse.

Order-manager builders return SQLAlchemy statements (the service layer executes them); partition
operations take the publishing transaction's connection. Nothing here commits.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Delete, Insert, Row, Select, Update, delete, func, insert, select, text, union, update
from sqlalchemy.dialects import postgresql, sqlite

from exec_pipeline.models.execution import (
    ExtractFile,
    FactOverlap,
    IngestReject,
    OrderEventsTS,
    OrderManagerTable,
    OrdersTS,
    RepublishRequest,
    TradesTS,
)

# --- order-manager registry --------------------------------------------------------------------------


def insert_manager_if_absent(dialect_name: str, values: dict[str, Any]) -> Insert:
    """INSERT ... ON CONFLICT (unique_identifier) DO NOTHING: concurrent creators cannot duplicate a manager."""
    dialect_insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
    return dialect_insert(OrderManagerTable).values(**values).on_conflict_do_nothing(
        index_elements=[OrderManagerTable.unique_identifier]
    )


def select_manager_by_uid(uid: uuid.UUID) -> Select[tuple[OrderManagerTable]]:
    return select(OrderManagerTable).where(OrderManagerTable.uid == uid)


def select_manager_by_unique_identifier(unique_identifier: str) -> Select[tuple[OrderManagerTable]]:
    return select(OrderManagerTable).where(OrderManagerTable.unique_identifier == unique_identifier)


def select_managers(
    *,
    target_account_uid: uuid.UUID | None = None,
    status: str | Iterable[str] | None = None,
    strategy_identifier: str | None = None,
    target_time_from: dt.datetime | None = None,
    target_time_to: dt.datetime | None = None,
) -> Select[tuple[OrderManagerTable]]:
    """Managers matching every given filter; the time range is ``from <= target_time < to``."""
    query = select(OrderManagerTable)
    if target_account_uid is not None:
        query = query.where(OrderManagerTable.target_account_uid == target_account_uid)
    if status is not None:
        statuses = [status] if isinstance(status, str) else list(status)
        query = query.where(OrderManagerTable.status.in_(statuses))
    if strategy_identifier is not None:
        query = query.where(OrderManagerTable.strategy_identifier == strategy_identifier)
    if target_time_from is not None:
        query = query.where(OrderManagerTable.target_time >= target_time_from)
    if target_time_to is not None:
        query = query.where(OrderManagerTable.target_time < target_time_to)
    return query.order_by(OrderManagerTable.target_time, OrderManagerTable.unique_identifier)


def select_managers_of_partitions(partition_keys: list[str]) -> Select[tuple[str | None]]:
    """The order-manager identifiers of the orders these partitions stored, and of the orders
    their events and trades belong to: an order is stored once, by the partition that saw it
    first, so an order finished by a later day's fills has no row in that day's partitions."""
    with_manager = OrdersTS.order_manager_identifier.is_not(None)
    stored_here = select(OrdersTS.order_identifier).where(OrdersTS.partition_key.in_(partition_keys))
    # the facts' orders stored by other partitions only: those of this run are in the first branch,
    # and leaving them out keeps the distinct set (and the look-ups below) to the few carried over
    orders_stored_elsewhere = union(
        select(OrderEventsTS.order_identifier).where(
            OrderEventsTS.partition_key.in_(partition_keys), OrderEventsTS.order_identifier.not_in(stored_here)
        ),
        select(TradesTS.order_identifier).where(
            TradesTS.partition_key.in_(partition_keys), TradesTS.order_identifier.not_in(stored_here)
        ),
    ).subquery()
    return union(
        select(OrdersTS.order_manager_identifier).where(OrdersTS.partition_key.in_(partition_keys), with_manager),
        select(OrdersTS.order_manager_identifier)
        .join(orders_stored_elsewhere, orders_stored_elsewhere.c.order_identifier == OrdersTS.order_identifier)
        .where(with_manager),
    )


def update_manager_status(
    uid: uuid.UUID, expected_status: str, new_status: str, values: dict[str, Any]
) -> Update:
    """Compare-and-set: changes the row only if it still has ``expected_status``."""
    return (
        update(OrderManagerTable)
        .where(OrderManagerTable.uid == uid, OrderManagerTable.status == expected_status)
        .values(status=new_status, **values)
    )


# --- partitions of facts ---------------------------------------------------------------------------

_FACT_MODELS = {"OrdersTS": OrdersTS, "OrderEventsTS": OrderEventsTS, "TradesTS": TradesTS}
_PARTITION_LOCK_NAMESPACE = 0x45584543  # "EXEC": keeps our advisory locks apart from other users'
_FACT_TABLES_LOCK_NAMESPACE = 0x45584544


def lock_partition(connection: Connection, partition_key: str) -> None:
    """Serialise writers of one partition until the transaction ends.

    PostgreSQL: a transaction-level advisory lock per partition. SQLite: the transaction already
    holds the database's write lock (BEGIN IMMEDIATE).
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, hashtext(:key))"),
            {"namespace": _PARTITION_LOCK_NAMESPACE, "key": partition_key},
        )


def lock_fact_tables(connection: Connection) -> None:
    """Serialise publishers from the moment they change the fact tables until they commit.

    Two partitions can observe the same facts: one deleting its rows while the other's
    ``ON CONFLICT DO UPDATE`` locks them (PostgreSQL locks the conflicting row even when the
    update's WHERE is false) deadlocks without it. SQLite: already serialised by its write lock.
    """
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(:namespace, 0)"), {"namespace": _FACT_TABLES_LOCK_NAMESPACE}
        )


def delete_partition_facts(connection: Connection, partition_key: str) -> None:
    for model in (IngestReject, TradesTS, OrderEventsTS, OrdersTS):
        connection.execute(_delete_partition(model, partition_key))


def _delete_partition(model: Any, partition_key: str) -> Delete:
    return delete(model).where(model.partition_key == partition_key)


# --- facts several partitions observed (models.execution.FactOverlap) -------------------------------

#: Fact table -> its identifier column and time column (the names ``fact_overlaps`` rows use).
_IDENTIFIER_COLUMNS = {
    model.__tablename__: (identifier.key, time.key)
    for model, identifier, time in (
        (OrdersTS, OrdersTS.order_identifier, OrdersTS.order_time),
        (OrderEventsTS, OrderEventsTS.event_identifier, OrderEventsTS.event_time),
        (TradesTS, TradesTS.trade_identifier, TradesTS.trade_time),
    )
}


def set_aside_overlaps(connection: Connection, partition_key: str) -> None:
    """Move the partition's notes of shared facts into the temporary table ``previous_overlaps``
    before its facts are replaced: its load notes again the facts it meets stored by others, and
    :func:`settle_overlaps` compares the rest with what the partition stores afterwards."""
    # with, for the shared facts the partition stores, the stored observation's time: if its new
    # observation of one has another time (a later one, say), the others must compare again (the
    # ranking compares times, then partition keys: a record number cannot change the winner)
    stored = " UNION ALL ".join(
        f"SELECT o.table_name, o.identifier, f.{time} AS stored_time "
        f"FROM fact_overlaps o JOIN {table} f ON f.{identifier} = o.identifier AND f.partition_key = o.partition_key "
        f"WHERE o.partition_key = :key AND o.table_name = '{table}'"
        for table, (identifier, time) in _IDENTIFIER_COLUMNS.items()
    )
    notes = (
        f"SELECT o.table_name, o.identifier, s.stored_time FROM fact_overlaps o "
        f"LEFT JOIN ({stored}) s ON s.table_name = o.table_name AND s.identifier = o.identifier "
        "WHERE o.partition_key = :key"
    )
    if connection.dialect.name == "postgresql":
        temporary = "TEMPORARY TABLE previous_overlaps ON COMMIT DROP"
    else:  # a pooled SQLite connection keeps temporary tables: one left by a crash goes first
        temporary = "TEMP TABLE previous_overlaps"
        connection.execute(text("DROP TABLE IF EXISTS temp.previous_overlaps"))
    connection.execute(text(f"CREATE {temporary} AS {notes}"), {"key": partition_key})
    connection.execute(delete(FactOverlap).where(FactOverlap.partition_key == partition_key))


def settle_overlaps(connection: Connection, partition_key: str) -> dict[str, int]:
    """After the partition's load: note again the shared facts it still stores, and return the
    other partitions that must publish again (partition key -> facts): they observed shared facts
    now stored nowhere (only their extracts still hold them), or stored by this partition from an
    observation at another time than before (a later one, say: theirs may now be the earliest)."""
    orphaned: dict[str, int] = {}
    for table, (identifier, time) in _IDENTIFIER_COLUMNS.items():
        stored_by_us = (
            f"EXISTS (SELECT 1 FROM {table} f WHERE f.{identifier} = p.identifier AND f.partition_key = :key)"
        )
        connection.execute(
            text(
                "INSERT INTO fact_overlaps (table_name, identifier, partition_key) "
                "SELECT p.table_name, p.identifier, CAST(:key AS VARCHAR(96)) FROM previous_overlaps p "
                f"WHERE p.table_name = :table AND {stored_by_us} ON CONFLICT DO NOTHING"
            ),
            {"key": partition_key, "table": table},
        )
        rows = connection.execute(
            text(
                "SELECT o.partition_key, COUNT(DISTINCT o.identifier) FROM previous_overlaps p "
                "JOIN fact_overlaps o ON o.table_name = p.table_name AND o.identifier = p.identifier "
                "WHERE p.table_name = :table AND o.partition_key <> :key "
                f"AND (NOT EXISTS (SELECT 1 FROM {table} f WHERE f.{identifier} = p.identifier) "
                f"OR EXISTS (SELECT 1 FROM {table} f WHERE f.{identifier} = p.identifier AND f.partition_key = :key "
                f"AND f.{time} <> p.stored_time)) "
                "GROUP BY o.partition_key"
            ),
            {"key": partition_key, "table": table},
        )
        for other, facts in rows:
            orphaned[other] = orphaned.get(other, 0) + facts
    schema = "pg_temp" if connection.dialect.name == "postgresql" else "temp"
    connection.execute(text(f"DROP TABLE {schema}.previous_overlaps"))
    return orphaned


def partitions_sharing_facts(connection: Connection, partition_key: str) -> set[str]:
    """The other partitions noted as observing a fact this partition observed."""
    theirs = FactOverlap.__table__.alias("theirs")
    ours = FactOverlap.__table__.alias("ours")
    query = (
        select(theirs.c.partition_key)
        .distinct()
        .join(ours, (ours.c.table_name == theirs.c.table_name) & (ours.c.identifier == theirs.c.identifier))
        .where(ours.c.partition_key == partition_key, theirs.c.partition_key != partition_key)
    )
    return set(connection.execute(query).scalars())


def request_republish(
    connection: Connection, partition_key: str, *, source: str, business_date: dt.date, requested_by: str,
    facts: int, now: dt.datetime,
) -> None:  # fmt: skip
    connection.execute(delete(RepublishRequest).where(RepublishRequest.partition_key == partition_key))
    connection.execute(
        insert(RepublishRequest).values(
            partition_key=partition_key, source=source, business_date=business_date, requested_by=requested_by,
            facts=facts, requested_at=now,
        )  # fmt: skip
    )


def clear_republish_request(connection: Connection, partition_key: str) -> None:
    connection.execute(delete(RepublishRequest).where(RepublishRequest.partition_key == partition_key))


def republish_requests(connection: Connection, partition_key: str | None = None) -> list[Row[Any]]:
    """Pending requests (of one partition, or all), oldest first: rows with the request's columns.

    A request whose ``facts`` is :data:`COUNTS_ONLY` asks only for the partition's ledger counts to be
    refreshed (:func:`note_stale_counts`); publishing the partition again satisfies it too."""
    table = RepublishRequest.__table__
    query = select(table).order_by(table.c.requested_at, table.c.partition_key)
    if partition_key is not None:
        query = query.where(table.c.partition_key == partition_key)
    return list(connection.execute(query).all())


#: ``republish_requests.facts`` of a request that asks only for the partition's ledger counts to be
#: refreshed (:func:`note_stale_counts`); a request to publish again always names at least one fact.
COUNTS_ONLY = 0


def note_stale_counts(
    connection: Connection, partitions: Iterable[tuple[str, str, dt.date]], *, requested_by: str, now: dt.datetime
) -> None:
    """Note, in the publishing transaction, that these (partition key, source, business date)
    partitions' ledger counts may be stale: the publish took rows over from them. A request with
    ``facts`` :data:`COUNTS_ONLY`, unless the partition has a request to publish again pending
    (publishing again recounts too); a counts-only one pending gets this publish's time, so the
    sensor's run key for it is new (its run for the older note may have failed already). The recount after the commit removes it (:func:`refresh_stale_counts`); when that
    recount fails or never runs (the process died), it stays: the landing-zone sensor starts the
    partition's run, which recounts. Written under the fact tables' lock, as every write to
    ``republish_requests`` is, so it waits for no other publisher."""
    dialect_insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    for key, source, business_date in partitions:
        connection.execute(
            dialect_insert(RepublishRequest)
            .values(partition_key=key, source=source, business_date=business_date, requested_by=requested_by,
                    facts=COUNTS_ONLY, requested_at=now)  # fmt: skip
            .on_conflict_do_update(
                index_elements=[RepublishRequest.partition_key],
                set_={"requested_by": requested_by, "requested_at": now},
                where=RepublishRequest.facts == COUNTS_ONLY,
            )
        )


def refresh_stale_counts(connection: Connection, partition_key: str) -> bool:
    """Recount the partition's ingested extracts, locking as a publisher of it would (its lock, then
    the fact tables'), and remove its counts-only request: True when one was pending."""
    lock_partition(connection, partition_key)
    lock_fact_tables(connection)
    recount_extracts(connection, partition_key)
    cleared = connection.execute(
        delete(RepublishRequest).where(
            RepublishRequest.partition_key == partition_key, RepublishRequest.facts == COUNTS_ONLY
        )
    )
    return bool(cleared.rowcount)


def recount_extracts(connection: Connection, partition_key: str) -> None:
    """Refresh the row counts of the partition's ingested extracts (another partition took rows over)."""
    stored = count_partition_rows(connection, partition_key)
    ids = connection.execute(
        select(ExtractFile.id).where(ExtractFile.partition_key == partition_key, ExtractFile.status == "ingested")
    ).scalars()
    for extract_id in ids:
        update_extract_counts(
            connection, extract_id, {name: stored.get((name, extract_id), 0) for name in (*_FACT_MODELS, "rejects")}
        )


def supersede_extracts(connection: Connection, partition_key: str, keep: set[tuple[str, str]]) -> list[int]:
    """Mark the partition's ingested extracts that are not in ``keep`` (changed or gone) superseded."""
    rows = connection.execute(
        select(ExtractFile.id, ExtractFile.uri, ExtractFile.sha256).where(
            ExtractFile.partition_key == partition_key, ExtractFile.status == "ingested"
        )
    ).all()
    gone = [row.id for row in rows if (row.uri, row.sha256) not in keep]
    if gone:
        connection.execute(update(ExtractFile).where(ExtractFile.id.in_(gone)).values(status="superseded"))
    return gone


def record_extract(
    connection: Connection,
    *,
    source: str,
    business_date: dt.date,
    partition_key: str,
    uri: str,
    sha256: str,
    size_bytes: int,
    reader_name: str,
    reader_version: str,
    run_id: str | None,
    now: dt.datetime,
    config_digest: str | None = None,
) -> int:
    """The ledger id of this version of the extract, created on first sight."""
    values = {
        "status": "ingested",
        "error": None,
        "reader_name": reader_name,
        "reader_version": reader_version,
        "config_digest": config_digest,
        "last_ingested_at": now,
        "last_ingested_run_id": run_id,
        "source": source,
        "business_date": business_date,
        "partition_key": partition_key,
    }
    existing = connection.execute(
        select(ExtractFile.id).where(ExtractFile.uri == uri, ExtractFile.sha256 == sha256)
    ).scalar_one_or_none()
    if existing is not None:
        connection.execute(update(ExtractFile).where(ExtractFile.id == existing).values(**values))
        return existing
    return connection.execute(
        insert(ExtractFile)
        .values(uri=uri, sha256=sha256, size_bytes=size_bytes, first_seen_at=now, **values)
        .returning(ExtractFile.id)
    ).scalar_one()


def count_partition_rows(connection: Connection, partition_key: str) -> dict[tuple[str, int], int]:
    """Rows the partition owns, per (table, extract id); table ``rejects`` for ``ingest_rejects``."""
    counts: dict[tuple[str, int], int] = {}
    for name, model in (*_FACT_MODELS.items(), ("rejects", IngestReject)):
        query = (
            select(model.extract_id, func.count())
            .where(model.partition_key == partition_key)
            .group_by(model.extract_id)
        )
        for extract_id, count in connection.execute(query):
            counts[(name, extract_id)] = count
    return counts


def update_extract_counts(connection: Connection, extract_id: int, rows: dict[str, int]) -> None:
    connection.execute(
        update(ExtractFile)
        .where(ExtractFile.id == extract_id)
        .values(
            orders_count=rows.get("OrdersTS", 0),
            order_events_count=rows.get("OrderEventsTS", 0),
            trades_count=rows.get("TradesTS", 0),
            rejects_count=rows.get("rejects", 0),
        )
    )


def ingested_extracts(connection: Connection, partition_key: str) -> set[tuple[str, str, str | None, str | None]]:
    """(uri, sha256, reader_version, config_digest) of the extracts the partition's facts currently
    come from: what a re-run compares with the landing zone and the catalogue to skip."""
    rows = connection.execute(
        select(ExtractFile.uri, ExtractFile.sha256, ExtractFile.reader_version, ExtractFile.config_digest).where(
            ExtractFile.partition_key == partition_key, ExtractFile.status == "ingested"
        )
    )
    return {(row.uri, row.sha256, row.reader_version, row.config_digest) for row in rows}


def record_failed_extract(
    connection: Connection,
    *,
    source: str,
    business_date: dt.date,
    partition_key: str,
    uri: str,
    sha256: str,
    size_bytes: int,
    reader_name: str,
    reader_version: str,
    run_id: str | None,
    error: str,
    config_digest: str | None = None,
) -> None:
    """Note in the ledger that this version of an extract could not be read (facts untouched).

    Takes the partition's lock first: a publish of the partition under way commits before the note
    looks at the row. ``error`` says why, and names the run that tried (``(run <id>)``); the
    ledger's run lineage (``last_ingested_run_id``, ``last_ingested_at``) only ever names a run
    whose rows were stored, so a failed attempt never changes it.

    A version that is ingested keeps its status, run lineage, reader, catalogue digest and counts:
    its facts are still the partition's, from that run (``error`` then tells of the attempt that
    failed after it, until a run ingests the version again). Any other version is marked ``failed``
    with the reader and catalogue digest of the attempt.
    """
    lock_partition(connection, partition_key)
    noted = f"{error} (run {run_id})" if run_id else error
    attempt = {"reader_name": reader_name, "reader_version": reader_version, "config_digest": config_digest}
    existing = connection.execute(
        select(ExtractFile.id, ExtractFile.status).where(ExtractFile.uri == uri, ExtractFile.sha256 == sha256)
    ).one_or_none()
    if existing is not None:
        row = update(ExtractFile).where(ExtractFile.id == existing.id)
        if existing.status == "ingested":
            connection.execute(row.values(error=noted))
        else:
            not_ingested = row.where(ExtractFile.status != "ingested")  # re-checked after any wait
            connection.execute(not_ingested.values(status="failed", error=noted, **attempt))
        return
    connection.execute(
        insert(ExtractFile).values(
            source=source,
            business_date=business_date,
            partition_key=partition_key,
            uri=uri,
            sha256=sha256,
            size_bytes=size_bytes,
            first_seen_at=dt.datetime.now(dt.UTC),
            status="failed",
            error=noted,
            orders_count=0,
            order_events_count=0,
            trades_count=0,
            rejects_count=0,
            **attempt,
        )
    )
