"""Bulk loading of fact records inside the publishing transaction, one loader per backend.

The caller's thread validates and encodes records into chunks; a writer thread sends full chunks
to the database while the caller goes on reading, so parsing (Python, one core) and the server's
inserts and index maintenance (the other core) overlap. The caller holds the fact tables' lock and
has deleted the partition's old facts before loading (``publish_partition``), so rows go straight
into the fact tables:

- PostgreSQL COPYs each chunk into its fact table inside a savepoint, in COPY's binary format
  (numbers, times and JSON arrive ready: the server spends no time parsing their text). A chunk that meets a fact
  already stored (another partition observed it, or the partition repeats it) fails as a whole
  with a unique violation; it is rolled back to the savepoint and written again through a
  staging table with ``INSERT ... SELECT DISTINCT ON ... ON CONFLICT DO UPDATE`` (and so are the
  table's later chunks in this publish).
- SQLite ``executemany``s an UPSERT per chunk.

The conflict rule is the same on both (see ``exec_pipeline.data_nodes.execution``): the earliest
observation of an identifier wins, ranked by (time, partition key, record number, extract id).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import queue
import re
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from types import TracebackType
from typing import Any

from sqlalchemy import Column, Connection, Table

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

#: Rows per chunk and table: large enough that per-statement costs vanish, small enough that two
#: chunks in flight per table stay a few tens of MB.
CHUNK_ROWS = 20_000
#: Full chunks waiting for the writer thread; when it falls behind, the reader waits (bounded memory).
QUEUED_CHUNKS = 2


class FactValidationError(ValueError):
    """A record breaks its table's contract; the message names the extract, record and field."""


@dataclass(frozen=True)
class LineageContext:
    """Lineage shared by every row of one publish."""

    source: str
    partition_key: str
    run_id: str | None
    ingested_at: dt.datetime
    #: the publish's extract ids in reading order (by URI, then sha256): the last tie-break between
    #: two observations of one fact, so that which one is kept depends on the landing zone only,
    #: not on the order the ledger first saw the files
    extract_order: tuple[int, ...] = ()


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


def _check_int(value: Any) -> int:
    if value.__class__ is not int:  # not bool, not a numeric string
        raise TypeError(f"expected an integer, got {type(value).__name__} {value!r}")
    return value


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


#: A JSON \u0000 escape (a NUL in a string): after an even run of backslashes, so that "\\u0000"
#: (an escaped backslash, then the text u0000, as a Windows path may hold) is left alone.
_JSON_NUL_ESCAPE = re.compile(r"(?<!\\)((?:\\\\)*)\\u0000")


def _postgres_json(value: Any) -> str:
    encoded = json_dumps(value)
    # text cannot hold NUL: jsonb refuses the \u0000 escape, json takes it but ->> on it fails;
    # the NUL is kept visible as the text \x00, as in plain text columns
    return _JSON_NUL_ESCAPE.sub(r"\1\\\\x00", encoded) if "\\u0000" in encoded else encoded


class _JsonOfLastDocument:
    """JSON text of a raw record, encoded once for the several rows that share it.

    A reader yields an order, its event and its trade holding the same raw-record object (readers
    finish a raw record before yielding rows that hold it); holding a reference to the last one
    keeps its identity from being reused by another object.
    """

    def __init__(self, dumps: Converter) -> None:
        self.dumps = dumps
        self.document: Any = None
        self.text: str | None = None

    def __call__(self, value: Any) -> str:
        if value is not self.document:
            self.text = self.dumps(value)
            self.document = value
        return self.text  # type: ignore[return-value]


def _json_text_for(dialect_name: str) -> Converter:
    return _JsonOfLastDocument(json_dumps if dialect_name == "sqlite" else _postgres_json)


