"""Bulk loading of fact records inside the publishing transaction, one loader per backend.

Both loaders take records one at a time, validate and encode them, buffer them in chunks and
write them set-based: PostgreSQL COPYs chunks into temporary staging tables and moves them into the
fact tables with one ``INSERT ... SELECT ... ON CONFLICT`` per table; SQLite ``executemany``s an
UPSERT per chunk. The conflict rule is the same on both (see ``exec_pipeline.data_nodes.execution``):
the earliest observation of an identifier wins, ranked by (time, partition key, record number,
extract id).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from sqlalchemy import Column, Connection, Table, text

from exec_pipeline.lib.sqltypes import (
    ExactDecimal,
    UTCDateTime,
    datetime_to_sqlite,
    decimal_to_text,
    json_dumps,
)
from exec_pipeline.models.execution import (
    EVENT_TYPES,
    LIQUIDITY,
    ORDER_STATUSES,
    TRADE_KINDS,
    IngestReject,
    OrderEventsTS,
    OrdersTS,
    TradesTS,
)

CHUNK_ROWS = 20_000


class FactValidationError(ValueError):
    """A record breaks its table's contract; the message names the extract, record and field."""


@dataclass(frozen=True)
class LineageContext:
    """Lineage shared by every row of one publish."""

    source: str
    partition_key: str
    run_id: str | None
    ingested_at: dt.datetime


@dataclass(frozen=True)
class ExtractRef:
    """The extract a record comes from (for lineage and error messages)."""

    uri: str
    extract_id: int
    reader_name: str
    reader_version: str


@dataclass(frozen=True)
class _TableSpec:
    name: str  # "OrdersTS", ..., "rejects"
    table: Table
    fields: tuple[str, ...]  # the record's fields, in record order
    identifier: str | None  # None for rejects (no dedupe)
    time_index: str | None


def _specs() -> dict[str, _TableSpec]:
    # imported here: data_nodes imports this module
    from exec_pipeline.data_nodes.execution import (
        OrderEventRecord,
        OrderRecord,
        RejectRecord,
        TradeRecord,
    )

    return {
        "OrdersTS": _TableSpec(
            "OrdersTS", OrdersTS.__table__, OrderRecord._fields, "order_identifier", "order_time"
        ),
        "OrderEventsTS": _TableSpec(
            "OrderEventsTS", OrderEventsTS.__table__, OrderEventRecord._fields, "event_identifier", "event_time"
        ),
        "TradesTS": _TableSpec(
            "TradesTS", TradesTS.__table__, TradeRecord._fields, "trade_identifier", "trade_time"
        ),
        "rejects": _TableSpec("rejects", IngestReject.__table__, RejectRecord._fields, None, None),
    }


_VOCABULARIES: dict[str, frozenset[Any]] = {
    "event_type": frozenset(EVENT_TYPES),
    "order_status": frozenset(ORDER_STATUSES),
    "trade_kind": frozenset(TRADE_KINDS),
    "liquidity": frozenset(LIQUIDITY),
    "order_side": frozenset({1, -1}),
    "trade_side": frozenset({1, -1}),
}

Converter = Callable[[Any], Any]


