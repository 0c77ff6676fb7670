"""The execution storage shapes ``Orders``, ``OrderEvents``, ``Trades`` and how facts reach them.

Readers turn broker extracts into typed records (:class:`OrderRecord`, :class:`OrderEventRecord`,
:class:`TradeRecord`, :class:`RejectRecord`). :func:`publish_partition` is the one way those
records are written: for one (source, business date) partition, in one transaction, it

1. records each extract in the ledger (``extract_files``),
2. then, one publisher at a time (the fact tables' lock), removes the facts and rejects this
   partition published before and
3. appends the new facts with their lineage, storing each deterministic identifier once: when two
   observations of the same fact meet (two files, two days), the earliest wins, ranked by
   (time, partition key, record number, extract id), so the result does not depend on the order
   in which partitions are published,
4. counts what each extract contributed.

Facts another partition published are never touched, so late facts for another day stay where
they are. Either all of it commits or none of it does.

Records are ``NamedTuple``s rather than pydantic models: a broker day is millions of rows and
they go straight into COPY; :func:`publish_partition` validates them on the way in.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

import pandas as pd
from sqlalchemy import Engine, Table, select
from sqlalchemy.exc import SQLAlchemyError

from exec_pipeline.lib.bulkload import ExtractRef, LineageContext, loader_for
from exec_pipeline.lib.warehouse import describe_error, get_engine
from exec_pipeline.models.execution import (
    OrderEventsTS,
    OrdersTS,
    TradesTS,
    effective_trades_view,
    order_status_view,
)
from exec_pipeline.repositories import execution as repo

log = logging.getLogger(__name__)

# --- typed records -----------------------------------------------------------------------------------


class OrderRecord(NamedTuple):
    """An order as first observed in an extract (one OrdersTS row)."""

    record_number: int
    order_time: dt.datetime
    order_identifier: str
    asset_identifier: str
    order_side: int  # +1 buy, -1 sell
    account_identifier: str | None = None
    order_manager_identifier: str | None = None
    order_remote_id: str | None = None
    client_order_id: str | None = None
    orig_client_order_id: str | None = None
    order_type: str | None = None
    time_in_force: str | None = None
    quantity: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    currency: str | None = None
    expires_time: dt.datetime | None = None
    venue_metadata: dict[str, Any] | None = None


class OrderEventRecord(NamedTuple):
    """One broker report about an order (one OrderEventsTS row)."""

    record_number: int
    event_time: dt.datetime
    event_identifier: str
    order_identifier: str
    asset_identifier: str
    event_type: str
    account_identifier: str | None = None
    order_status: str | None = None
    cum_quantity: Decimal | None = None
    leaves_quantity: Decimal | None = None
    avg_price: Decimal | None = None
    reason: str | None = None
    event_metadata: dict[str, Any] | None = None


class TradeRecord(NamedTuple):
    """A fill, or a bust/correction of an earlier fill (one TradesTS row)."""

    record_number: int
    trade_time: dt.datetime
    trade_identifier: str
    asset_identifier: str
    trade_side: int  # +1 buy, -1 sell
    quantity: Decimal  # positive
    order_identifier: str | None = None
    account_identifier: str | None = None
    trade_remote_id: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    commission: Decimal | None = None
    commission_asset_identifier: str | None = None
    settlement_cost: Decimal | None = None
    settlement_asset_identifier: str | None = None
    liquidity: str | None = None  # maker / taker
    venue: str | None = None
    trade_kind: str = "fill"  # fill / bust / correction
    ref_trade_identifier: str | None = None  # the fill a bust or correction refers to
    venue_metadata: dict[str, Any] | None = None


class RejectRecord(NamedTuple):
    """A record that could not be normalised: kept with a human-readable reason and its raw text."""

    record_number: int | None
    reason: str
    field: str | None = None
    raw_record: str | None = None


FactRecord = OrderRecord | OrderEventRecord | TradeRecord | RejectRecord


# --- storage shapes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DataNode:
    """A time-series fact table: its storage identifier, time index, identifier and record type."""

    storage_identifier: str
    table: Table
    record_type: type[tuple] | None  # None: a read-only view
    time_index: str
    identifier: str

    def read(
        self,
        *,
        start: dt.datetime | None = None,
        end: dt.datetime | None = None,
        engine: Engine | None = None,
        **equals: Any,
    ) -> pd.DataFrame:
        """Rows with ``start <= time < end`` and the given column values, ordered by time.

        Decimal columns come back as exact ``Decimal`` objects (dtype object), times as UTC.
        """
        table = self.table
        query = select(table)
        time_column = table.c[self.time_index]
        if start is not None:
            query = query.where(time_column >= start)
        if end is not None:
            query = query.where(time_column < end)
        for name, value in equals.items():
            query = query.where(table.c[name] == value)
        query = query.order_by(time_column, table.c[self.identifier])
        with (engine or get_engine()).connect() as connection:
            rows = connection.execute(query).mappings().all()
        return pd.DataFrame(rows, columns=[c.name for c in table.columns])


Orders = DataNode("OrdersTS", OrdersTS.__table__, OrderRecord, "order_time", "order_identifier")
OrderEvents = DataNode(
    "OrderEventsTS", OrderEventsTS.__table__, OrderEventRecord, "event_time", "event_identifier"
)
Trades = DataNode("TradesTS", TradesTS.__table__, TradeRecord, "trade_time", "trade_identifier")
DATA_NODES = (Orders, OrderEvents, Trades)

#: Read-only views over the facts (migration 0002): what most questions should start from.
EffectiveTrades = DataNode("EffectiveTrades", effective_trades_view, None, "trade_time", "trade_identifier")
OrderStatus = DataNode("OrderStatus", order_status_view, None, "order_time", "order_identifier")


# --- publishing ------------------------------------------------------------------------------------


@dataclass
class ExtractFacts:
    """What a reader made of one extract file, with the file's identity for the ledger."""

    uri: str
    sha256: str
    size_bytes: int
    reader_name: str
    reader_version: str
    records: Iterable[FactRecord]
    #: the catalogue entry's digest (SourceConfig.digest), kept in the ledger
    config_digest: str | None = None


