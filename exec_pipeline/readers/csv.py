"""Reader of a generic CSV of fills and order events, with a per-source column mapping.

The format
----------
One header line, then one row per broker report: a fill, a bust or correction of an earlier
fill, or an order event (new, canceled, ...). Columns are found by their header; the source's
``options.columns`` in the catalogue maps each *canonical field* below to the broker's header
(by default a field's header is its own name; headers match exactly, else ignoring case).
Unknown columns are ignored (but kept in the raw record). Every value is stripped; ``""``,
``N/A``, ``null``, ``-`` ... (:data:`~exec_pipeline.readers.base.MISSING`) mean "no value",
except in the instrument columns (``symbol``, ``security_id``), where only ``""``, ``-``,
``null``, ``NULL`` and ``None`` (:data:`~exec_pipeline.readers.base.MISSING_ID`) do: ``NA``,
``N/A`` and ``n/a`` are read there as written (``NA`` is a TSX ticker), counted in
``stats["identifiers_like_missing"]``. In account and id columns ``NA`` still means no value: a
file written by R says ``NA`` for an empty cell, and reading it as an id would merge unrelated
rows into one order or trade.

========================  =======================================================================
canonical field           meaning
========================  =======================================================================
``trade_time``            **required**: time of the row (fill or event time); see ``time_format``
``symbol``                **required**: the instrument -> ``context.asset(symbol, security_id)``
``quantity``              fill quantity (required on fill/bust/correction rows); on a row without
                          a side its sign is the side (negative = sell, positive = buy)
``price``                 fill price (required on fill and correction rows)
``side``                  buy/sell word, mapped by ``side_values`` (optional: signed quantities)
``trade_id``              the broker's id of the fill (and of a bust/correction row)
``ref_trade_id``          on bust/correction rows: the ``trade_id`` of the fill they refer to
``exec_type``             what the row reports (below); without this column every row is a fill
``exec_id``               the broker's id of the report (makes the event identifier if present)
``order_id``              the broker's order id (a row without one gives a trade only)
``client_order_id``       -> ``client_order_id`` and ``context.manager(client_order_id)``
``orig_client_order_id``  previous client order id of a replace
``account``               broker account -> ``context.account(...)`` (else the default account)
``security_id``           an alias of the instrument (ISIN, conid...) tried after ``symbol``
``currency``              currency of the price
``commission``            commission (positive = paid, negative = rebate)
``commission_currency``   its currency -> ``commission_asset_identifier`` (*)
``settlement_cost``       net cash of the fill as the broker writes it (the other readers'
                          convention: negative when cash is paid)
``settlement_currency``   its currency -> ``settlement_asset_identifier`` (*)
``venue``                 execution venue (default: ``options.venue``)
``liquidity``             maker/taker (also M/T, add/remove, passive/aggressive)
``order_time``            the order's time (else the time of the order's first row)
``order_quantity``        the order's quantity
``order_type``            the order's type (LMT, MKT...), as written
``time_in_force``         the order's time in force, as written
``limit_price``           the order's limit price
``stop_price``            the order's stop price
``cum_quantity``          the order's filled quantity after the row
``leaves_quantity``       the order's open quantity after the row
``avg_price``             the order's average fill price after the row
``order_status``          the order's status after the row (mapped by ``status_values``)
``reason``                free text (reject/cancel reason)
========================  =======================================================================

(*) a currency becomes an asset identifier through the catalogue's ``assets`` when listed there,
else stays the code itself (currency codes are global already; not counted as unmapped).

The header must have ``trade_time`` and ``symbol``, and ``quantity`` and ``price`` unless it has
an ``exec_type`` column (an events-only file); a column named in ``options.columns`` must
exist too. Otherwise the file is unreadable (:class:`ExtractUnreadable` naming the missing columns).

``exec_type`` values (ignoring case, spaces and ``_-./``, so ``PartiallyFilled`` is
``partially_filled``; extend with ``exec_type_values``):
fill (``fill``, ``trade``, ``execution``, ``partial_fill``, ``partially_filled``, ``filled``),
bust (``bust``, ``break``, ``trade_cancel``, ``cancel_trade``), correction (``correction``,
``correct``, ``trade_correct``), or an order event: ``new``, ``pending_new``, ``canceled``
(``cancelled``), ``pending_cancel``, ``replaced`` (``amended``), ``pending_replace``,
``rejected``, ``expired``, ``restated``, ``status``, ``done_for_day``, ``suspended``. For a
status-only report of a filled order use ``status`` with ``order_status`` ``filled``. As in these
defaults, a word that ``exec_type_values`` maps to ``filled`` or ``partially_filled`` is a fill, to
``trade_cancel`` a bust, to ``trade_correct`` a correction (each gives its trade and its event).

Options (``options:`` of the source in the catalogue, validated by :class:`Options`):
``columns`` (above), ``delimiter`` (``","``), ``quotechar`` (``'"'``), ``encoding``
(``utf-8``; a UTF-8 BOM is skipped; a character encoding: ``rot13``, ``base64``, ``zlib``... are
refused), ``skip_lines`` (lines before the header, 0; blank lines after them are skipped too),
``time_format`` (``None`` = ISO-8601; ``epoch_s`` / ``epoch_ms`` / ``epoch_us`` / ``epoch_ns``;
or a ``strptime`` format, whose ``%f`` after a separator reads finer digits too, truncated to
microseconds: ``%H:%M:%S.%f`` reads ``10:00:00.123456789``), ``decimal_comma`` (``1234,5``),
``thousands_separator`` (between groups of 3 digits: ``1.234,5``, ``1,234.5``), ``side_values`` /
``exec_type_values`` / ``status_values`` (broker word -> canonical value, added to the defaults),
``venue`` (default venue), ``ids_per_symbol`` (the broker numbers orders and trades per
instrument: identifiers include the symbol).

With ``decimal_comma`` or ``thousands_separator``, a number holding ``,``, ``.`` or the
separator must be well formed: digits, or 1-3 digits not starting with 0 then groups of
separator + 3 digits, then the decimal mark and digits (``-2.500,5``, ``0,5``). Anything else is
rejected, quoting the cell as written: ``1,5`` or ``0,500`` with a ``,`` separator (not 15 or
500), ``1.234`` with ``decimal_comma`` unless ``thousands_separator`` is ``.`` (not 1.234), two
decimal marks.

Times without a zone (an ISO time without offset, whatever separates its date and time:
``2026-11-01T01:30``, ``20261101-013000``; a ``time_format`` without ``%z``) are
wall-clock times in the source's ``timezone``
(:func:`~exec_pipeline.readers.base.wall_clock_to_utc`), never guessed across a daylight saving
change: a time of the hour repeated when the clocks go back (01:00-01:59 on the first Sunday of
November in New York) is two instants an hour apart and is rejected as ambiguous (the reason gives
both; write the times with their UTC offset, or in UTC); a time the clocks skipped in spring
(02:00-02:59 in New York) does not exist and is rejected. A ``time_format`` with ``%Z`` reads
the zone name written there (``EST``, ``CEST``, ``BST``, ``UTC``...), whatever the host's zone:
it must be the source zone's name at that local time (which also tells the repeated hour's two
times apart; ``UTC``/``GMT`` only where the zone is at offset 0 then), else the row is rejected
naming the column and the name expected; a source without ``timezone`` reads only UTC's names
(``UTC``, ``GMT``, ``Z``, ``UT``) and rejects any other asking for its ``timezone``. A date
without a time (an ISO date alone, a ``time_format`` without time fields) is its day's first instant,
also where the clocks skip or repeat midnight. All times are returned in UTC with microseconds
(finer digits are truncated).

Example catalogue entry and file::

    sources:
      acme:
        format: csv
        timezone: Europe/Berlin
        accounts: {U123: 00000000-0000-0000-0000-000000000001}
        manager_pattern: '^(?P<manager>[^-]+)-'
        options:
          delimiter: ";"
          decimal_comma: true
          columns: {trade_time: Zeit, symbol: Symbol, side: B/S, quantity: Menge, price: Kurs,
                    trade_id: ExecID, order_id: OrderID, client_order_id: ClOrdID,
                    account: Konto, commission: Gebuehr, commission_currency: GebWaehrung}

    Zeit;Konto;OrderID;ClOrdID;ExecID;Symbol;B/S;Menge;Kurs;Gebuehr;GebWaehrung
    2026-01-05 09:30:01.250;U123;O-1;mgrA-1;E-1;SAP;B;100;182,35;1,50;EUR
    2026-01-05 09:30:02.000;U123;O-1;mgrA-1;E-2;SAP;B;50;182,40;0,75;EUR

Rows and tables
---------------
``record_number`` is the line number of the row's first line (the header is the first line after
the ``skip_lines`` that is not blank; by default the first data row is line 2). Each row gives:

- **TradesTS** (fill, bust, correction rows): ``trade_kind`` fill/bust/correction; busts and
  corrections carry ``ref_trade_identifier`` (needs ``ref_trade_id``); ``quantity`` positive,
  ``trade_side`` from ``side`` or the sign of ``quantity`` (a negative quantity with a buy side
  is rejected). A correction row holds the corrected quantity and price; a bust row the side of
  the fill it busts.
- **OrderEventsTS** (rows with an ``order_id``): ``event_type`` = the exec type, except fills
  (``filled`` when the row shows the order complete: ``order_status`` filled, ``leaves_quantity``
  0, or ``cum_quantity`` >= ``order_quantity``; else ``partially_filled``), busts
  (``trade_cancel``) and corrections (``trade_correct``). ``order_status`` = the mapped
  ``order_status`` column, else what the row implies (fill: filled / partially_filled when
  leaves or cum + order quantity tell, else None; new, pending_new, canceled, pending_cancel,
  pending_replace, rejected, expired, done_for_day, suspended: the same status; others: None).
  ``cum_quantity``, ``leaves_quantity``, ``avg_price``, ``reason`` from their columns.
  ``order_quantity``, ``cum_quantity`` and ``leaves_quantity`` are sizes: signed like ``quantity``
  (negative = sell) they are stored positive, and a negative one on a buy row is rejected.
- **OrdersTS** (once per ``order_id`` per file): the order's first observation, its first row:
  ``record_number``, ``order_time`` (else that row's time), ``order_quantity``, ``order_type``,
  prices... A field the first row lacks comes from the next rows, up to the first row with a
  side (``side``, or a signed ``quantity``: 0 has no sign; or a negative ``order_quantity``,
  ``cum_quantity`` or ``leaves_quantity``, a sell's), which gives the side; the row is emitted with that
  row's records. An order with no side on any row has no OrdersTS row.

``venue_metadata`` / ``event_metadata`` hold the row as ``{header: raw text}``; a header name
that repeats keeps every cell, the later ones as ``name (2)``, ``name (3)``... (empty cells of
columns without a name, a spreadsheet's padding, are not kept). A field is read
from the first of its repeated columns, and a row whose repeated cells of a field differ (stripped)
is rejected naming the field and both values.

Identifiers (``S`` = the symbol when ``ids_per_symbol``, else nothing):

- order: ``("order", S, order_id)``;
- trade: ``("trade", S, trade_id)``; a bust/correction refers to ``("trade", S, ref_trade_id)``;
  a bust/correction without its own id (no ``trade_id``, or the ``trade_id`` of the fill it
  refers to, as some brokers repeat it): ``("trade", S, kind, ref_trade_id, quantity, price)``;
  a fill without ``trade_id``: ``("trade", S, "row", account, symbol, order_id, time, side,
  quantity, price, n)`` where ``n`` counts identical fills before it in the file (so a re-sent
  file gives the same ids; counted in ``stats["derived_trade_id"]``);
- event: ``("event", S, exec_id)`` when given; else for trade rows ``("event", trade
  identifier)``; else ``("event", order identifier, event_type, order_status, cum, leaves,
  time)``. Numbers are written canonically and times in UTC, so the same row in another file
  (or in another number or time notation) gives the same identifiers.

Bad input: undecodable bytes (wrong ``encoding``), no header, missing required columns, or a
line the csv module cannot parse (where its record ends is unknown, so no row after it is read) ->
:class:`ExtractUnreadable`. A row with a bad or missing value -> a reject naming the column
(its header) with the row's text; a row with fewer fields than the header, or more that are not
empty -> a reject (a header ending with the delimiter has an empty name last: rows need no field
there). Quoted cells may be of any length; a quote that never closes refuses the file (the rest of
the file would be one cell). Blank lines are skipped (before the header too).

``context.stats`` keys: ``rows``, ``blank_lines``, ``derived_trade_id``, ``order_without_side``
(rows of an order not yet given a side, so its OrdersTS row waits for a row with one),
``identifiers_like_missing`` (instrument cells ``NA``, ``N/A``, ``n/a`` read as instruments),
``unknown_liquidity``, ``rejects`` (by the context).
"""