def _check_decimal(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise TypeError(f"expected an exact Decimal, got {type(value).__name__} {value!r}")
    if isinstance(value, Decimal) and not value.is_finite():
        raise ValueError(f"{value} is not a finite decimal")
    return value if isinstance(value, Decimal) else Decimal(value)


def _check_datetime(value: Any) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__} {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp {value.isoformat()} has no time zone")
    return value


def _postgres_text(value: Any) -> Any:
    # PostgreSQL text cannot hold NUL; keep the byte visible instead of failing the partition.
    if isinstance(value, str) and "\x00" in value:
        return value.replace("\x00", "\\x00")
    return value


def _postgres_json(value: Any) -> str:
    encoded = json_dumps(value)
    # jsonb refuses the \u0000 escape as well
    return encoded.replace("\\u0000", "\\\\x00") if "\\u0000" in encoded else encoded


def _converter(column: Column[Any], dialect_name: str) -> Converter:
    sqlite = dialect_name == "sqlite"
    if isinstance(column.type, ExactDecimal):
        return (lambda v: decimal_to_text(_check_decimal(v))) if sqlite else _check_decimal
    if isinstance(column.type, UTCDateTime):
        return (lambda v: datetime_to_sqlite(_check_datetime(v))) if sqlite else _check_datetime
    if column.type._type_affinity.__name__ == "JSON":  # JSONDocument (JSON / JSONB variant)
        return json_dumps if sqlite else _postgres_json
    return (lambda v: v) if sqlite else _postgres_text


class _RowEncoder:
    """Validates a record and turns it into the backend's column values (record fields + extract id)."""

    def __init__(self, spec: _TableSpec, dialect_name: str) -> None:
        self.spec = spec
        columns = [spec.table.c[name] for name in spec.fields]
        self.converters = [_converter(c, dialect_name) for c in columns]
        self.required = [not c.nullable for c in columns]
        self.vocabularies = [_VOCABULARIES.get(c.name) for c in columns]

    def encode(self, record: tuple[Any, ...], ref: ExtractRef) -> tuple[Any, ...]:
        out: list[Any] = []
        for name, value, convert, required, vocabulary in zip(
            self.spec.fields, record, self.converters, self.required, self.vocabularies, strict=True
        ):
            if value is None:
                if required:
                    raise self._error(ref, record, name, "is required but missing")
                out.append(None)
                continue
            if vocabulary is not None and value not in vocabulary:
                allowed = ", ".join(sorted(map(str, vocabulary)))
                raise self._error(ref, record, name, f"{value!r} is not one of: {allowed}")
            try:
                out.append(convert(value))
            except (TypeError, ValueError) as exc:
                raise self._error(ref, record, name, str(exc)) from exc
        out.append(ref.extract_id)
        return tuple(out)

    def _error(self, ref: ExtractRef, record: tuple[Any, ...], name: str, problem: str) -> FactValidationError:
        number = record[0]
        return FactValidationError(
            f"{ref.uri}, record {number}: {self.spec.name}.{name} {problem} (reader {ref.reader_name} "
            f"{ref.reader_version})"
        )


class FactLoader(Protocol):
    #: True when ``add`` writes into the fact tables themselves (the partition's old facts must be
    #: deleted first); False when it stages rows that ``apply`` moves in afterwards.
    writes_directly: bool

    def add(self, name: str, ref: ExtractRef, record: tuple[Any, ...]) -> None: ...

    def finish(self) -> None:
        """Write whatever is still buffered."""

    def apply(self) -> None:
        """Move staged rows into the fact tables (no-op when ``writes_directly``)."""


_LINEAGE_COLUMNS = ("source", "partition_key", "run_id", "reader_name", "reader_version", "ingested_at")


def _upsert_assignments(spec: _TableSpec, excluded: str) -> str:
    columns = [*spec.fields, "extract_id", *_LINEAGE_COLUMNS]
    return ", ".join(f"{c} = {excluded}.{c}" for c in columns if c != spec.identifier)


def _earlier_observation(spec: _TableSpec, excluded: str) -> str:
    rank = (spec.time_index, "partition_key", "record_number", "extract_id")
    new = ", ".join(f"{excluded}.{c}" for c in rank)
    old = ", ".join(f"{spec.table.name}.{c}" for c in rank)
    return f"({new}) < ({old})"


class PostgresFactLoader:
    """COPY into ``ON COMMIT DROP`` staging tables, then one set-based INSERT per table."""

    writes_directly = False

    def __init__(self, connection: Connection, lineage: LineageContext) -> None:
        self.connection = connection
        self.lineage = lineage
        self.driver_connection = connection.connection.driver_connection
        self.specs = _specs()
        self.encoders = {name: _RowEncoder(spec, "postgresql") for name, spec in self.specs.items()}
        self.buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.specs}
        self.staged: set[str] = set()

    def add(self, name: str, ref: ExtractRef, record: tuple[Any, ...]) -> None:
        buffer = self.buffers[name]
        buffer.append(self.encoders[name].encode(record, ref))
        if len(buffer) >= CHUNK_ROWS:
            self._flush(name)

    @staticmethod
    def _stage_name(spec: _TableSpec) -> str:
        return f"stage_{spec.table.name}"

    def _flush(self, name: str) -> None:
        buffer = self.buffers[name]
        if not buffer:
            return
        spec = self.specs[name]
        stage = self._stage_name(spec)
        columns = ", ".join((*spec.fields, "extract_id"))
        with self.driver_connection.cursor() as cursor:
            if name not in self.staged:
                # CREATE TABLE AS copies the column types but none of the constraints
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                    f"SELECT {columns} FROM {spec.table.name} WITH NO DATA"
                )
                self.staged.add(name)
            with cursor.copy(f"COPY {stage} ({columns}) FROM STDIN") as copy:
                for row in buffer:
                    copy.write_row(row)
        buffer.clear()

    def finish(self) -> None:
        for name in self.specs:
            self._flush(name)

    def apply(self) -> None:
        params = {
            "source": self.lineage.source,
            "partition_key": self.lineage.partition_key,
            "run_id": self.lineage.run_id,
            "ingested_at": self.lineage.ingested_at,
        }
        for name, spec in self.specs.items():
            if name in self.staged:
                self.connection.execute(text(self._move_sql(spec)), params)

    def _move_sql(self, spec: _TableSpec) -> str:
        stage = self._stage_name(spec)
        record_columns = [*spec.fields, "extract_id"]
        target = ", ".join((*record_columns, *_LINEAGE_COLUMNS))
        selected = ", ".join(
            (
                *(f"s.{c}" for c in record_columns),
                ":source",
                ":partition_key",
                ":run_id",
                "e.reader_name",
                "e.reader_version",
                ":ingested_at",
            )
        )
        if spec.identifier is None:  # rejects: every one is kept
            target = target.replace("ingested_at", "rejected_at")
            return (
                f"INSERT INTO {spec.table.name} ({target}) SELECT {selected} "
                f"FROM {stage} s JOIN extract_files e ON e.id = s.extract_id"
            )
        return (
            f"INSERT INTO {spec.table.name} ({target}) "
            f"SELECT DISTINCT ON (s.{spec.identifier}) {selected} "
            f"FROM {stage} s JOIN extract_files e ON e.id = s.extract_id "
            f"ORDER BY s.{spec.identifier}, s.{spec.time_index}, s.record_number, s.extract_id "
            f"ON CONFLICT ({spec.identifier}) DO UPDATE SET {_upsert_assignments(spec, 'EXCLUDED')} "
            f"WHERE {_earlier_observation(spec, 'EXCLUDED')}"
        )