def _converter(column: Column[Any], dialect_name: str, json_text: Converter) -> Converter:
    sqlite = dialect_name == "sqlite"
    if isinstance(column.type, ExactDecimal):
        return (lambda v: decimal_to_text(_check_decimal(v))) if sqlite else _check_decimal
    if isinstance(column.type, UTCDateTime):
        return (lambda v: datetime_to_sqlite(_check_datetime(v))) if sqlite else _check_datetime
    if column.type._type_affinity.__name__ == "JSON":  # RawRecordJSON (json, or text on SQLite)
        return json_text
    if column.type._type_affinity.__name__ == "Integer":
        return _check_int
    return (lambda v: v) if sqlite else _postgres_text


def _in_vocabulary(value: Any, vocabulary: frozenset[Any]) -> bool:
    try:
        return value in vocabulary
    except TypeError:  # unhashable (a reader's dict or list): certainly not a vocabulary value
        return False


class _NotFastPath(Exception):
    """A value the generated encoder does not handle; the checked encoder decides (and explains)."""


def _not_fast_path() -> None:
    raise _NotFastPath


class _RowEncoder:
    """Validates a record and turns it into the backend's column values (record fields + extract id).

    ``encode`` runs a function generated for the table (one unrolled statement per column, no
    per-value calls for the common types: ~3x faster than a loop over converters). Any value it
    does not take as is (wrong type, missing, outside a vocabulary, another time zone) sends the
    record through the checked per-column loop, which converts what it can and raises
    :class:`FactValidationError` naming the field otherwise.
    """

    def __init__(self, spec: _TableSpec, dialect_name: str, json_text: Converter | None = None) -> None:
        self.spec = spec
        self.dialect_name = dialect_name
        if json_text is None:
            json_text = _json_text_for(dialect_name)
        columns = [spec.table.c[name] for name in spec.fields]
        self.converters = [_converter(c, dialect_name, json_text) for c in columns]
        self.required = [not c.nullable for c in columns]
        self.vocabularies = [_VOCABULARIES.get(c.name) for c in columns]
        self._fast = self._generate(columns, json_text)

    def encode(self, record: tuple[Any, ...], ref: ExtractRef) -> tuple[Any, ...]:
        try:
            return self._fast(record, ref.extract_id)
        except Exception:  # noqa: BLE001 - anything unusual: the checked loop converts it or says what is wrong
            return self.encode_checked(record, ref)

    def encode_checked(self, record: tuple[Any, ...], ref: ExtractRef) -> tuple[Any, ...]:
        out: list[Any] = []
        for name, value, convert, required, vocabulary in zip(
            self.spec.fields, record, self.converters, self.required, self.vocabularies, strict=True
        ):
            if value is None:
                if required:
                    raise self._error(ref, record, name, "is required but missing")
                out.append(None)
                continue
            if vocabulary is not None and not _in_vocabulary(value, vocabulary):
                allowed = ", ".join(sorted(map(str, vocabulary)))
                raise self._error(ref, record, name, f"{value!r} is not one of: {allowed}")
            try:
                out.append(convert(value))
            except (TypeError, ValueError) as exc:
                raise self._error(ref, record, name, str(exc)) from exc
            except RecursionError:  # a raw record nested too deeply to write out as JSON
                raise self._error(ref, record, name, "is nested too deeply to be stored as JSON") from None
        out.append(ref.extract_id)
        return tuple(out)

    def _generate(self, columns: list[Column[Any]], json_text: Converter) -> Callable[[tuple[Any, ...], int], tuple[Any, ...]]:
        """Source of ``fast(record, extract_id)`` for this table and backend, compiled once."""
        sqlite = self.dialect_name == "sqlite"
        names = [f"v{i}" for i in range(len(columns))]
        scope: dict[str, Any] = {
            "Decimal": Decimal, "datetime": dt.datetime, "UTC": dt.UTC, "fail": _not_fast_path,
            "json_text": json_text, "decimal_text": decimal_to_text, "datetime_text": datetime_to_sqlite,
        }
        lines = ["def fast(record, extract_id):", f"    ({', '.join(names)},) = record"]
        for i, (v, column) in enumerate(zip(names, columns, strict=True)):
            if not column.nullable:
                lines.append(f"    if {v} is None: fail()")
            present = f"{v} is not None and " if column.nullable else ""
            if self.vocabularies[i] is not None:
                scope[f"vocabulary{i}"] = self.vocabularies[i]
                lines.append(f"    if {present}{v} not in vocabulary{i}: fail()")
            if isinstance(column.type, ExactDecimal):
                lines.append(f"    if {present}not ({v}.__class__ is Decimal and {v}.is_finite()): fail()")
                if sqlite:
                    lines.append(f"    if {v} is not None: {v} = decimal_text({v})")
            elif isinstance(column.type, UTCDateTime):
                lines.append(f"    if {present}not ({v}.__class__ is datetime and {v}.tzinfo is UTC): fail()")
                if sqlite:
                    lines.append(f"    if {v} is not None: {v} = datetime_text({v})")
            elif column.type._type_affinity.__name__ == "JSON":
                lines.append(f"    if {v} is not None: {v} = json_text({v})")
            elif column.type._type_affinity.__name__ == "Integer":
                lines.append(f"    if {present}{v}.__class__ is not int: fail()")
            elif not sqlite and column.type._type_affinity.__name__ == "String":
                # text PostgreSQL cannot hold (NUL) goes through the checked loop, which keeps it visible
                lines.append(f"    if {present}'\\x00' in {v}: fail()")
        lines.append(f"    return ({', '.join(names)}, extract_id)")
        exec(compile("\n".join(lines), f"<encoder {self.spec.name} {self.dialect_name}>", "exec"), scope)  # noqa: S102
        return scope["fast"]

    def _error(self, ref: ExtractRef, record: tuple[Any, ...], name: str, problem: str) -> FactValidationError:
        number = record[0]
        return FactValidationError(
            f"{ref.uri}, record {number}: {self.spec.name}.{name} {problem} (reader {ref.reader_name} "
            f"{ref.reader_version})"
        )