from __future__ import annotations

import codecs
import csv as _csv  # the standard library's csv (absolute import; this module is readers.csv)
import datetime as dt
import io
import itertools
import re
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from exec_pipeline.data_nodes.execution import (
    OrderEventRecord,
    OrderRecord,
    RejectRecord,
    TradeRecord,
)
from exec_pipeline.models.execution import EVENT_TYPES, ORDER_STATUSES
from exec_pipeline.readers.base import (
    CODE_WIDTH,
    CURRENCY_WIDTH,
    ID_WIDTH,
    MISSING,
    MISSING_ID,
    UTC,
    VENUE_WIDTH,
    ExtractUnreadable,
    ReaderContext,
    RecordError,
    wall_clock_to_utc,
)

NAME = "csv"
#: 1.1.0: a bust/correction repeating its fill's trade_id gets its own identifier; numbers with
#: badly placed separators are rejected; NA / N/A are symbols; OrdersTS is the order's first row
#: 1.2.0: local times in the repeated autumn hour or the spring gap rejected (were read as the first of
#: the two hours / shifted); a %Z zone name in time_format is read and checked (was dropped: read as local)
#: 1.3.0: exec_type_values to filled/partially_filled/trade_cancel/trade_correct give trades (were events
#: only); ISO times after any date-time separator get the DST checks (were read as dates); %f truncates
#: finer digits (rejected); signed order/cum/leaves quantities stored as sizes, checked against the side
#: (cum -100 >= order -300 read as filled); "0,500" with a "," separator rejected (was 500); non-text
#: encodings refused (crashed); a header ending with the delimiter (rows rejected), blank lines before the
#: header (file refused), quoted cells over 131072 characters (rejected, then read as rows; a csv error now
#: refuses the file) read; a repeated header name keeps every cell in venue_metadata, its cells must agree
#: (review of 1.3.0, same version: a quantity of 0 gives no side; a quote never closed refuses the file; %f cuts
#: only the fraction's digits; padding columns numbered in linear time, their empty cells not kept)
VERSION = "1.3.0"

