"""Column types that keep money, quantities and times exact on both SQLite and PostgreSQL.

PostgreSQL has an exact unconstrained ``numeric`` and ``timestamptz``. SQLite has neither:
its NUMERIC affinity silently turns ``12345678901234.123456789012345678`` into a float, and its
datetimes are strings without a zone. So on SQLite decimals are stored as TEXT (plain notation)
and timestamps as fixed-width UTC text (``YYYY-MM-DD HH:MM:SS.ffffff``, which sorts in time
order). The ``*_to_sqlite`` helpers are the single definition of that encoding, shared by the
ORM types and the bulk loader.
"""

from __future__ import annotations

import datetime as dt
import decimal
import json
import uuid
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import JSON, DateTime, Numeric, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

UTC = dt.UTC


class NaiveDatetimeError(ValueError):
    """A timestamp without a time zone reached the warehouse."""


def require_utc(value: dt.datetime) -> dt.datetime:
    """Return ``value`` in UTC; refuse naive datetimes (their zone is unknown, so is the instant)."""
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(
            f"timestamp {value.isoformat()} has no time zone; the warehouse stores timezone-aware UTC "
            "times only (pass e.g. datetime.now(datetime.UTC))"
        )
    return value.astimezone(UTC)


def datetime_to_sqlite(value: dt.datetime) -> str:
    # "YYYY-MM-DD HH:MM:SS.ffffff", so that text order is time order: isoformat pads the year to 4
    # digits, where strftime's %Y wrote year 999 as "999" (sorted after every real time, unreadable)
    return require_utc(value).replace(tzinfo=None).isoformat(" ", "microseconds")


def datetime_from_sqlite(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=UTC)


def decimal_to_text(value: Decimal | int | str) -> str:
    """Plain (non-scientific) text of an exact decimal; NaN and infinities are refused."""
    if not isinstance(value, Decimal):
        if isinstance(value, float):
            raise TypeError(f"float {value!r} given for an exact decimal column; pass Decimal or str")
        value = Decimal(value)
    if not value.is_finite():
        raise ValueError(f"{value} is not a finite decimal")
    return format(value, "f")


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return decimal_to_text(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="backslashreplace")
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_dumps(value: Any) -> str:
    """JSON text of a raw broker record; decimals keep their exact digits (as strings).

    orjson writes the same text as ``json.dumps(ensure_ascii=False, separators=(",", ":"))`` an
    order of magnitude faster; what it refuses (integers beyond 64 bits, lone surrogates, non-string
    keys) goes through the standard module, which also raises the errors callers see.
    """
    try:
        return orjson.dumps(value, default=_json_default).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))


class ExactDecimal(TypeDecorator[Decimal]):
    """Unconstrained NUMERIC on PostgreSQL, plain-notation TEXT on SQLite; never a float."""

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        text = decimal_to_text(value)
        return text if dialect.name == "sqlite" else Decimal(text)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return value if isinstance(value, Decimal) else Decimal(str(value))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """``timestamptz`` on PostgreSQL, fixed-width UTC text on SQLite; always aware UTC in Python."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if not isinstance(value, dt.datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        return datetime_to_sqlite(value) if dialect.name == "sqlite" else require_utc(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            return datetime_from_sqlite(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def BytewiseString(length: int) -> String:  # noqa: N802 - a column type, named like one
    """``VARCHAR(length)`` compared byte by byte: ``COLLATE "C"`` on PostgreSQL, SQLite's default.

    Every short text column of the warehouse holds an identifier or a code (hash identifiers,
    broker ids, account and asset codes, partition keys, vocabularies): nothing a person reads
    in dictionary order. Under the server's locale (en_US.UTF-8, even C.UTF-8) each comparison
    in a btree insert calls ``strcoll`` and PostgreSQL cannot use abbreviated sort keys; under
    "C" it compares bytes (migration 0005 has the figures). Byte order is also what SQLite's
    default BINARY collation gives, so an ORDER BY sorts identifiers the same on both backends,
    and ``LIKE 'prefix%'`` can use the btree indexes. Columns that are compared with each other
    (joins, views) must share the collation: every ``String`` column of the models is one of these.
    """
    return String(length).with_variant(String(length, collation="C"), "postgresql")


# JSON documents: JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")
# Raw broker records on fact rows: json (text) on PostgreSQL too. The server keeps the reader's text,
# fields in the broker's order, and does not build jsonb for millions of rows a day that are
# read one at a time for audit (migration 0004 has the figures).
RawRecordJSON = JSON()


# --- exact aggregates for SQLite (registered on every warehouse connection) -----------------------

_AGGREGATE_CONTEXT = decimal.Context(prec=80)  # sums of 18-decimal quantities stay exact


class ExactSum:
    """``exact_sum(text)``: SUM over decimal text without going through floats."""

    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: str | None) -> None:
        if value is not None:
            self.total = _AGGREGATE_CONTEXT.add(self.total or Decimal(0), Decimal(value))

    def finalize(self) -> str | None:
        return None if self.total is None else decimal_to_text(self.total)


class ExactVwap:
    """``exact_vwap(quantity, price)``: sum(quantity * price) / sum(quantity) over priced rows."""

    def __init__(self) -> None:
        self.quantity = Decimal(0)
        self.notional = Decimal(0)

    def step(self, quantity: str | None, price: str | None) -> None:
        if quantity is not None and price is not None:
            q = Decimal(quantity)
            self.quantity = _AGGREGATE_CONTEXT.add(self.quantity, q)
            self.notional = _AGGREGATE_CONTEXT.add(self.notional, _AGGREGATE_CONTEXT.multiply(q, Decimal(price)))

    def finalize(self) -> str | None:
        if not self.quantity:
            return None
        return decimal_to_text(decimal.Context(prec=34).divide(self.notional, self.quantity))