class SqliteFactLoader:
    """``executemany`` of an UPSERT per chunk; the transaction holds SQLite's write lock."""

    writes_directly = True

    def __init__(self, connection: Connection, lineage: LineageContext) -> None:
        self.connection = connection
        self.specs = _specs()
        self.encoders = {name: _RowEncoder(spec, "sqlite") for name, spec in self.specs.items()}
        self.buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.specs}
        self.lineage_values = (
            lineage.source,
            lineage.partition_key,
            lineage.run_id,
            datetime_to_sqlite(lineage.ingested_at),
        )
        self.sql = {name: self._insert_sql(spec) for name, spec in self.specs.items()}

    def add(self, name: str, ref: ExtractRef, record: tuple[Any, ...]) -> None:
        buffer = self.buffers[name]
        source, partition_key, run_id, ingested_at = self.lineage_values
        buffer.append(
            self.encoders[name].encode(record, ref)
            + (source, partition_key, run_id, ref.reader_name, ref.reader_version, ingested_at)
        )
        if len(buffer) >= CHUNK_ROWS:
            self._flush(name)

    def _flush(self, name: str) -> None:
        buffer = self.buffers[name]
        if buffer:
            self.connection.exec_driver_sql(self.sql[name], buffer)
            buffer.clear()

    def finish(self) -> None:
        for name in self.specs:
            self._flush(name)

    def apply(self) -> None:
        pass  # rows went straight into the fact tables

    @staticmethod
    def _insert_sql(spec: _TableSpec) -> str:
        lineage = _LINEAGE_COLUMNS if spec.identifier else (*_LINEAGE_COLUMNS[:-1], "rejected_at")
        columns = (*spec.fields, "extract_id", *lineage)
        sql = (
            f"INSERT INTO {spec.table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join('?' for _ in columns)})"
        )
        if spec.identifier is None:
            return sql
        # Name both unique keys: the composite primary key (time, identifier) can be the first one
        # SQLite finds violated, and an UPSERT only handles the conflicts it names.
        assignments = _upsert_assignments(spec, "excluded")
        condition = _earlier_observation(spec, "excluded")
        return (
            f"{sql} ON CONFLICT ({spec.time_index}, {spec.identifier}) DO UPDATE SET {assignments} "
            f"WHERE {condition} "
            f"ON CONFLICT ({spec.identifier}) DO UPDATE SET {assignments} WHERE {condition}"
        )


def loader_for(connection: Connection, lineage: LineageContext) -> FactLoader:
    if connection.dialect.name == "postgresql":
        return PostgresFactLoader(connection, lineage)
    if connection.dialect.name == "sqlite":
        return SqliteFactLoader(connection, lineage)
    raise NotImplementedError(f"the warehouse supports SQLite and PostgreSQL, not {connection.dialect.name}")