Record = OrderRecord | OrderEventRecord | TradeRecord | RejectRecord

#: The canonical fields a CSV column can be mapped to.
CANONICAL_FIELDS = (
    "trade_time",
    "symbol",
    "quantity",
    "price",
    "side",
    "trade_id",
    "ref_trade_id",
    "exec_type",
    "exec_id",
    "order_id",
    "client_order_id",
    "orig_client_order_id",
    "account",
    "security_id",
    "currency",
    "commission",
    "commission_currency",
    "settlement_cost",
    "settlement_currency",
    "venue",
    "liquidity",
    "order_time",
    "order_quantity",
    "order_type",
    "time_in_force",
    "limit_price",
    "stop_price",
    "cum_quantity",
    "leaves_quantity",
    "avg_price",
    "order_status",
    "reason",
)

DEFAULT_SIDE_VALUES: dict[str, int] = {
    **dict.fromkeys(("B", "BUY", "BOT", "BOUGHT", "BUY TO COVER", "BUY_TO_COVER"), 1),
    **dict.fromkeys(("S", "SELL", "SLD", "SOLD", "SS", "SHORT", "SELL SHORT", "SELL_SHORT"), -1),
}

_TRADE_KINDS = ("fill", "bust", "correction")
DEFAULT_EXEC_TYPE_VALUES: dict[str, str] = {
    **{name: name for name in EVENT_TYPES},
    **dict.fromkeys(("fill", "filled", "partial_fill", "partially_filled", "partial", "trade", "execution"), "fill"),
    **dict.fromkeys(("bust", "busted", "break", "trade_break", "trade_cancel", "cancel_trade"), "bust"),
    **dict.fromkeys(("correction", "correct", "corrected", "trade_correct", "trade_correction"), "correction"),
    "cancelled": "canceled",
    "cancel": "canceled",
    "replace": "replaced",
    "amended": "replaced",
    "amend": "replaced",
    "reject": "rejected",
    "expire": "expired",
    "order_status": "status",
}

DEFAULT_STATUS_VALUES: dict[str, str] = {
    **{name: name for name in ORDER_STATUSES},
    **dict.fromkeys(("partial", "part_filled", "partially_executed"), "partially_filled"),
    **dict.fromkeys(("cancelled", "cancel"), "canceled"),
    **dict.fromkeys(("open", "working", "live", "active", "accepted"), "new"),
    "pending": "pending_new",
    "executed": "filled",
    "done": "done_for_day",
    "reject": "rejected",
    "expire": "expired",
}

# What an order event implies about the order's status when the row has no order_status.
_IMPLIED_STATUS = {
    name: name
    for name in ("new", "pending_new", "canceled", "pending_cancel", "pending_replace", "rejected", "expired",
                 "done_for_day", "suspended")
}

_LIQUIDITY: dict[str, str] = {
    **dict.fromkeys(("M", "MAKER", "ADD", "ADDED", "ADDING", "PASSIVE"), "maker"),
    **dict.fromkeys(("T", "TAKER", "REMOVE", "REMOVED", "REMOVING", "AGGRESSIVE"), "taker"),
}

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
#: epoch time formats -> (multiplier, divisor) to microseconds
_EPOCH_UNITS = {"epoch_s": (1_000_000, 1), "epoch_ms": (1_000, 1), "epoch_us": (1, 1), "epoch_ns": (1, 1_000)}
# Quantities and prices beyond 1e±60 are junk and would not fit the warehouse's numerics.
_MAX_EXPONENT = 60
#: A number whose digits start with 0 (a reject's reason when a thousands separator follows).
_LEADING_ZERO_GROUP = re.compile(r"[+-]?0")
#: The csv module's limit on a cell (131072 characters by default) rejected a long quoted cell
#: and went on reading the rest of that cell as rows. The landing zone bounds a file's size (and
#: so a cell's); this only removes the csv module's own bound. It is process-global: raising it
#: only makes other users of the csv module more lenient.
_FIELD_SIZE_LIMIT = sys.maxsize


_WORD_PUNCTUATION = str.maketrans("", "", " _-./")


def _word(value: str) -> str:
    """How exec types and statuses are compared: case, spaces and ``_-./`` ignored
    (``PartiallyFilled``, ``partially_filled`` and ``Partially-Filled`` are one word)."""
    return value.lower().translate(_WORD_PUNCTUATION)