@dataclass
class ExtractSummary:
    extract_id: int
    uri: str
    sha256: str
    size_bytes: int
    reader_name: str
    reader_version: str
    records_read: dict[str, int]
    rows_stored: dict[str, int]


@dataclass
class PublishSummary:
    """What a publish did; ``rows_stored`` counts the rows this partition owns after it."""

    partition_key: str
    source: str
    business_date: dt.date
    run_id: str | None
    extracts: list[ExtractSummary] = field(default_factory=list)
    records_read: dict[str, int] = field(default_factory=dict)
    rows_stored: dict[str, int] = field(default_factory=dict)
    superseded_extract_ids: list[int] = field(default_factory=list)
    #: other partitions asked to publish again (partition key -> facts): they observed facts that
    #: this partition stored before and no longer does, so no row holds them now
    republish_requested: dict[str, int] = field(default_factory=dict)
    #: partitions whose ledger counts could not be refreshed after the commit (partition key -> why):
    #: the publish stands; each keeps a counts-only request (``republish_requests``, ``facts`` 0)
    #: that its next run, which the landing-zone sensor starts, satisfies by recounting
    recount_failed: dict[str, str] = field(default_factory=dict)

    @property
    def duplicates(self) -> dict[str, int]:
        """Facts read but not stored by this partition (already stored from an earlier observation)."""
        return {
            name: self.records_read.get(name, 0) - self.rows_stored.get(name, 0)
            for name in ("OrdersTS", "OrderEventsTS", "TradesTS")
        }


def partition_key(source: str, business_date: dt.date) -> str:
    """The string form of the (date, source) partition: ``2026-01-05|fixgw``."""
    return f"{business_date.isoformat()}|{source}"


def split_partition_key(key: str) -> tuple[dt.date, str]:
    """(business date, source) of a :func:`partition_key` string."""
    day, _, source = key.partition("|")
    return dt.date.fromisoformat(day), source


_TABLE_OF_RECORD: dict[type, str] = {
    OrderRecord: "OrdersTS",
    OrderEventRecord: "OrderEventsTS",
    TradeRecord: "TradesTS",
    RejectRecord: "rejects",
}