_LINEAGE_COLUMNS = ("source", "partition_key", "run_id", "reader_name", "reader_version", "ingested_at")


def _row_columns(spec: _TableSpec) -> tuple[str, ...]:
    """The columns a loader writes, in row order: the record's fields, the extract id, the lineage."""
    lineage = _LINEAGE_COLUMNS if spec.identifier else (*_LINEAGE_COLUMNS[:-1], "rejected_at")
    return (*spec.fields, "extract_id", *lineage)


def _upsert_assignments(spec: _TableSpec, excluded: str) -> str:
    return ", ".join(f"{c} = {excluded}.{c}" for c in _row_columns(spec) if c != spec.identifier)


def _extract_rank(table: str, extract_order: tuple[int, ...]) -> str:
    """SQL for the position of a row's extract in ``LineageContext.extract_order`` (rows of other
    partitions, which differ in partition_key before this is compared, rank last)."""
    if not extract_order:
        return f"{table}.extract_id"
    whens = " ".join(f"WHEN {int(extract_id)} THEN {rank}" for rank, extract_id in enumerate(extract_order))
    return f"(CASE {table}.extract_id {whens} ELSE {len(extract_order)} END)"


def _earlier_observation(spec: _TableSpec, excluded: str, extract_order: tuple[int, ...]) -> str:
    """SQL: the new row (``excluded``) is an earlier observation than the stored one."""
    rank = (spec.time_index, "partition_key", "record_number")
    new = ", ".join([*(f"{excluded}.{c}" for c in rank), _extract_rank(excluded, extract_order)])
    old = ", ".join([*(f"{spec.table.name}.{c}" for c in rank), _extract_rank(spec.table.name, extract_order)])
    return f"({new}) < ({old})"