class Options(BaseModel):
    """The ``options`` of a ``csv`` source in the catalogue (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    columns: dict[str, str] = Field(default_factory=dict)
    delimiter: str = ","
    quotechar: str = '"'
    encoding: str = "utf-8"
    skip_lines: int = Field(default=0, ge=0)
    time_format: str | None = None
    decimal_comma: bool = False
    thousands_separator: str | None = None
    side_values: dict[str, int] = Field(default_factory=dict)
    exec_type_values: dict[str, str] = Field(default_factory=dict)
    status_values: dict[str, str] = Field(default_factory=dict)
    venue: str | None = Field(default=None, max_length=VENUE_WIDTH)
    ids_per_symbol: bool = False

    @field_validator("columns")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(value) - set(CANONICAL_FIELDS))
        if unknown:
            raise ValueError(f"unknown canonical field(s) {unknown}; known: {', '.join(CANONICAL_FIELDS)}")
        empty = sorted(name for name, header in value.items() if not header.strip())
        if empty:
            raise ValueError(f"empty header for {empty}")
        return {name: header.strip() for name, header in value.items()}

    @field_validator("delimiter", "quotechar")
    @classmethod
    def _one_character(cls, value: str) -> str:
        if len(value) != 1 or value in "\r\n":
            raise ValueError(f"{value!r} must be one character, not a line break")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str) -> str:
        try:
            codec = codecs.lookup(value)
        except LookupError:
            raise ValueError(f"unknown encoding {value!r}") from None
        # rot13, hex, base64, zlib... are codecs too, but of bytes to bytes (or text to text): the
        # read would fail with their own errors, not as an unreadable file
        if not getattr(codec, "_is_text_encoding", True):
            raise ValueError(
                f"{value!r} is not a text encoding (a bytes or text transform); "
                "give the file's character encoding (utf-8, latin-1, cp1252...)"
            )
        return value

    @field_validator("time_format")
    @classmethod
    def _valid_time_format(cls, value: str | None) -> str | None:
        if value is None or value == "iso" or value in _EPOCH_UNITS:
            return None if value == "iso" else value
        if "%" not in value:
            raise ValueError(
                f"time_format {value!r} is not iso, {', '.join(_EPOCH_UNITS)} nor a strptime format (with %)"
            )
        return value

    @field_validator("side_values", mode="before")
    @classmethod
    def _sides(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        words = {"buy": 1, "b": 1, "+1": 1, "1": 1, "sell": -1, "s": -1, "-1": -1}
        out: dict[str, int] = {}
        for word, side in value.items():
            mapped = words.get(str(side).strip().lower())
            if mapped is None:
                raise ValueError(f"side_values[{word!r}] = {side!r}: expected buy or sell")
            out[str(word).strip().upper()] = mapped
        return out

    @field_validator("exec_type_values")
    @classmethod
    def _exec_types(cls, value: dict[str, str]) -> dict[str, str]:
        allowed = set(_TRADE_KINDS) | set(EVENT_TYPES)
        bad = {word: kind for word, kind in value.items() if kind not in allowed}
        if bad:
            raise ValueError(f"exec_type_values {bad}: values must be one of {', '.join(sorted(allowed))}")
        # the order events a trade row gives (filled, trade_cancel...) name that trade row, as in the
        # defaults: kept as events, the row's trade would be lost
        return {_word(word): DEFAULT_EXEC_TYPE_VALUES.get(kind, kind) for word, kind in value.items()}

    @field_validator("status_values")
    @classmethod
    def _statuses(cls, value: dict[str, str]) -> dict[str, str]:
        bad = {word: status for word, status in value.items() if status not in ORDER_STATUSES}
        if bad:
            raise ValueError(f"status_values {bad}: values must be one of {', '.join(ORDER_STATUSES)}")
        return {_word(word): status for word, status in value.items()}

    @model_validator(mode="after")
    def _separators(self) -> Options:
        if self.thousands_separator is not None:
            if len(self.thousands_separator) != 1:
                raise ValueError("thousands_separator must be one character")
            decimal_mark = "," if self.decimal_comma else "."
            if self.thousands_separator == decimal_mark:
                raise ValueError(f"thousands_separator {self.thousands_separator!r} is the decimal mark")
        return self


# --- reading -------------------------------------------------------------------------------------


def read(data: bytes, context: ReaderContext) -> Iterator[Record]:
    """Records of a CSV extract (see the module docstring)."""
    return read_stream((data,), context)


def read_stream(blocks: Iterable[bytes], context: ReaderContext) -> Iterator[Record]:
    """:func:`read` of the file whose bytes are ``blocks`` joined, cut anywhere (memory holds a
    block, not the file). Text that is not in the source's encoding is refused when it is met,
    naming its byte offset in the file."""
    try:
        options = Options.model_validate(context.config.options)
    except ValueError as exc:
        raise ExtractUnreadable(context.uri, f"invalid csv options: {exc}") from None
    yield from _Reader(options, context, _Lines(_text_lines(blocks, options.encoding, context.uri))).rows()


def _text_lines(blocks: Iterable[bytes], encoding: str, uri: str) -> Iterator[str]:
    """The file's lines with their line ends, split where the csv module splits (\n, \r\n, \r),
    decoded block by block; a byte order mark at the start is dropped."""
    try:
        # codecs that are not text encodings (rot13, base64...) are refused by Options: an empty
        # b"".decode(...) does not refuse them
        decoder = codecs.getincrementaldecoder(encoding)("strict")
    except LookupError as exc:
        raise ExtractUnreadable(uri, f"not {encoding} text: {exc}") from None
    carry = ""  # the last line of the text so far, while its end (or a \r's \n) may still come
    offset = 0  # bytes given to the decoder before this block
    at_start = True
    for block in itertools.chain(blocks, (None,)):  # None: the end, where the decoder flushes
        pending = len(getattr(decoder, "buffer", b""))  # bytes the decoder holds from earlier blocks
        try:
            text = decoder.decode(b"", final=True) if block is None else decoder.decode(block)
        except UnicodeDecodeError as exc:
            raise ExtractUnreadable(uri, f"not {encoding} text: {_decode_error(exc, offset - pending)}") from None
        if block is not None:
            offset += len(block)
        if at_start and text:
            at_start = False
            if text.startswith("\ufeff"):
                text = text[1:]
        lines = io.StringIO(carry + text, newline="").readlines()
        carry = ""
        if block is not None and lines and (lines[-1][-1] not in "\r\n" or lines[-1][-1] == "\r"):
            carry = lines.pop()  # unfinished, or a \r whose \n may open the next block
        yield from lines


def _decode_error(exc: UnicodeDecodeError, base: int) -> str:
    """The decoder's message with the position counted from the start of the file."""
    start, end = base + exc.start, base + exc.end
    if exc.end - exc.start == 1:
        return f"'{exc.encoding}' codec can't decode byte 0x{exc.object[exc.start]:02x} in position {start}: {exc.reason}"
    return f"'{exc.encoding}' codec can't decode bytes in position {start}-{end - 1}: {exc.reason}"


class _Lines:
    """The lines handed to the csv module, remembering those of the record being read (a reject
    quotes them) and how many there were."""

    def __init__(self, lines: Iterator[str]) -> None:
        self._next = lines.__next__
        self.record: list[str] = []
        self.count = 0
        #: the csv module asked for a line after the last: a record it then returns ran to the end
        #: of the file inside a quoted cell (a complete last line, even without a line end, does not)
        self.exhausted = False

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        try:
            line = self._next()
        except StopIteration:
            self.exhausted = True
            raise
        self.count += 1
        self.record.append(line)
        return line


class _Columns:
    """Index of every canonical field in the row (-1: no such column) and its header."""

    def __init__(self, header: list[str], options: Options, uri: str, first_line: int) -> None:
        exact: dict[str, list[int]] = {}
        folded: dict[str, list[int]] = {}
        for position, name in enumerate(header):
            name = name.strip()
            exact.setdefault(name, []).append(position)
            folded.setdefault(name.casefold(), []).append(position)
        self.index: dict[str, int] = {}
        self.header: dict[str, str] = {}
        #: field -> the positions of its column when the header repeats its name (read from the first)
        self.repeated: dict[str, tuple[int, ...]] = {}
        missing: list[str] = []
        for field in CANONICAL_FIELDS:
            name = options.columns.get(field, field)
            positions = exact.get(name) or folded.get(name.casefold()) or [-1]
            self.index[field] = positions[0]
            self.header[field] = name
            if len(positions) > 1:
                self.repeated[field] = tuple(positions)
            if positions[0] < 0 and field in options.columns:
                missing.append(f"{name!r} ({field})")
        required = ["trade_time", "symbol"]
        if self.index["exec_type"] < 0:
            required += ["quantity", "price"]
        missing = [
            f"{self.header[f]!r} ({f})" for f in required if self.index[f] < 0 and f not in options.columns
        ] + missing
        if missing:
            raise ExtractUnreadable(
                uri,
                f"the header (line {first_line}) lacks the column(s) {', '.join(missing)}; "
                f"it has: {', '.join(repr(h.strip()) for h in header)}",
            )


def _distinct_names(header: list[str]) -> list[str]:
    """The header's names as ``venue_metadata`` keys: a name that repeats is numbered from its
    second column (``price``, ``price (2)``), so every cell of the row is kept."""
    names = set(header)
    keys: list[str] = []
    taken: set[str] = set()
    last_number: dict[str, int] = {}  # per name, the number given last (linear in the header's width)
    for name in header:
        key, count = name, last_number.get(name, 1)
        while key in taken or (count > 1 and key in names):  # never the name of another column
            count += 1
            key = f"{name} ({count})"
        last_number[name] = count
        taken.add(key)
        keys.append(key)
    return keys