def publish_partition(
    source: str,
    business_date: dt.date,
    extracts: Iterable[ExtractFacts],
    *,
    run_id: str | None = None,
    engine: Engine | None = None,
    ingested_at: dt.datetime | None = None,
) -> PublishSummary:
    """Replace the facts of partition (``business_date``, ``source``) with those of ``extracts``.

    Atomic (one transaction) and idempotent (publishing the same extracts again leaves the same
    facts). Records stream through in chunks, so memory does not grow with the extract size.
    Raises :class:`~exec_pipeline.lib.bulkload.FactValidationError` (naming the extract, record and
    field) on a record that breaks the table's contract; nothing is written then.

    A fact several partitions observed is stored once, by its earliest observation, and the
    partitions that observed it are noted (``fact_overlaps``). When this publish stops storing such
    a fact, or stores it from an observation at another time than before, the other partitions
    that observed it are asked, in the same transaction, to publish again (``republish_requests``,
    ``PublishSummary.republish_requested``): until they do, only their extracts hold it (or a later
    observation than theirs stands).

    Ledger counts of partitions whose rows this publish took over are refreshed after the commit,
    each in a transaction of its own. The publish notes them as stale in its own transaction
    (``republish_requests`` with ``facts`` 0, :func:`~exec_pipeline.repositories.execution.note_stale_counts`)
    and each refresh removes its note; a refresh that fails (a lock timeout, a dropped connection)
    does not fail the publish, which committed: it is logged as a warning and returned in
    ``PublishSummary.recount_failed``, and the note stays until that partition's next run (the
    landing-zone sensor starts it) recounts. So does one that never ran because the process died.
    """
    engine = engine or get_engine()
    key = partition_key(source, business_date)
    now = ingested_at or dt.datetime.now(dt.UTC)
    summary = PublishSummary(partition_key=key, source=source, business_date=business_date, run_id=run_id)
    ordered = sorted(extracts, key=lambda e: (e.uri, e.sha256))

    with engine.begin() as connection:
        repo.lock_partition(connection, key)
        summary.superseded_extract_ids = repo.supersede_extracts(
            connection, key, keep={(e.uri, e.sha256) for e in ordered}
        )
        ledger = [
            (
                extract,
                repo.record_extract(
                    connection,
                    source=source,
                    business_date=business_date,
                    partition_key=key,
                    uri=extract.uri,
                    sha256=extract.sha256,
                    size_bytes=extract.size_bytes,
                    reader_name=extract.reader_name,
                    reader_version=extract.reader_version,
                    config_digest=extract.config_digest,
                    run_id=run_id,
                    now=now,
                ),
            )
            for extract in ordered
        ]
        # From here on this transaction changes the fact tables: one publisher at a time.
        repo.lock_fact_tables(connection)
        repo.set_aside_overlaps(connection, key)
        repo.delete_partition_facts(connection, key)
        lineage = LineageContext(
            source=source, partition_key=key, run_id=run_id, ingested_at=now,
            extract_order=tuple(extract_id for _, extract_id in ledger),
        )  # fmt: skip
        per_extract: list[tuple[ExtractFacts, int, dict[str, int]]] = []
        with loader_for(connection, lineage) as loader:  # owns the connection until finished
            for extract, extract_id in ledger:
                counts = {"OrdersTS": 0, "OrderEventsTS": 0, "TradesTS": 0, "rejects": 0}
                ref = ExtractRef(extract.uri, extract_id, extract.reader_name, extract.reader_version)
                for record in extract.records:
                    name = _TABLE_OF_RECORD.get(type(record))
                    if name is None:
                        raise TypeError(
                            f"{extract.uri}: a reader yielded {type(record).__name__}; expected one of "
                            "OrderRecord, OrderEventRecord, TradeRecord, RejectRecord"
                        )
                    counts[name] += 1
                    loader.add(name, ref, record)
                per_extract.append((extract, extract_id, counts))
            loader.finish()
        summary.republish_requested = repo.settle_overlaps(connection, key)
        for other, facts in summary.republish_requested.items():
            other_date, other_source = split_partition_key(other)
            repo.request_republish(
                connection, other, source=other_source, business_date=other_date, requested_by=key, facts=facts,
                now=now,
            )  # fmt: skip
        repo.clear_republish_request(connection, key)
        # the partitions that may have lost rows to this publish (those asked to publish again
        # never stored the facts in question: their counts stand)
        sharing = repo.partitions_sharing_facts(connection, key)
        repo.note_stale_counts(
            connection,
            [(other, *reversed(split_partition_key(other))) for other in sorted(sharing)],
            requested_by=key,
            now=now,
        )
        stored = repo.count_partition_rows(connection, key)
        for extract, extract_id, counts in per_extract:
            rows = {name: stored.get((name, extract_id), 0) for name in counts}
            repo.update_extract_counts(connection, extract_id, rows)
            summary.extracts.append(
                ExtractSummary(
                    extract_id=extract_id,
                    uri=extract.uri,
                    sha256=extract.sha256,
                    size_bytes=extract.size_bytes,
                    reader_name=extract.reader_name,
                    reader_version=extract.reader_version,
                    records_read=counts,
                    rows_stored=rows,
                )
            )
    # Rows this publish took over from other partitions changed their counts.
    # A transaction of its own, locking as a publisher of that partition would: inside ours, its
    # ledger rows could be held by that partition's publisher, itself waiting for our lock.
    # The facts committed: a refresh that fails leaves its partition's note for its next run.
    for other in sorted(sharing):
        try:
            with engine.begin() as connection:
                repo.refresh_stale_counts(connection, other)
        except SQLAlchemyError as exc:
            summary.recount_failed[other] = describe_error(exc)
            log.warning(
                "%s committed, but the ledger counts of %s, which it took rows from, could not be refreshed "
                "(%s); they are refreshed by %s's next run (requested in republish_requests)",
                key, other, summary.recount_failed[other], other,
            )  # fmt: skip
    summary.records_read = _sum_counts(item.records_read for item in summary.extracts)
    summary.rows_stored = _sum_counts(item.rows_stored for item in summary.extracts)
    return summary


def _sum_counts(counts: Iterable[Mapping[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for item in counts:
        for name, value in item.items():
            total[name] = total.get(name, 0) + value
    return total
