"""SQLAlchemy 2 models of the execution warehouse (SPEC §3).

``OrderManagerTable`` is the registry of order-manager intent. ``OrdersTS``, ``OrderEventsTS`` and
``TradesTS`` hold timestamped facts read from broker extracts; each fact row carries its lineage
(:class:`FactLineage`). ``ExtractFile`` is the ledger of extracts seen and ``IngestReject`` keeps
every record that could not be normalised.

The schema itself is created by the Alembic migrations in ``exec_pipeline/migrations``; a test
checks that these models and the migrations agree.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    Table,
    Text,
    UniqueConstraint,
    text,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from exec_pipeline.lib.sqltypes import BytewiseString, ExactDecimal, JSONDocument, RawRecordJSON, UTCDateTime

# --- vocabularies --------------------------------------------------------------------------------

#: Order-manager lifecycle: created -> submitted -> executing -> completed, with terminal exits.
MANAGER_STATUSES = ("created", "submitted", "executing", "completed", "cancelled", "failed", "expired")
MANAGER_TERMINAL_STATUSES = frozenset({"completed", "cancelled", "failed", "expired"})
MANAGER_TRANSITIONS: dict[str, frozenset[str]] = {
    "created": frozenset({"submitted", "cancelled", "failed", "expired"}),
    "submitted": frozenset({"executing", "cancelled", "failed", "expired"}),
    "executing": frozenset({"completed", "cancelled", "failed", "expired"}),
    "completed": frozenset(),
    "cancelled": frozenset(),
    "failed": frozenset(),
    "expired": frozenset(),
}

#: What happened to an order (one OrderEventsTS row per broker report).
EVENT_TYPES = (
    "new",
    "pending_new",
    "partially_filled",
    "filled",
    "canceled",
    "pending_cancel",
    "replaced",
    "pending_replace",
    "rejected",
    "expired",
    "trade_cancel",
    "trade_correct",
    "restated",
    "status",
    "done_for_day",
    "suspended",
)

#: The order's canonical status after an event.
ORDER_STATUSES = (
    "pending_new",
    "new",
    "partially_filled",
    "filled",
    "done_for_day",
    "canceled",
    "pending_cancel",
    "replaced",
    "pending_replace",
    "rejected",
    "expired",
    "suspended",
    "stopped",
    "calculated",
    "accepted_for_bidding",
)
ORDER_TERMINAL_STATUSES = frozenset({"filled", "canceled", "replaced", "rejected", "expired", "done_for_day"})

#: A TradesTS row is a fill, or a fact about an earlier fill (``ref_trade_identifier``):
#: ``bust`` cancels it, ``correction`` replaces its quantity/price.
TRADE_KINDS = ("fill", "bust", "correction")
LIQUIDITY = ("maker", "taker")

EXTRACT_STATUSES = ("ingested", "superseded", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


# Stable constraint names so Alembic migrations can refer to them on both backends.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# --- registry --------------------------------------------------------------------------------------


class OrderManagerTable(Base):
    """Order-manager intent: which manager/strategy is about to trade, for which account, when."""

    __tablename__ = "order_manager"

    uid: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    unique_identifier: Mapped[str] = mapped_column(BytewiseString(255), unique=True)
    target_account_uid: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    target_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(BytewiseString(16), index=True)
    order_received_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    execution_end: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    strategy_identifier: Mapped[str | None] = mapped_column(BytewiseString(255), index=True)
    metadata_json: Mapped[dict[str, Any] | None] = mapped_column(JSONDocument)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow, onupdate=_utcnow)

    __table_args__ = (CheckConstraint(_in("status", MANAGER_STATUSES), name="status"),)


# --- ledger and rejects ------------------------------------------------------------------------------


class ExtractFile(Base):
    """One row per version (URI + sha256) of every extract file read."""

    __tablename__ = "extract_files"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(BytewiseString(64))
    business_date: Mapped[dt.date] = mapped_column(Date)
    partition_key: Mapped[str] = mapped_column(BytewiseString(96), index=True)
    uri: Mapped[str] = mapped_column(Text)
    sha256: Mapped[str] = mapped_column(BytewiseString(64), index=True)
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    reader_name: Mapped[str | None] = mapped_column(BytewiseString(64))
    reader_version: Mapped[str | None] = mapped_column(BytewiseString(32))
    #: SourceConfig.digest of the catalogue entry it was read with (None: read before 0007)
    config_digest: Mapped[str | None] = mapped_column(BytewiseString(16))
    first_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)
    last_ingested_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_ingested_run_id: Mapped[str | None] = mapped_column(BytewiseString(64))
    orders_count: Mapped[int] = mapped_column(Integer, default=0)
    order_events_count: Mapped[int] = mapped_column(Integer, default=0)
    trades_count: Mapped[int] = mapped_column(Integer, default=0)
    rejects_count: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(BytewiseString(16))
    error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("uri", "sha256"),
        CheckConstraint(_in("status", EXTRACT_STATUSES), name="status"),
    )


class FactOverlap(Base):
    """A fact that several partitions observed: one row per (table, identifier, observing partition).

    A fact is stored once, by its earliest observation. When the partition that stores it publishes
    again without it (its file was re-delivered without the fact), the other partitions noted here
    still hold it in their extracts: they get a :class:`RepublishRequest` so the fact comes back
    (see ``data_nodes.execution.publish_partition``). Written only when a load meets another
    partition's stored facts, so a day that overlaps no other day costs nothing here.
    """

    __tablename__ = "fact_overlaps"

    table_name: Mapped[str] = mapped_column(BytewiseString(32), primary_key=True)
    identifier: Mapped[str] = mapped_column(BytewiseString(64), primary_key=True)
    partition_key: Mapped[str] = mapped_column(BytewiseString(96), primary_key=True, index=True)


class RepublishRequest(Base):
    """A partition that must publish again: facts that only its extracts still hold are stored nowhere.

    Written in the same transaction as the publish that stopped storing them, so it survives a
    crash; the landing-zone sensor requests a run for it, the skip of unchanged extracts does not
    apply to it, and its next publish removes it.

    ``facts`` 0 (``repositories.execution.COUNTS_ONLY``) asks only for the partition's ledger counts
    to be refreshed: a publish took rows over from it and could not recount them after its commit.
    """

    __tablename__ = "republish_requests"

    partition_key: Mapped[str] = mapped_column(BytewiseString(96), primary_key=True)
    source: Mapped[str] = mapped_column(BytewiseString(64))
    business_date: Mapped[dt.date] = mapped_column(Date)
    requested_by: Mapped[str] = mapped_column(BytewiseString(96))
    facts: Mapped[int] = mapped_column(Integer)
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


class IngestReject(Base):
    """A record that could not be normalised, kept with its reason and raw text."""

    __tablename__ = "ingest_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    extract_id: Mapped[int] = mapped_column(ForeignKey("extract_files.id"), index=True)
    source: Mapped[str] = mapped_column(BytewiseString(64))
    partition_key: Mapped[str] = mapped_column(BytewiseString(96), index=True)
    record_number: Mapped[int | None] = mapped_column(Integer)
    field: Mapped[str | None] = mapped_column(BytewiseString(128))
    reason: Mapped[str] = mapped_column(Text)
    raw_record: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(BytewiseString(64))
    reader_name: Mapped[str | None] = mapped_column(BytewiseString(64))
    reader_version: Mapped[str | None] = mapped_column(BytewiseString(32))
    rejected_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=_utcnow)


# --- facts -----------------------------------------------------------------------------------------


class FactLineage:
    """Where a fact row came from: source, extract (ledger id), record number, partition, run, reader.

    ``extract_id`` names an ``extract_files`` row but is not a declared foreign key: the check
    trigger it would fire for every inserted fact cost ~30% of a bulk load (benchmarks/), and the
    loader only ever writes ids of ledger rows created in the same transaction (ledger rows are
    never deleted). The ``facts_trace_to_ledger`` asset check verifies it. One index on
    (partition_key, extract_id) serves replacing a partition and counting its rows per extract.
    """

    source: Mapped[str] = mapped_column(BytewiseString(64))
    extract_id: Mapped[int] = mapped_column(Integer)
    record_number: Mapped[int] = mapped_column(Integer)
    partition_key: Mapped[str] = mapped_column(BytewiseString(96))
    run_id: Mapped[str | None] = mapped_column(BytewiseString(64))
    reader_name: Mapped[str] = mapped_column(BytewiseString(64))
    reader_version: Mapped[str] = mapped_column(BytewiseString(32))
    ingested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class OrdersTS(FactLineage, Base):
    """One row per order: its first observation."""

    __tablename__ = "orders_ts"

    order_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    order_identifier: Mapped[str] = mapped_column(BytewiseString(64), primary_key=True)
    account_identifier: Mapped[str | None] = mapped_column(BytewiseString(255))
    asset_identifier: Mapped[str] = mapped_column(BytewiseString(255))
    order_manager_identifier: Mapped[str | None] = mapped_column(BytewiseString(255), index=True)
    order_remote_id: Mapped[str | None] = mapped_column(BytewiseString(255))
    client_order_id: Mapped[str | None] = mapped_column(BytewiseString(255))
    orig_client_order_id: Mapped[str | None] = mapped_column(BytewiseString(255))
    order_type: Mapped[str | None] = mapped_column(BytewiseString(32))
    time_in_force: Mapped[str | None] = mapped_column(BytewiseString(32))
    order_side: Mapped[int] = mapped_column(SmallInteger)
    quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    limit_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    stop_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    currency: Mapped[str | None] = mapped_column(BytewiseString(16))
    expires_time: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    venue_metadata: Mapped[dict[str, Any] | None] = mapped_column(RawRecordJSON)

    __table_args__ = (
        UniqueConstraint("order_identifier"),
        Index(None, "partition_key", "extract_id"),
        Index(None, "account_identifier", "order_time"),
        Index(None, "asset_identifier", "order_time"),
        Index(None, "source", "client_order_id"),
        CheckConstraint("order_side IN (1, -1)", name="order_side"),
    )


class OrderEventsTS(FactLineage, Base):
    """One row per broker report about an order (new, fill, cancel, replace, ...)."""

    __tablename__ = "order_events_ts"

    event_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    event_identifier: Mapped[str] = mapped_column(BytewiseString(64), primary_key=True)
    order_identifier: Mapped[str] = mapped_column(BytewiseString(64))
    account_identifier: Mapped[str | None] = mapped_column(BytewiseString(255))
    asset_identifier: Mapped[str] = mapped_column(BytewiseString(255))
    event_type: Mapped[str] = mapped_column(BytewiseString(24))
    order_status: Mapped[str | None] = mapped_column(BytewiseString(24))
    cum_quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    leaves_quantity: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    avg_price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    reason: Mapped[str | None] = mapped_column(Text)
    event_metadata: Mapped[dict[str, Any] | None] = mapped_column(RawRecordJSON)

    __table_args__ = (
        UniqueConstraint("event_identifier"),
        Index(None, "partition_key", "extract_id"),
        # An order's events are looked up by the order (hash: a quarter the size of a btree over
        # uuid text, so it stays cached); account or asset questions go through OrdersTS/TradesTS or
        # the time index. Every index here is paid on each of the millions of events a day.
        Index(None, "order_identifier", postgresql_using="hash"),
        CheckConstraint(_in("event_type", EVENT_TYPES), name="event_type"),
        CheckConstraint(_in("order_status", ORDER_STATUSES), name="order_status"),
    )


class TradesTS(FactLineage, Base):
    """One row per fill, and one per bust or correction of an earlier fill."""

    __tablename__ = "trades_ts"

    trade_time: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    trade_identifier: Mapped[str] = mapped_column(BytewiseString(64), primary_key=True)
    order_identifier: Mapped[str | None] = mapped_column(BytewiseString(64))
    account_identifier: Mapped[str | None] = mapped_column(BytewiseString(255))
    asset_identifier: Mapped[str] = mapped_column(BytewiseString(255))
    trade_remote_id: Mapped[str | None] = mapped_column(BytewiseString(255))
    trade_side: Mapped[int] = mapped_column(SmallInteger)
    quantity: Mapped[Decimal] = mapped_column(ExactDecimal)
    price: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    currency: Mapped[str | None] = mapped_column(BytewiseString(16))
    commission: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    commission_asset_identifier: Mapped[str | None] = mapped_column(BytewiseString(255))
    settlement_cost: Mapped[Decimal | None] = mapped_column(ExactDecimal)
    settlement_asset_identifier: Mapped[str | None] = mapped_column(BytewiseString(255))
    liquidity: Mapped[str | None] = mapped_column(BytewiseString(8))
    venue: Mapped[str | None] = mapped_column(BytewiseString(64))
    trade_kind: Mapped[str] = mapped_column(BytewiseString(16))
    ref_trade_identifier: Mapped[str | None] = mapped_column(BytewiseString(64))
    venue_metadata: Mapped[dict[str, Any] | None] = mapped_column(RawRecordJSON)

    __table_args__ = (
        UniqueConstraint("trade_identifier"),
        Index(None, "partition_key", "extract_id"),
        Index(None, "order_identifier", postgresql_using="hash"),
        Index(None, "account_identifier", "trade_time"),
        Index(None, "asset_identifier", "trade_time"),
        # busts and corrections only: fills (nearly every row) have none, so they cost the index nothing
        Index(
            None,
            "ref_trade_identifier",
            postgresql_where=text("ref_trade_identifier IS NOT NULL"),
            sqlite_where=text("ref_trade_identifier IS NOT NULL"),
        ),
        CheckConstraint("trade_side IN (1, -1)", name="trade_side"),
        CheckConstraint(_in("trade_kind", TRADE_KINDS), name="trade_kind"),
        CheckConstraint(_in("liquidity", LIQUIDITY), name="liquidity"),
        CheckConstraint(
            "(trade_kind = 'fill' AND ref_trade_identifier IS NULL) "
            "OR (trade_kind <> 'fill' AND ref_trade_identifier IS NOT NULL)",
            name="ref_trade",
        ),
    )


#: The fact tables by their storage identifier (the names of the Dagster assets).
FACT_TABLES = {"OrdersTS": OrdersTS, "OrderEventsTS": OrderEventsTS, "TradesTS": TradesTS}


# --- views (created by migration 0002; read-only) ----------------------------------------------------

#: Views live in their own MetaData: they are not tables to create or to compare with migrations.
VIEWS_METADATA = MetaData()

#: Effective trades: fills not busted, each replaced by its latest correction; one row per
#: original fill (``original_trade_identifier``).
effective_trades_view = Table(
    "effective_trades",
    VIEWS_METADATA,
    *(Column(column.name, column.type) for column in TradesTS.__table__.columns),
    Column("original_trade_identifier", BytewiseString(64)),
)

#: Each order's latest status (from its latest event), and its filled quantity and volume-weighted
#: average price from the effective trades (exact on both backends).
order_status_view = Table(
    "order_status",
    VIEWS_METADATA,
    Column("order_identifier", BytewiseString(64)),
    Column("order_time", UTCDateTime),
    Column("source", BytewiseString(64)),
    Column("account_identifier", BytewiseString(255)),
    Column("asset_identifier", BytewiseString(255)),
    Column("order_manager_identifier", BytewiseString(255)),
    Column("client_order_id", BytewiseString(255)),
    Column("order_remote_id", BytewiseString(255)),
    Column("order_side", SmallInteger),
    Column("order_quantity", ExactDecimal),
    Column("limit_price", ExactDecimal),
    Column("order_status", BytewiseString(24)),
    Column("last_event_type", BytewiseString(24)),
    Column("last_event_time", UTCDateTime),
    Column("reported_cum_quantity", ExactDecimal),
    Column("reported_leaves_quantity", ExactDecimal),
    Column("reported_avg_price", ExactDecimal),
    Column("trade_count", Integer),
    Column("filled_quantity", ExactDecimal),
    Column("avg_price", ExactDecimal),
    Column("last_trade_time", UTCDateTime),
)