class _Reader:
    """One read of one file: the parsed options, the column plan and what was already emitted."""

    def __init__(self, options: Options, context: ReaderContext, lines: _Lines) -> None:
        self.options = options
        self.context = context
        self.lines = lines
        self.sides = {**DEFAULT_SIDE_VALUES, **options.side_values}
        self.exec_types = {**{_word(k): v for k, v in DEFAULT_EXEC_TYPE_VALUES.items()}, **options.exec_type_values}
        self.statuses = {**{_word(k): v for k, v in DEFAULT_STATUS_VALUES.items()}, **options.status_values}
        self.parse_time = _time_parser(options.time_format, context)
        self.identifier = context.identifier
        self.order_identifiers: dict[str, str] = {}  # order_id -> identifier (orders repeat over rows)
        self.seen_orders: set[str] = set()
        #: order identifier -> its OrdersTS fields from its rows so far, while none had a side
        self.waiting_orders: dict[str, list[Any]] = {}
        self.sides_possible = True  # the header has a side or a quantity column
        self.derived: Counter[tuple[Any, ...]] = Counter()
        self.header_of: dict[str, str] = {}
        self.number = self._number_parser()
        # raw broker word -> mapped value: the few distinct words of a file are normalised once
        self.exec_type_cache: dict[str, Any] = {}
        self.status_cache: dict[str, Any] = {}
        self.side_cache: dict[str, Any] = {}
        self.slots: tuple[int, ...] = ()
        self.header: list[str] = []
        self.metadata_keys: list[str] = []  # the header's names, a repeated one numbered
        self.unnamed_keys: list[str] = []  # metadata keys of columns without a name
        self.repeated: dict[str, tuple[int, ...]] = {}  # field -> its column's positions, when repeated

    def _number_parser(self) -> Callable[[str, str], Decimal | None]:
        """A function (stripped cell, field) -> exact decimal or ``None`` for missing values.

        With ``decimal_comma`` or a ``thousands_separator`` a number holding a separator must be
        well formed: an optional sign, digits, or 1-3 digits not starting with 0 then groups of
        ``thousands_separator`` + 3 digits; then the decimal mark and digits; then an exponent
        (``1.234,5``, ``-2.500``, ``0,5``, ``1,5E3``). Anything else (``1,5`` or ``0,500`` with a
        ``,`` thousands separator, ``1.234`` when ``,`` is the decimal mark and ``.`` is not the
        thousands separator, two decimal marks) is rejected, quoting the cell as written."""
        thousands = self.options.thousands_separator
        decimal_comma = self.options.decimal_comma
        plain = thousands is None and not decimal_comma
        mark = "," if decimal_comma else "."
        # the characters that make a cell need checking: both marks and the separator
        special = frozenset({",", ".", *(thousands or "")})
        other = "." if decimal_comma else ","  # the mark that is not the decimal mark
        # a first group starting with 0 ("0,500") is no grouped integer: a decimal written with
        # the wrong mark, rejected like "1,5"
        grouped = rf"[1-9][0-9]{{0,2}}(?:{re.escape(thousands)}[0-9]{{3}})+|" if thousands is not None else ""
        well_formed = re.compile(
            rf"[+-]?(?:(?:{grouped}[0-9]+)(?:{re.escape(mark)}[0-9]*)?|{re.escape(mark)}[0-9]+)(?:[eE][+-]?[0-9]+)?"
        ).fullmatch

        def malformed(text: str) -> str:
            """Why a cell with separators is not a number in this source's notation."""
            if decimal_comma and "." in text and thousands != ".":
                return "the decimal mark is ',' (decimal_comma) and '.' is not the thousands_separator"
            if thousands is not None and thousands in text:
                if _LEADING_ZERO_GROUP.match(text):
                    return f"the digits before {thousands!r} (thousands_separator) start with 0"
                return f"{thousands!r} (thousands_separator) must separate groups of 3 digits before the decimal mark"
            if text.count(mark) > 1:
                return f"{mark!r} (the decimal mark) appears more than once"
            for character in text:
                if character in special and character not in (mark, thousands):
                    return f"{character!r} is neither the decimal mark nor the thousands_separator"
            return "the digits, sign and marks are not in order"

        def number(text: str, field: str) -> Decimal | None:
            if text in MISSING:
                return None
            written = text
            if not plain and not special.isdisjoint(text):
                # one decimal mark alone needs no pattern: Decimal checks the rest
                if (
                    (thousands is not None and thousands in text) or other in text or text.count(mark) > 1
                ) and well_formed(text) is None:
                    raise RecordError(
                        self.header_of[field], f"{written!r} is not a number: {malformed(text)} ({field})"
                    )
                if thousands is not None:
                    text = text.replace(thousands, "")
                if decimal_comma:
                    text = text.replace(",", ".")
            try:
                value = Decimal(text)
            except InvalidOperation:
                raise RecordError(self.header_of[field], f"{written!r} is not a number ({field})") from None
            if not value.is_finite() or (value and not -_MAX_EXPONENT <= value.adjusted() <= _MAX_EXPONENT):
                raise RecordError(self.header_of[field], f"{written!r} is not a finite number in range ({field})")
            return value

        return number

    @staticmethod
    def word(table: dict[str, Any], cache: dict[str, Any], text: str, normalise: Callable[[str], str]) -> Any:
        """``table[normalise(text)]`` (``None`` if absent), remembering the raw texts already seen."""
        try:
            return cache[text]
        except KeyError:
            value = cache[text] = table.get(normalise(text))
            return value

    def text(self, value: str, field: str, max_length: int, missing: frozenset[str] = MISSING) -> str | None:
        """A stripped cell as text; ``None`` for ``missing`` values; too long for the warehouse: an error."""
        if value in missing:
            return None
        if len(value) > max_length:
            raise RecordError(
                self.header_of[field], f"is {len(value)} characters long, more than {max_length} ({field})"
            )
        return value

    def ident(self, value: str, field: str, max_length: int) -> str | None:
        """:meth:`text` of an instrument cell (symbol, security id): only
        :data:`~exec_pipeline.readers.base.MISSING_ID` is "no value", so ``NA`` is a ticker."""
        # NA, N/A, n/a are kept, but counted: the counter shows a file that writes NA for "no value"
        if value in MISSING and value not in MISSING_ID:
            self.context.stats["identifiers_like_missing"] += 1
        return self.text(value, field, max_length, MISSING_ID)

    def check_repeated(self, row: list[str]) -> None:
        """A field whose header name repeats is read from its first column: the others must agree."""
        for field, positions in self.repeated.items():
            first = row[positions[0]].strip()
            for position in positions[1:]:
                other = row[position].strip()
                if other != first:
                    header = self.header_of[field]
                    raise RecordError(
                        header,
                        f"the header has {len(positions)} columns {header!r} and their cells differ: "
                        f"{first!r} (column {positions[0] + 1}) and {other!r} (column {position + 1}) ({field})",
                    )

    def magnitude(self, value: Decimal, side: int | None, field: str) -> Decimal:
        """The size of a negative order quantity (``order_quantity``, ``cum_quantity``,
        ``leaves_quantity``): signed like ``quantity``, its sign must be the row's side."""
        if side == 1:
            raise RecordError(self.header_of[field], f"negative {field} {value} with a buy side ({field})")
        return -value

    def order_identifier(self, scope: tuple[str, ...], order_id: str) -> str:
        key = order_id if not scope else f"{scope[0]}\x1f{order_id}"
        found = self.order_identifiers.get(key)
        if found is None:
            found = self.order_identifiers[key] = self.identifier("order", *scope, order_id)
        return found

    def rows(self) -> Iterator[Record]:
        context = self.context
        options = self.options
        lines = self.lines
        skip = options.skip_lines
        if _csv.field_size_limit() < _FIELD_SIZE_LIMIT:
            _csv.field_size_limit(_FIELD_SIZE_LIMIT)
        reader = _csv.reader(
            itertools.islice(lines, skip, None), delimiter=options.delimiter, quotechar=options.quotechar, strict=False
        )
        line_base = skip  # reader.line_num counts from the first line it is given
        stats = context.stats
        previous = 0
        while True:  # the header is the first line that is not blank
            try:
                header = next(reader)
            except StopIteration:
                raise ExtractUnreadable(context.uri, f"no header line (the file has {lines.count} line(s))") from None
            except _csv.Error as exc:
                raise ExtractUnreadable(context.uri, f"the header line cannot be parsed: {exc}") from None
            if len(header) > 1 or (header and header[0].strip()):
                break
            stats["blank_lines"] += 1
            previous = reader.line_num
        if lines.exhausted:  # a quote opened in the header never closes: the file would be its last name
            raise ExtractUnreadable(
                context.uri,
                f"line {line_base + previous + 1}: a quoted cell is never closed (the rest of the file would be one cell)",
            )
        header = [name.strip() for name in header]
        columns = _Columns(header, options, context.uri, line_base + previous + 1)
        self.header = header
        self.metadata_keys = _distinct_names(header)
        self.unnamed_keys = [key for key, name in zip(self.metadata_keys, header) if not name]
        self.header_of = columns.header
        self.repeated = columns.repeated
        # an absent column reads index -1: the "" appended to every row
        self.slots = tuple(columns.index[field] for field in CANONICAL_FIELDS)
        # the columns that can give a row its side (a negative size is a sell's)
        self.sides_possible = any(
            columns.index[field] >= 0
            for field in ("side", "quantity", "order_quantity", "cum_quantity", "leaves_quantity")
        )
        # a header ending with the delimiter has empty names after its last column: rows need no
        # cells there (and, as after any header, may have empty ones)
        header_width = len(header)
        width = header_width
        while width > 1 and not header[width - 1]:
            width -= 1
        previous = reader.line_num
        process = self.process
        record = lines.record
        while True:
            start = line_base + previous + 1
            record.clear()
            try:
                row = next(reader)
            except StopIteration:
                return
            except _csv.Error as exc:
                # where the record ends is unknown (maybe inside a quoted cell, whose next lines
                # would be read as rows): nothing after it can be trusted
                raise ExtractUnreadable(context.uri, f"line {start} cannot be parsed as CSV: {exc}") from None
            if lines.exhausted:
                # a quote opened on this line never closes: the rest of the file would be one cell
                raise ExtractUnreadable(
                    context.uri, f"line {start}: a quoted cell is never closed (the rest of the file would be one cell)"
                )
            end = reader.line_num
            previous = end
            if len(row) != width:
                if not row or (len(row) == 1 and not row[0].strip()):
                    stats["blank_lines"] += 1
                    continue
                if len(row) < width or any(cell.strip() for cell in row[header_width:]):
                    raw = "".join(record).rstrip("\r\n")
                    fields = width if len(row) < width else header_width
                    yield context.reject(start, f"the row has {len(row)} fields, the header has {fields}", None, raw)
                    continue
            stats["rows"] += 1
            try:
                records = process(start, row)
            except RecordError as error:
                raw = "".join(record).rstrip("\r\n")
                # str(error) is "column: reason": the reason names the column on its own too
                yield context.reject(start, str(error), error.field, raw)
                continue
            yield from records

    def process(self, number: int, row: list[str]) -> list[Record]:
        """The records of one row (a list, so a bad value rejects the whole row)."""
        context = self.context
        header_of = self.header_of
        number_of = self.number
        text_of = self.text
        ident = self.ident
        identifier = self.identifier
        if self.repeated:
            self.check_repeated(row)
        metadata = dict(zip(self.metadata_keys, row))
        if self.unnamed_keys:  # a spreadsheet's padding (",,,," after the last column): its empty cells
            for key in self.unnamed_keys:
                if not metadata.get(key, "x"):
                    del metadata[key]
        row.append("")  # what absent columns (index -1) read
        (
            i_time, i_symbol, i_quantity, i_price, i_side, i_trade_id, i_ref_trade_id, i_exec_type, i_exec_id,
            i_order_id, i_client_order_id, i_orig_client_order_id, i_account, i_security_id, i_currency,
            i_commission, i_commission_currency, i_settlement_cost, i_settlement_currency, i_venue, i_liquidity,
            i_order_time, i_order_quantity, i_order_type, i_time_in_force, i_limit_price, i_stop_price,
            i_cum_quantity, i_leaves_quantity, i_avg_price, i_order_status, i_reason,
        ) = self.slots

        # --- what the row is
        when_text = row[i_time].strip()
        if when_text in MISSING:
            raise RecordError(header_of["trade_time"], "is required but missing (trade_time)")
        when = self.parse_time(when_text, header_of["trade_time"])
        symbol = ident(row[i_symbol].strip(), "symbol", ID_WIDTH)
        if symbol is None:
            raise RecordError(header_of["symbol"], "is required but missing (symbol)")
        kind = "fill"
        exec_text = row[i_exec_type].strip()
        if exec_text not in MISSING:
            kind = self.word(self.exec_types, self.exec_type_cache, exec_text, _word)
            if kind is None:
                raise RecordError(header_of["exec_type"], f"{exec_text!r} is not a known exec type (exec_type)")
        status: str | None = None
        status_text = row[i_order_status].strip()
        if status_text not in MISSING:
            status = self.word(self.statuses, self.status_cache, status_text, _word)
            if status is None:
                raise RecordError(
                    header_of["order_status"], f"{status_text!r} is not a known order status (order_status)"
                )
        side: int | None = None
        side_text = row[i_side].strip()
        if side_text not in MISSING:
            side = self.word(self.sides, self.side_cache, side_text, str.upper)
            if side is None:
                raise RecordError(header_of["side"], f"{side_text!r} is not a known side (side)")
        quantity = number_of(row[i_quantity].strip(), "quantity")
        if quantity is not None:
            if quantity < 0:
                if side == 1:
                    raise RecordError(header_of["quantity"], f"negative quantity {quantity} with a buy side (quantity)")
                side = -1
                quantity = -quantity
            elif side is None and quantity:
                side = 1  # signed quantities: positive is a buy (0 has no sign: no side from it)
        if side is None:
            # signed sizes: a negative order, cum or leaves quantity is a sell's (a positive one tells
            # nothing: sizes are often written unsigned whatever the side)
            for size_field, size_index in (
                ("order_quantity", i_order_quantity), ("cum_quantity", i_cum_quantity),
                ("leaves_quantity", i_leaves_quantity),
            ):  # fmt: skip
                size = number_of(row[size_index].strip(), size_field)
                if size is not None and size < 0:
                    side = -1
                    break

        scope: tuple[str, ...] = (symbol,) if self.options.ids_per_symbol else ()
        account_text = text_of(row[i_account].strip(), "account", ID_WIDTH)
        account = context.account(account_text)
        asset = context.asset(symbol, ident(row[i_security_id].strip(), "security_id", ID_WIDTH))
        if len(asset) > ID_WIDTH:
            raise RecordError(header_of["symbol"], f"makes an asset identifier longer than {ID_WIDTH} characters")
        order_id = text_of(row[i_order_id].strip(), "order_id", ID_WIDTH)
        currency = text_of(row[i_currency].strip(), "currency", CURRENCY_WIDTH)

        # --- the trade
        trade: TradeRecord | None = None
        trade_identifier: str | None = None
        if kind in _TRADE_KINDS:
            if quantity is None:
                raise RecordError(header_of["quantity"], f"is required on a {kind} row (quantity)")
            if not quantity:
                raise RecordError(header_of["quantity"], f"is zero on a {kind} row (quantity)")
            if side is None:
                raise RecordError(header_of["side"], f"is required on a {kind} row, or a signed quantity (side)")
            price = number_of(row[i_price].strip(), "price")
            if price is None and kind != "bust":
                raise RecordError(header_of["price"], f"is required on a {kind} row (price)")
            trade_id = text_of(row[i_trade_id].strip(), "trade_id", ID_WIDTH)
            ref_trade_identifier: str | None = None
            if kind != "fill":
                ref = text_of(row[i_ref_trade_id].strip(), "ref_trade_id", ID_WIDTH)
                if ref is None:
                    raise RecordError(header_of["ref_trade_id"], f"is required on a {kind} row (ref_trade_id)")
                ref_trade_identifier = identifier("trade", *scope, ref)
                if trade_id is None or trade_id == ref:
                    # no id of its own (a broker may repeat the fill's id on its bust): the fill's
                    # identifier would make the bust a duplicate of the fill, dropped on publish
                    trade_identifier = identifier("trade", *scope, kind, ref, _canonical(quantity), _canonical(price))
            if trade_identifier is None and trade_id is not None:
                trade_identifier = identifier("trade", *scope, trade_id)
            elif trade_identifier is None:
                # no broker id: the fill's own content, and how many identical fills came before it
                parts = (
                    account_text, symbol, order_id, when.isoformat(), side, _canonical(quantity), _canonical(price)
                )
                occurrence = self.derived[parts]
                self.derived[parts] = occurrence + 1
                context.stats["derived_trade_id"] += 1
                trade_identifier = identifier("trade", *scope, "row", *parts, occurrence)
            commission_currency = text_of(row[i_commission_currency].strip(), "commission_currency", ID_WIDTH)
            settlement_currency = text_of(row[i_settlement_currency].strip(), "settlement_currency", ID_WIDTH)
            liquidity_text = row[i_liquidity].strip()
            liquidity = None
            if liquidity_text not in MISSING:
                liquidity = _LIQUIDITY.get(liquidity_text.upper())
                if liquidity is None:
                    context.stats["unknown_liquidity"] += 1
            trade = TradeRecord(
                number,
                when,
                trade_identifier,
                asset,
                side,
                quantity,
                None if order_id is None else self.order_identifier(scope, order_id),
                account,
                trade_id,
                price,
                currency,
                number_of(row[i_commission].strip(), "commission"),
                None
                if commission_currency is None
                else _asset_id(context, commission_currency, header_of["commission_currency"]),
                number_of(row[i_settlement_cost].strip(), "settlement_cost"),
                None
                if settlement_currency is None
                else _asset_id(context, settlement_currency, header_of["settlement_currency"]),
                liquidity,
                text_of(row[i_venue].strip(), "venue", VENUE_WIDTH) or self.options.venue,
                kind,
                ref_trade_identifier,
                metadata,
            )

        # --- the order and its event
        if order_id is None:
            if trade is None:
                raise RecordError(header_of["order_id"], f"is required on a {kind} row (order_id)")
            return [trade]
        order_identifier = self.order_identifier(scope, order_id)
        order_quantity = number_of(row[i_order_quantity].strip(), "order_quantity")
        if order_quantity is not None and order_quantity < 0:  # signed quantities: stored as sizes
            order_quantity = self.magnitude(order_quantity, side, "order_quantity")
        order: OrderRecord | None = None
        waiting: list[Any] | None = None  # the order's first-row fields while no row gave its side
        if order_identifier not in self.seen_orders:
            # the OrdersTS row is the order's first observation: the fields of its first row (those
            # it lacks from the next rows), and the side of the first row that has one
            order_time_text = row[i_order_time].strip()
            fields: list[Any] = [
                number,
                when,
                None if order_time_text in MISSING else self.parse_time(order_time_text, header_of["order_time"]),
                asset,
                None if account_text is None else account,
                text_of(row[i_client_order_id].strip(), "client_order_id", ID_WIDTH),
                text_of(row[i_orig_client_order_id].strip(), "orig_client_order_id", ID_WIDTH),
                text_of(row[i_order_type].strip(), "order_type", CODE_WIDTH),
                text_of(row[i_time_in_force].strip(), "time_in_force", CODE_WIDTH),
                order_quantity,
                number_of(row[i_limit_price].strip(), "limit_price"),
                number_of(row[i_stop_price].strip(), "stop_price"),
                currency,
                metadata,
            ]
            earlier = self.waiting_orders.get(order_identifier)
            if earlier is not None:
                fields = [value if value is not None else later for value, later in zip(earlier, fields, strict=True)]
            if side is None:
                waiting = fields
            else:
                (
                    first_number, first_time, order_time, order_asset, order_account, client_order_id,
                    orig_client_order_id, order_type, time_in_force, first_quantity, limit_price, stop_price,
                    order_currency, order_metadata,
                ) = fields  # fmt: skip
                order = OrderRecord(
                    first_number,
                    first_time if order_time is None else order_time,
                    order_identifier,
                    order_asset,
                    side,
                    account if order_account is None else order_account,
                    context.manager(client_order_id),
                    order_id,
                    client_order_id,
                    orig_client_order_id,
                    order_type,
                    time_in_force,
                    first_quantity,
                    limit_price,
                    stop_price,
                    order_currency,
                    None,
                    order_metadata,
                )
        cum = number_of(row[i_cum_quantity].strip(), "cum_quantity")
        if cum is not None and cum < 0:
            cum = self.magnitude(cum, side, "cum_quantity")
        leaves = number_of(row[i_leaves_quantity].strip(), "leaves_quantity")
        if leaves is not None and leaves < 0:
            leaves = self.magnitude(leaves, side, "leaves_quantity")
        if kind == "fill":
            complete = (
                status == "filled"
                or (leaves is not None and not leaves)
                or (cum is not None and order_quantity is not None and cum >= order_quantity)
            )
            event_type = "filled" if complete else "partially_filled"
            if status is None and (complete or leaves is not None or (cum is not None and order_quantity is not None)):
                status = event_type
        elif kind == "bust":
            event_type = "trade_cancel"
        elif kind == "correction":
            event_type = "trade_correct"
        else:
            event_type = kind
            if status is None:
                status = _IMPLIED_STATUS.get(kind)
        exec_id = text_of(row[i_exec_id].strip(), "exec_id", ID_WIDTH)
        if exec_id is not None:
            event_identifier = identifier("event", *scope, exec_id)
        elif trade_identifier is not None:
            event_identifier = identifier("event", trade_identifier)
        else:
            event_identifier = identifier(
                "event",
                order_identifier,
                event_type,
                status,
                _canonical(cum),
                _canonical(leaves),
                when.isoformat(),
            )
        reason = row[i_reason].strip()
        event = OrderEventRecord(
            number,
            when,
            event_identifier,
            order_identifier,
            asset,
            event_type,
            account,
            status,
            cum,
            leaves,
            number_of(row[i_avg_price].strip(), "avg_price"),
            None if reason in MISSING else reason,
            metadata,
        )
        # the row is accepted (nothing below raises): only now remember the order
        out: list[Record] = []  # order, event, trade: the order in which they happened
        if order is not None:
            self.seen_orders.add(order_identifier)
            self.waiting_orders.pop(order_identifier, None)
            out.append(order)
        elif waiting is not None:
            context.stats["order_without_side"] += 1
            if self.sides_possible:  # else no row of the file can give a side: nothing to wait for
                self.waiting_orders[order_identifier] = waiting
        out.append(event)
        if trade is not None:
            out.append(trade)
        return out