def _note_overlaps_sql(spec: _TableSpec, stage: str) -> str:
    """Note in ``fact_overlaps`` the staged facts that another partition has stored: both partitions
    observed them (``models.execution.FactOverlap``). Run before the staged rows are merged, so the
    stored row is the other partition's observation (earlier or not)."""
    table, identifier = spec.table.name, spec.identifier
    met = f"FROM {stage} s JOIN {table} f ON f.{identifier} = s.{identifier} WHERE f.partition_key <> s.partition_key"
    return (
        f"INSERT INTO fact_overlaps (table_name, identifier, partition_key) "
        f"SELECT '{table}', f.{identifier}, f.partition_key {met} "
        f"UNION SELECT '{table}', s.{identifier}, s.partition_key {met} "
        "ON CONFLICT DO NOTHING"
    )


class _ChunkWriter:
    """A thread that writes chunks in the order they are submitted; the first error stops it.

    After an error, or once the publish is abandoned, the thread keeps taking (and dropping)
    chunks, so a submitter never blocks on a full queue; :meth:`close` hands the error back to the
    caller's thread.
    """

    def __init__(self, write: Callable[[str, list[tuple[Any, ...]]], None]) -> None:
        self._write = write
        self._queue: queue.Queue[tuple[str, list[tuple[Any, ...]]] | None] = queue.Queue(maxsize=QUEUED_CHUNKS)
        self.error: BaseException | None = None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="exec-pipeline-fact-writer", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            if self.error is None and not self._abandoned:
                try:
                    self._write(*item)
                except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread by close()
                    self.error = exc

    def submit(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        if self.error is not None:
            raise self.error
        self._queue.put((name, rows))

    def close(self, *, abandon: bool = False) -> BaseException | None:
        """Wait for every submitted chunk (``abandon``: drop those not started); the writer's error."""
        self._abandoned = abandon
        self._queue.put(None)
        self._thread.join()
        return self.error


class FactLoader:
    """Validates, encodes and buffers records; writes full chunks on a writer thread.

    Use as a context manager around the records of one publish and call :meth:`finish` at the end.
    Until the loader is finished or closed the writer thread owns the connection: the caller must
    not use it. Leaving the ``with`` block on an error stops the writer first, so the transaction
    can roll back.
    """

    dialect_name: str

    def __init__(self, connection: Connection, lineage: LineageContext) -> None:
        self.connection = connection
        self.lineage = lineage
        self.specs = _specs()
        json_text = _json_text_for(self.dialect_name)  # one for all tables: their rows share raw records
        self.encoders = {name: _RowEncoder(spec, self.dialect_name, json_text) for name, spec in self.specs.items()}
        self.buffers: dict[str, list[tuple[Any, ...]]] = {name: [] for name in self.specs}
        self._lineage_ref: ExtractRef | None = None
        self._lineage_row: tuple[Any, ...] = ()
        self._writer: _ChunkWriter | None = None  # started with the first full chunk

    def _lineage_values(self, ref: ExtractRef) -> tuple[Any, ...]:
        # records arrive extract by extract: remember the last extract's lineage (by identity, cheap)
        if ref is not self._lineage_ref:
            self._lineage_ref = ref
            self._lineage_row = (
                self.lineage.source,
                self.lineage.partition_key,
                self.lineage.run_id,
                ref.reader_name,
                ref.reader_version,
                self._timestamp(self.lineage.ingested_at),
            )
        return self._lineage_row

    def _timestamp(self, value: dt.datetime) -> Any:
        return value

    def add(self, name: str, ref: ExtractRef, record: tuple[Any, ...]) -> None:
        buffer = self.buffers[name]
        buffer.append(self.encoders[name].encode(record, ref) + self._lineage_values(ref))
        if len(buffer) >= CHUNK_ROWS:
            self.buffers[name] = []
            if self._writer is None:
                self._writer = _ChunkWriter(self._write)
            self._writer.submit(name, buffer)

    def finish(self) -> None:
        """Write whatever is still buffered and wait for the writer; raises the writer's error."""
        error = self._stop()
        if error is not None:
            raise error
        for name, buffer in self.buffers.items():
            if buffer:
                self.buffers[name] = []
                self._write(name, buffer)

    def close(self) -> None:
        """Stop the writer without writing what is buffered or queued (the transaction is being abandoned)."""
        self._stop(abandon=True)
        self.buffers = {name: [] for name in self.specs}

    def _stop(self, *, abandon: bool = False) -> BaseException | None:
        writer, self._writer = self._writer, None
        return writer.close(abandon=abandon) if writer is not None else None

    def __enter__(self) -> FactLoader:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _write(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        raise NotImplementedError


@functools.cache  # one pair of classes per process: psycopg keeps every dumper class it is given
def _json_text_dumpers() -> tuple[type[Any], ...]:
    """Binary-COPY dumpers for json and jsonb columns that take the JSON text the loader encoded
    (psycopg's own would encode the text again, as one JSON string)."""
    from psycopg.adapt import Dumper
    from psycopg.postgres import types
    from psycopg.pq import Format

    class JsonTextDumper(Dumper):
        oid = types["json"].oid
        format = Format.BINARY

        def dump(self, obj: str) -> bytes:
            return obj.encode()

    class JsonbTextDumper(Dumper):
        oid = types["jsonb"].oid
        format = Format.BINARY

        def dump(self, obj: str) -> bytes:
            return b"\x01" + obj.encode()  # jsonb's binary format: version 1, then the text

    return JsonTextDumper, JsonbTextDumper


class PostgresFactLoader(FactLoader):
    """Binary COPY straight into the fact tables; a chunk that meets stored facts goes through staging.

    Binary COPY needs every column's type up front: they are read from the catalogue once per load,
    so the server's own column types drive the encoding (measured on 770k rows: the server's CPU
    14.9 s with text COPY, 13.0 s binary; the client's 5.3 s and 2.8 s).
    """

    dialect_name = "postgresql"

    def __init__(self, connection: Connection, lineage: LineageContext) -> None:
        super().__init__(connection, lineage)
        self.driver_connection = connection.connection.driver_connection
        #: tables in which a chunk met stored facts: their later chunks go through staging directly
        self.conflicting: set[str] = set()
        self.staged: set[str] = set()
        self.column_types = self._column_types()
        self.json_dumpers = _json_text_dumpers()

    def _column_types(self) -> dict[str, list[int]]:
        """Type oid of each column a loader writes, per table, in row order."""
        tables = {spec.table.name: spec for spec in self.specs.values()}
        with self.driver_connection.cursor() as cursor:
            cursor.execute(
                "SELECT c.relname, a.attname, a.atttypid::int FROM pg_attribute a "
                "JOIN pg_class c ON c.oid = a.attrelid "
                "WHERE a.attrelid = ANY(%s::regclass[]) AND a.attnum > 0 AND NOT a.attisdropped",
                (list(tables),),
            )
            oids: dict[str, dict[str, int]] = {}
            for table, column, oid in cursor.fetchall():
                oids.setdefault(table, {})[column] = oid
        return {table: [oids[table][column] for column in _row_columns(spec)] for table, spec in tables.items()}

    def _write(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        import psycopg

        spec = self.specs[name]
        if spec.identifier is None or name not in self.conflicting:
            with self.driver_connection.cursor() as cursor:
                cursor.execute("SAVEPOINT fact_chunk")
                try:
                    self._copy(cursor, spec.table.name, spec, rows)
                except psycopg.errors.UniqueViolation:
                    if spec.identifier is None:
                        raise
                    cursor.execute("ROLLBACK TO SAVEPOINT fact_chunk")
                    self.conflicting.add(name)
                else:
                    cursor.execute("RELEASE SAVEPOINT fact_chunk")
                    return
        self._merge(spec, rows)

    def _copy(self, cursor: Any, table: str, spec: _TableSpec, rows: list[tuple[Any, ...]]) -> None:
        for dumper in self.json_dumpers:
            cursor.adapters.register_dumper(None, dumper)  # this cursor only, by oid (set_types)
        with cursor.copy(f"COPY {table} ({', '.join(_row_columns(spec))}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(self.column_types[spec.table.name])  # the staging copy has the same types
            for row in rows:
                copy.write_row(row)

    def _merge(self, spec: _TableSpec, rows: list[tuple[Any, ...]]) -> None:
        """Stage the chunk, then keep the earliest observation of each identifier."""
        stage = f"stage_{spec.table.name}"
        columns = ", ".join(_row_columns(spec))
        with self.driver_connection.cursor() as cursor:
            if spec.name in self.staged:
                cursor.execute(f"TRUNCATE {stage}")
            else:
                # CREATE TABLE AS copies the column types but none of the constraints
                cursor.execute(
                    f"CREATE TEMPORARY TABLE {stage} ON COMMIT DROP AS "
                    f"SELECT {columns} FROM {spec.table.name} WITH NO DATA"
                )
                self.staged.add(spec.name)
            self._copy(cursor, stage, spec, rows)
            cursor.execute(_note_overlaps_sql(spec, stage))
            cursor.execute(
                f"INSERT INTO {spec.table.name} ({columns}) "
                f"SELECT DISTINCT ON ({spec.identifier}) {columns} FROM {stage} "
                f"ORDER BY {spec.identifier}, {spec.time_index}, record_number, "
                f"{_extract_rank(stage, self.lineage.extract_order)} "
                f"ON CONFLICT ({spec.identifier}) DO UPDATE SET {_upsert_assignments(spec, 'EXCLUDED')} "
                f"WHERE {_earlier_observation(spec, 'EXCLUDED', self.lineage.extract_order)}"
            )


#: SQLite's page cache while a loader runs, in KiB (SQLite's default is 2 MB). The identifier
#: indexes take keys in hash order, so with 2 MB nearly every insert re-reads a page; measured at
#: 1M fills (2.5M rows, a 2.7 GB file): 312.7 s with 2 MB, 240.1 s with 64 MB, 250.2 s with 256 MB,
#: 251.4 s with 1 GB (peak RSS 433, 503, 727, 1,615 MiB). Restored when the loader closes, so a
#: pooled connection does not keep the pages.
SQLITE_LOAD_CACHE_KIB = 64 * 1024


class SqliteFactLoader(FactLoader):
    """``executemany`` of plain INSERTs per chunk; a chunk that meets stored facts goes through
    staging (as on PostgreSQL). The transaction holds SQLite's write lock."""

    dialect_name = "sqlite"

    def __init__(self, connection: Connection, lineage: LineageContext) -> None:
        super().__init__(connection, lineage)
        self.driver_connection = connection.connection.driver_connection
        self.sql = {name: self._insert_sql(spec.table.name, spec) for name, spec in self.specs.items()}
        #: tables in which a chunk met stored facts: their later chunks go through staging directly
        self.conflicting: set[str] = set()
        self.staged: set[str] = set()
        # enlarge only: a connection configured with a larger cache keeps it
        self._cache_size: int | None = self._pragma("cache_size")
        if self._cache_kib(self._cache_size) < SQLITE_LOAD_CACHE_KIB:
            self._pragma(f"cache_size = -{SQLITE_LOAD_CACHE_KIB}")
        else:
            self._cache_size = None  # nothing to restore

    def _cache_kib(self, cache_size: int) -> float:
        """A ``PRAGMA cache_size`` value in KiB: negative is KiB, positive is pages."""
        return -cache_size if cache_size < 0 else cache_size * self._pragma("page_size") / 1024

    def _pragma(self, statement: str) -> Any:
        cursor = self.driver_connection.cursor()
        try:
            row = cursor.execute(f"PRAGMA {statement}").fetchone()
        finally:
            cursor.close()
        return row[0] if row else None

    def close(self) -> None:
        super().close()
        # a connection too broken for these is being discarded with its error anyway, which must not
        # be hidden behind this one
        with contextlib.suppress(sqlite3.Error):
            for name in self.staged:  # temporary tables outlive the transaction on a pooled connection
                self.driver_connection.execute(f"DROP TABLE IF EXISTS temp.stage_{self.specs[name].table.name}")
        self.staged.clear()
        if self._cache_size is not None:
            cache_size, self._cache_size = self._cache_size, None
            with contextlib.suppress(sqlite3.Error):  # frees the pages above the old size
                self._pragma(f"cache_size = {int(cache_size)}")

    def _timestamp(self, value: dt.datetime) -> Any:
        return datetime_to_sqlite(value)

    def _write(self, name: str, rows: list[tuple[Any, ...]]) -> None:
        spec = self.specs[name]
        cursor = self.driver_connection.cursor()
        try:
            if spec.identifier is None:
                cursor.executemany(self.sql[name], rows)
                return
            if name not in self.conflicting:
                cursor.execute("SAVEPOINT fact_chunk")
                try:
                    cursor.executemany(self.sql[name], rows)
                except sqlite3.IntegrityError as exc:
                    cursor.execute("ROLLBACK TO fact_chunk")
                    cursor.execute("RELEASE fact_chunk")
                    if exc.sqlite_errorname not in _SQLITE_KEY_CONFLICTS:
                        raise
                    self.conflicting.add(name)
                else:
                    cursor.execute("RELEASE fact_chunk")
                    return
            self._merge(cursor, spec, rows)
        finally:
            cursor.close()

    def _merge(self, cursor: sqlite3.Cursor, spec: _TableSpec, rows: list[tuple[Any, ...]]) -> None:
        """Stage the chunk, note the facts other partitions observed, keep the earliest observation."""
        stage = f"stage_{spec.table.name}"
        if spec.name in self.staged:
            cursor.execute(f"DELETE FROM temp.{stage}")
        else:
            cursor.execute(f"DROP TABLE IF EXISTS temp.{stage}")
            # untyped columns (no affinity) keep each value as bound; the fact table's own column
            # affinities then apply as they would to a direct insert (CREATE TABLE AS would give
            # DATETIME and JSON columns NUMERIC affinity, which turns number-like text into numbers)
            cursor.execute(f"CREATE TEMP TABLE {stage} ({', '.join(_row_columns(spec))})")
            self.staged.add(spec.name)
        cursor.executemany(self._insert_sql(f"temp.{stage}", spec), rows)
        cursor.execute(_note_overlaps_sql(spec, f"temp.{stage}"))
        # Name both unique keys: the composite primary key (time, identifier) can be the first one
        # SQLite finds violated, and an UPSERT only handles the conflicts it names. Rows of one
        # statement are upserted one by one, so duplicates inside the chunk resolve the same way.
        columns = ", ".join(_row_columns(spec))
        assignments = _upsert_assignments(spec, "excluded")
        condition = _earlier_observation(spec, "excluded", self.lineage.extract_order)
        cursor.execute(
            f"INSERT INTO {spec.table.name} ({columns}) SELECT {columns} FROM temp.{stage} WHERE true "
            f"ON CONFLICT ({spec.time_index}, {spec.identifier}) DO UPDATE SET {assignments} WHERE {condition} "
            f"ON CONFLICT ({spec.identifier}) DO UPDATE SET {assignments} WHERE {condition}"
        )

    @staticmethod
    def _insert_sql(table: str, spec: _TableSpec) -> str:
        columns = _row_columns(spec)
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' for _ in columns)})"


#: A plain INSERT that met a stored fact (sqlite3's extended error names).
_SQLITE_KEY_CONFLICTS = frozenset({"SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"})


def loader_for(connection: Connection, lineage: LineageContext) -> FactLoader:
    if connection.dialect.name == "postgresql":
        return PostgresFactLoader(connection, lineage)
    if connection.dialect.name == "sqlite":
        return SqliteFactLoader(connection, lineage)
    raise NotImplementedError(f"the warehouse supports SQLite and PostgreSQL, not {connection.dialect.name}")