# --- helpers -------------------------------------------------------------------------------------


def _asset_id(context: ReaderContext, code: str, header: str) -> str:
    """A currency's asset identifier: the catalogue's ``assets`` entry when it lists the code, else
    the code itself (currency codes are global already; not counted as unmapped)."""
    asset = context.config.assets.get(code, code)
    if len(asset) > ID_WIDTH:
        raise RecordError(header, f"makes an asset identifier longer than {ID_WIDTH} characters")
    return asset


def _canonical(number: Decimal | None) -> str | None:
    """Text of a number that does not depend on how it was written (``4``, ``4.0``, ``4,00``)."""
    if number is None:
        return None
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


#: What ends a reject of a local time in the repeated autumn hour.
_FOLD_REMEDY = "write the times with their UTC offset (2026-11-01T01:30:00-04:00, with %z in a time_format) or in UTC"
#: strptime directives of a time of day: a time_format without any gives dates alone.
_TIME_DIRECTIVE = re.compile(r"%[HIMSfpXcTRr]")
#: A strptime format's directives (``%`` and a character) and literal characters.
_FORMAT_TOKENS = re.compile(r"%.|.", re.DOTALL)
#: Letters in a time: where a ``%Z`` zone name can be.
_LETTERS = re.compile(r"[A-Za-z]+")


def _is_date(value: str) -> bool:
    """Whether an ISO value is a date alone (no time of day)."""
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _time_parser(time_format: str | None, context: ReaderContext) -> Callable[[str, str], dt.datetime]:
    """A function (stripped text, header) -> UTC datetime for the source's time format."""
    zone = context.timezone
    zone_is_utc = zone.key == "UTC"  # no DST: no fold or gap to check
    # a catalogue entry without ``timezone`` reads UTC; a reject of another %Z name asks for the zone
    zone_configured = context.config.timezone_configured

    def localise(
        moment: dt.datetime, header: str, value: str, abbreviation: str | None = None, date_only: bool = False
    ) -> dt.datetime:
        try:
            if moment.tzinfo is None:
                if zone_is_utc and abbreviation is None:
                    return moment.replace(tzinfo=UTC)
                return wall_clock_to_utc(
                    moment, zone, header, value, abbreviation=abbreviation, zone_configured=zone_configured,
                    date_only=date_only, remedy=_FOLD_REMEDY,
                )  # fmt: skip
            return moment.astimezone(UTC)
        except OverflowError:
            raise RecordError(header, f"{value!r} is out of range") from None

    if time_format is None:
        fromisoformat = dt.datetime.fromisoformat

        def iso(value: str, header: str) -> dt.datetime:
            try:
                moment = fromisoformat(value)
            except ValueError:
                raise RecordError(header, f"{value!r} is not an ISO-8601 time") from None
            # a date alone ("2026-09-06", "20260906") is its day's first instant; a time may follow
            # the date after any separator ("20261101-013000"): only what reads as a date is one
            midnight = not (moment.hour or moment.minute or moment.second or moment.microsecond)
            return localise(moment, header, value, date_only=midnight and _is_date(value))

        return iso

    if time_format in _EPOCH_UNITS:
        multiplier, divisor = _EPOCH_UNITS[time_format]

        def epoch(value: str, header: str) -> dt.datetime:
            try:
                if value.isdigit():
                    micros = int(value) * multiplier // divisor
                else:  # a sign or a fraction: exact decimal arithmetic, truncated to microseconds
                    exact = Decimal(value)
                    if not exact.is_finite() or (exact and not -30 <= exact.adjusted() <= 30):
                        raise InvalidOperation
                    micros = int(exact * multiplier / divisor)
                return _EPOCH + dt.timedelta(microseconds=micros)
            except (InvalidOperation, ValueError, OverflowError):
                raise RecordError(header, f"{value!r} is not an epoch time ({time_format})") from None

        return epoch

    strptime: Callable[[str, str], dt.datetime] = dt.datetime.strptime
    date_only = not _TIME_DIRECTIVE.search(time_format.replace("%%", ""))
    tokens = _FORMAT_TOKENS.findall(time_format)  # directives and literal characters
    fraction = tokens.index("%f") if "%f" in tokens else 0
    before_fraction = tokens[fraction - 1] if fraction else ""
    if len(before_fraction) == 1 or before_fraction == "%%":
        # %f reads at most 6 digits: finer ones (nanoseconds) are truncated, as in ISO and epoch
        # times, where a separator tells them from the digits before (not after "%S%f"); tried
        # only when the value does not match as written
        separator = before_fraction[-1]
        finer_digits = re.compile(rf"({re.escape(separator)}[0-9]{{6}})[0-9]+(?![0-9])")
        strptime_as_written = dt.datetime.strptime

        def strptime_truncating(value: str, time_format: str) -> dt.datetime:
            try:
                return strptime_as_written(value, time_format)
            except ValueError:
                # one run of digits cut, and it must be what %f read: a run elsewhere in a malformed
                # value ("1030001-500") would otherwise be cut into another valid time
                truncated, runs = finer_digits.subn(r"\1", value)
                if runs != 1:
                    raise
                moment = strptime_as_written(truncated, time_format)
                fraction = finer_digits.search(value).group(1)[len(separator):]  # type: ignore[union-attr]
                if moment.microsecond != int(fraction):
                    raise ValueError(f"{value!r}: the digits cut are not the fraction") from None
                return moment

        strptime = strptime_truncating

    def formatted(value: str, header: str) -> dt.datetime:
        try:
            moment = strptime(value, time_format)
        except ValueError:
            raise RecordError(header, f"{value!r} does not match the time format {time_format!r}") from None
        return localise(moment, header, value, date_only=date_only)

    if "%Z" not in time_format.replace("%%", ""):
        return formatted

    def named(value: str, header: str) -> dt.datetime:
        # strptime's %Z matches only UTC, GMT and the host's own zone names, and gives a naive time
        # (the name dropped): find the name among the runs of letters, where "UTC" makes the text
        # match, and read the time as of that name
        for run in _LETTERS.finditer(value):
            try:
                moment = strptime(f"{value[: run.start()]}UTC{value[run.end() :]}", time_format)
            except ValueError:
                continue
            return localise(moment, header, value, run.group())
        raise RecordError(header, f"{value!r} does not match the time format {time_format!r}")

    return named
